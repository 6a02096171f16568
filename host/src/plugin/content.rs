//! The `read-content` capability: a filter or annotator granted
//! `read-content = { max-bytes = N }` may read the first N bytes of the local source files
//! of the batch it is processing, and nothing else.
//!
//! The host resolves a path only if it is one of the batch's local source files (an exact
//! match of the relative path the plugin was given), below the run's local root; `..`,
//! absolute paths, other batches' paths, directories and blob entries are refused.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::bindings::types::{EndpointKind, Side};
use super::entry::Entry;

/// One plugin instance's view of the files it may read.
#[derive(Debug, Default)]
pub(crate) struct ContentAccess {
    /// The granted maximum, or `None` when the manifest grants nothing.
    max_bytes: Option<u64>,
    root: Option<PathBuf>,
    /// The readable paths of the call in progress.
    current: HashSet<String>,
}

impl ContentAccess {
    pub(crate) fn new(max_bytes: Option<u64>, root: Option<PathBuf>) -> Self {
        ContentAccess {
            max_bytes,
            root,
            current: HashSet::new(),
        }
    }

    /// Makes the local source files of a batch readable until [`ContentAccess::end`]. A
    /// no-op (and free) for plugins without the grant.
    pub(crate) fn begin<'a>(&mut self, side: Side, entries: impl Iterator<Item = &'a Entry>) {
        if self.max_bytes.is_none() || side != Side::Source {
            return;
        }
        self.current.clear();
        self.current.extend(
            entries
                .filter(|e| e.endpoint == EndpointKind::Local && !e.is_dir)
                .map(|e| e.path.clone()),
        );
    }

    /// Ends the call: nothing is readable between calls.
    pub(crate) fn end(&mut self) {
        if !self.current.is_empty() {
            self.current.clear();
        }
    }

    /// Reads up to `max` bytes (capped by the grant) of `path`.
    pub(crate) fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        let Some(granted) = self.max_bytes else {
            return Err(
                "this plugin may not read file contents: its manifest entry needs \
                        `read-content = { max-bytes = N }`"
                    .into(),
            );
        };
        if !self.current.contains(path) {
            return Err(format!(
                "{path:?} is not a local source file of the batch being processed; only those \
                 can be read"
            ));
        }
        let Some(root) = &self.root else {
            return Err("this run has no local folder to read from".into());
        };
        let relative = Path::new(path);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(format!("{path:?} is not a plain relative path"));
        }
        let full = root.join(relative);
        let file = std::fs::File::open(&full).map_err(|e| format!("cannot open {path:?}: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {path:?}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{path:?} is not a regular file"));
        }
        let limit = max.min(granted);
        let mut buf = Vec::with_capacity(limit.min(meta.len()).min(1 << 20) as usize);
        file.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {path:?}: {e}"))?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(path: &str) -> Entry {
        Entry::file(path.into(), 1, 0, None, EndpointKind::Local, vec![])
    }

    #[test]
    fn only_the_batch_files_and_only_n_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x.txt"), b"0123456789").unwrap();
        std::fs::write(dir.path().join("other.txt"), b"secret").unwrap();
        let mut access = ContentAccess::new(Some(4), Some(dir.path().to_path_buf()));
        let batch = [local("a/x.txt")];
        access.begin(Side::Source, batch.iter());
        assert_eq!(access.read("a/x.txt", 100).unwrap(), b"0123");
        assert_eq!(access.read("a/x.txt", 2).unwrap(), b"01");
        for refused in [
            "other.txt",
            "../../etc/passwd",
            "/etc/passwd",
            "a/../other.txt",
        ] {
            let err = access.read(refused, 10).unwrap_err();
            assert!(err.contains("not a local source file"), "{refused}: {err}");
        }
        access.end();
        assert!(
            access.read("a/x.txt", 1).is_err(),
            "nothing is readable between calls"
        );
        access.begin(Side::Destination, batch.iter());
        assert!(
            access.read("a/x.txt", 1).is_err(),
            "destination entries are not readable"
        );
    }

    #[test]
    fn without_the_grant_nothing_is_readable() {
        let mut access = ContentAccess::new(None, Some(PathBuf::from("/")));
        access.begin(Side::Source, [local("etc/passwd")].iter());
        let err = access.read("etc/passwd", 10).unwrap_err();
        assert!(err.contains("read-content"), "{err}");
    }
}
