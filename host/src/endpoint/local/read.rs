//! Reading a local file for an upload: the first read opens the listed file beneath the
//! folder without following links and checks that it is the listed version (device,
//! inode, size, time); the read of the last block checks that it did not change while
//! read.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{Files, join_error};
use crate::endpoint::{EndpointError, ErrorClass, Item, Reader, mtime_ns};
use crate::localfs::{Listed, OpenError, beneath};

pub(super) struct LocalReader {
    file: Arc<Mutex<Option<Arc<File>>>>,
    files: Arc<Files>,
    path: Arc<str>,
    listed: Listed,
    /// Set when the read of the last block already confirmed the file is unchanged.
    verified_at_end: Arc<AtomicBool>,
}

impl LocalReader {
    /// A reader of the listed `item`. No I/O here: the first read opens the file, so a
    /// small file costs one trip to the blocking pool.
    pub(super) fn new(files: Arc<Files>, item: &Item) -> Self {
        LocalReader {
            file: Arc::default(),
            path: item.path.as_str().into(),
            listed: listed(item),
            files,
            verified_at_end: Arc::default(),
        }
    }
}

/// What the listing recorded of `item`.
pub(super) fn listed(item: &Item) -> Listed {
    Listed {
        size: item.size,
        mtime_ns: item.mtime_ns,
        identity: item.identity.map(|i| (i.dev, i.ino)),
    }
}

/// Opens the listed file beneath the folder without following links (unless the listing
/// followed them); a link in the way, another file than the one listed, or none, is
/// [`ErrorClass::Changed`].
pub(super) fn open_listed(
    files: &Files,
    path: &str,
    listed: &Listed,
) -> Result<File, EndpointError> {
    let full = files.full_path(path);
    crate::localfs::open_listed(&files.beneath, path, listed, files.options.follow_symlinks)
        .map_err(|e| match e {
            OpenError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{} is gone since it was listed; it was not copied, and the next run \
                     looks at it again",
                    full.display()
                ),
            )
            .at(full.display()),
            OpenError::Io(e) => EndpointError::io("cannot open", &full, e),
            other => EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{}: {other}; it was not copied, and the next run looks at it again",
                    full.display()
                ),
            )
            .at(full.display()),
        })
}

/// Fails with [`ErrorClass::Changed`] unless `file` still has the listed size and time.
fn check_unchanged(
    file: &File,
    path: &Path,
    listed: &Listed,
    when: &str,
) -> Result<(), EndpointError> {
    let meta = file
        .metadata()
        .map_err(|e| EndpointError::io("cannot stat", path, e))?;
    if meta.len() != listed.size || mtime_ns(&meta) != listed.mtime_ns {
        return Err(EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed {when} (size {} → {}); it was not copied and will be picked up \
                 by the next run",
                path.display(),
                listed.size,
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
        let (slot, files, path, verified) = (
            self.file.clone(),
            self.files.clone(),
            self.path.clone(),
            self.verified_at_end.clone(),
        );
        let listed = self.listed;
        tokio::task::spawn_blocking(move || {
            let full = files.full_path(&path);
            let file = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                match &*slot {
                    Some(f) => f.clone(),
                    None => {
                        let f = Arc::new(open_listed(&files, &path, &listed)?);
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
                        format!("{} shrank while it was being read", full.display()),
                    )
                    .at(full.display())
                } else {
                    EndpointError::io("cannot read", &full, e)
                }
            })?;
            if offset + len as u64 >= listed.size {
                check_unchanged(&file, &full, &listed, "while it was being read")?;
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
                &self.files.full_path(&self.path),
                &self.listed,
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
    files: Arc<Files>,
    path: String,
    size: u64,
    mtime: i64,
}

impl LinkReader {
    pub(super) fn new(files: Arc<Files>, item: &Item) -> Self {
        LinkReader {
            files,
            path: item.path.clone(),
            size: item.size,
            mtime: item.mtime_ns,
        }
    }

    /// The link's target, if the link is still the listed one (read beneath the folder:
    /// its own folders are not followed).
    fn target(&self) -> Result<Vec<u8>, EndpointError> {
        let full = self.files.full_path(&self.path);
        let parent = self.files.beneath.parent(&self.path, false).map_err(|r| {
            EndpointError::refused("cannot read the link", self.files.root(), &self.path, r)
        })?;
        let name = std::ffi::OsStr::from_bytes(&parent.name);
        let st = parent
            .stat()
            .map_err(|e| EndpointError::io("cannot stat", &full, e))?;
        let target = rustix::fs::readlinkat(&parent.dir, name, Vec::new())
            .map(|t| t.into_bytes())
            .map_err(|e| EndpointError::io("cannot read the link", &full, e.into()))?;
        let unchanged = st
            .is_some_and(|st| beneath::is_link(&st) && beneath::mtime_ns(&st) == self.mtime)
            && target.len() as u64 == self.size;
        if !unchanged {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{} changed since it was listed; it was not copied and will be picked up \
                     by the next run",
                    full.display()
                ),
            )
            .at(full.display()));
        }
        Ok(target)
    }
}

#[async_trait::async_trait]
impl Reader for LinkReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let reader = LinkReader {
            files: self.files.clone(),
            path: self.path.clone(),
            size: self.size,
            mtime: self.mtime,
        };
        let target = tokio::task::spawn_blocking(move || reader.target())
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
