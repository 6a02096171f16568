//! The `output` capability: an append-only file a manifest grants to a hook.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An output file opened for appending. Each line is written with one `write` call on an
/// `O_APPEND` descriptor, so lines from concurrent runs never interleave mid-line.
#[derive(Debug)]
pub struct OutputFile {
    path: PathBuf,
    file: Mutex<File>,
}

/// The longest line a plugin may write.
const MAX_LINE: usize = 1 << 20;

impl OutputFile {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<OutputFile> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends one line. The error goes back to the plugin, which never sees the path.
    pub fn write_line(&self, line: &str) -> Result<(), String> {
        if line.contains('\n') {
            return Err("a line must not contain a newline".into());
        }
        if line.len() > MAX_LINE {
            return Err(format!("a line must be at most {MAX_LINE} bytes"));
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&buf).map_err(|e| {
            tracing::error!(
                "cannot append to plugin output {}: {e}",
                self.path.display()
            );
            format!("cannot write the output file: {e}")
        })
    }
}
