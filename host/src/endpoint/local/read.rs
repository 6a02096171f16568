//! Reading a local file for an upload: the first read checks that the file is the listed
//! version, and the read of the last block checks that it did not change while read.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::join_error;
use crate::endpoint::{EndpointError, ErrorClass, Reader, mtime_ns};

pub(super) struct LocalReader {
    file: Arc<Mutex<Option<Arc<File>>>>,
    path: Arc<PathBuf>,
    size: u64,
    mtime: i64,
    /// Set when the read of the last block already confirmed the file is unchanged.
    verified_at_end: Arc<AtomicBool>,
}

impl LocalReader {
    /// A reader of `path`, expected to have `size` bytes and time `mtime`. No I/O here:
    /// the first read opens the file, so a small file costs one trip to the blocking pool.
    pub(super) fn new(path: PathBuf, size: u64, mtime: i64) -> Self {
        LocalReader {
            file: Arc::default(),
            path: Arc::new(path),
            size,
            mtime,
            verified_at_end: Arc::default(),
        }
    }
}

/// Fails with [`ErrorClass::Changed`] unless `file` still has the listed size and time.
fn check_unchanged(
    file: &File,
    path: &Path,
    size: u64,
    mtime: i64,
    when: &str,
) -> Result<(), EndpointError> {
    let meta = file
        .metadata()
        .map_err(|e| EndpointError::io("cannot stat", path, e))?;
    if meta.len() != size || mtime_ns(&meta) != mtime {
        return Err(EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed {when} (size {size} → {}); it was not copied and will be picked up \
                 by the next run",
                path.display(),
                meta.len()
            ),
        )
        .at(path.display()));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Reader for LocalReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let (slot, path, verified) = (
            self.file.clone(),
            self.path.clone(),
            self.verified_at_end.clone(),
        );
        let (size, mtime) = (self.size, self.mtime);
        tokio::task::spawn_blocking(move || {
            let file = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                match &*slot {
                    Some(f) => f.clone(),
                    None => {
                        let f = File::open(&*path)
                            .map_err(|e| EndpointError::io("cannot open", &path, e))?;
                        check_unchanged(&f, &path, size, mtime, "since it was listed")?;
                        let f = Arc::new(f);
                        *slot = Some(f.clone());
                        f
                    }
                }
            };
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, offset).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    EndpointError::new(
                        ErrorClass::Changed,
                        format!("{} shrank while it was being read", path.display()),
                    )
                    .at(path.display())
                } else {
                    EndpointError::io("cannot read", &path, e)
                }
            })?;
            if offset + len as u64 >= size {
                check_unchanged(&file, &path, size, mtime, "while it was being read")?;
                verified.store(true, Ordering::Relaxed);
            }
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(join_error)?
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        if self.verified_at_end.load(Ordering::Relaxed) {
            return Ok(());
        }
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match file {
            Some(f) => check_unchanged(
                &f,
                &self.path,
                self.size,
                self.mtime,
                "while it was being read",
            ),
            None => Ok(()),
        }
    }
}

/// Reads a folder stub: it has no content.
pub(super) struct FolderReader;

#[async_trait::async_trait]
impl Reader for FolderReader {
    async fn read(&self, _offset: u64, _len: usize) -> Result<Bytes, EndpointError> {
        Ok(Bytes::new())
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        Ok(())
    }
}

/// Reads a symbolic link for an upload: its content is its target.
pub(super) struct LinkReader {
    path: PathBuf,
    size: u64,
    mtime: i64,
}

impl LinkReader {
    pub(super) fn new(path: PathBuf, size: u64, mtime: i64) -> Self {
        LinkReader { path, size, mtime }
    }

    /// The link's target, if the link is still the listed one.
    fn target(path: &Path, size: u64, mtime: i64) -> Result<Vec<u8>, EndpointError> {
        use std::os::unix::ffi::OsStringExt;
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| EndpointError::io("cannot stat", path, e))?;
        let target = std::fs::read_link(path)
            .map_err(|e| EndpointError::io("cannot read the link", path, e))?
            .into_os_string()
            .into_vec();
        if !meta.file_type().is_symlink() || target.len() as u64 != size || mtime_ns(&meta) != mtime
        {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{} changed since it was listed; it was not copied and will be picked up \
                     by the next run",
                    path.display()
                ),
            )
            .at(path.display()));
        }
        Ok(target)
    }
}

#[async_trait::async_trait]
impl Reader for LinkReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let (path, size, mtime) = (self.path.clone(), self.size, self.mtime);
        let target = tokio::task::spawn_blocking(move || Self::target(&path, size, mtime))
            .await
            .map_err(join_error)??;
        let start = (offset as usize).min(target.len());
        let end = (start + len).min(target.len());
        Ok(Bytes::copy_from_slice(&target[start..end]))
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        Ok(())
    }
}
