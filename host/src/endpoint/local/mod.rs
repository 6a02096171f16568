//! The local file system as a sync endpoint: a folder, walked in order ([`walk`]), read
//! for uploads ([`read`]) and written through temporary files for downloads ([`write`]).

mod group_sync;
mod names;
mod partial;
mod posix;
mod precision;
mod read;
mod walk;
mod write;

use std::fs;
use std::path::{Path, PathBuf};

pub(crate) use names::check_local_name;
pub(crate) use partial::PARTIAL_SUFFIX;
pub(crate) use posix::SYMLINK_KEY;

use crate::endpoint::{
    Capabilities, DeleteTarget, Endpoint, EndpointError, EndpointKind, ErrorClass, Item,
    ListRequest, Lister, Reader, SkipKind, WriteTarget, Writer, mtime_ns,
};

/// How a local folder is listed, read and written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LocalOptions {
    /// Follow symbolic links when listing.
    pub(crate) follow_symlinks: bool,
    /// Listings remove temporary files left by killed downloads.
    pub(crate) clean_partials: bool,
    /// Owner, group, mode and times go to blob metadata, and come back
    /// (`--preserve-posix-properties`).
    pub(crate) posix: bool,
    /// Symbolic links are synced as links (`--preserve-symlinks`).
    pub(crate) symlinks: bool,
    /// Each folder is also listed as a folder stub, and folder stubs are written as
    /// folders (`--include-directory-stub`).
    pub(crate) directory_stubs: bool,
}

/// A local folder.
#[derive(Debug)]
pub struct LocalEndpoint {
    root: PathBuf,
    options: LocalOptions,
    /// The file system's time precision, once measured (ns).
    precision: std::sync::atomic::AtomicU64,
}

impl LocalEndpoint {
    /// A folder endpoint at `root`. With `clean_partials`, listings remove temporary files
    /// left by downloads whose process no longer runs (a crash or a kill).
    pub fn new(root: PathBuf, follow_symlinks: bool, clean_partials: bool) -> Self {
        LocalEndpoint {
            root,
            options: LocalOptions {
                follow_symlinks,
                clean_partials,
                ..LocalOptions::default()
            },
            precision: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Keeps owners, groups, modes and times in blob metadata, and restores them
    /// (`--preserve-posix-properties`).
    pub fn with_posix(mut self, on: bool) -> Self {
        self.options.posix = on;
        self
    }

    /// Lists each folder as a folder stub too (`hdi_isfolder=true`), and writes stubs as
    /// folders (`--include-directory-stub`): empty folders are synced.
    pub fn with_directory_stubs(mut self, on: bool) -> Self {
        self.options.directory_stubs = on;
        self
    }

    /// Syncs symbolic links as links, stored as small blobs marked `is_symlink=true`
    /// (`--preserve-symlinks`).
    pub fn with_symlinks(mut self, on: bool) -> Self {
        self.options.symlinks = on;
        self
    }

    fn full_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

/// Removes the folders between `path` and `root` that a delete left empty (a folder
/// another delete is still emptying, or that holds anything, stays).
fn remove_empty_parents(root: &std::path::Path, path: &std::path::Path) {
    for dir in path.ancestors().skip(1) {
        if dir == root || !dir.starts_with(root) || fs::remove_dir(dir).is_err() {
            return;
        }
        tracing::debug!("removed {}, left empty by deletes", dir.display());
    }
}

/// True for a metadata flag's `true` (any case, as azcopy reads it).
pub(crate) fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

pub(super) fn join_error(e: tokio::task::JoinError) -> EndpointError {
    EndpointError::new(
        ErrorClass::Other,
        format!("internal error: a file task failed: {e}"),
    )
}

#[async_trait::async_trait]
impl Endpoint for LocalEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::Local,
            listed_md5: false,
            order: None,
            time_precision_ns: self.precision.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        self.full_path(path).display().to_string()
    }

    async fn probe(&self) {
        let root = self.root.clone();
        let measured = tokio::task::spawn_blocking(move || precision::measure(&root))
            .await
            .ok()
            .flatten();
        match measured {
            Some(step) => {
                if step > 1 {
                    tracing::info!(
                        "{} keeps modification times to {}",
                        self.root.display(),
                        humantime::format_duration(std::time::Duration::from_nanos(step))
                    );
                }
                self.precision
                    .store(step, std::sync::atomic::Ordering::Relaxed);
            }
            None => tracing::debug!(
                "cannot measure the time precision of {} (no scratch file can be written)",
                self.root.display()
            ),
        }
    }

    fn refuses(&self, item: &Item) -> Option<(SkipKind, String)> {
        (!self.options.symlinks && item.meta(SYMLINK_KEY).is_some_and(is_true)).then(|| {
            (
                SkipKind::Symlink,
                "a symbolic link stored as a blob (use --preserve-symlinks to restore it)"
                    .to_string(),
            )
        })
    }

    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError> {
        Ok(Box::new(walk::LocalLister::new(
            self.root.clone(),
            self.options,
            request.order,
            &request.scopes,
        )))
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        let path = self.full_path(&item.path);
        if item.is_folder_stub() {
            return Ok(Box::new(read::FolderReader));
        }
        if item.meta(SYMLINK_KEY).is_some_and(is_true) {
            return Ok(Box::new(read::LinkReader::new(
                path,
                item.size,
                item.mtime_ns,
            )));
        }
        Ok(Box::new(read::LocalReader::new(
            path,
            item.size,
            item.mtime_ns,
        )))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&root)
                .map_err(|e| EndpointError::io("cannot create folder", &root, e))
        })
        .await
        .map_err(join_error)?
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        check_local_name(&target.path)?;
        Ok(Box::new(write::LocalWriter::new(
            self.full_path(&target.path),
            target.size,
            target.shape,
            target.replaces.clone(),
            target.resume_tag.clone(),
            self.options,
        )))
    }

    async fn move_to(&self, target: &DeleteTarget, to: &Path) -> Result<(), EndpointError> {
        let from = self.full_path(&target.path);
        let (to, root) = (to.to_path_buf(), self.root.clone());
        let (size, mtime) = (target.version.size, target.version.mtime_ns);
        tokio::task::spawn_blocking(move || {
            let meta = fs::symlink_metadata(&from)
                .map_err(|e| EndpointError::io("cannot back up", &from, e))?;
            if !meta.is_dir() && (meta.len() != size || mtime_ns(&meta) != mtime) {
                return Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed since it was listed; it was not backed up, overwritten \
                         or deleted",
                        from.display()
                    ),
                )
                .at(from.display()));
            }
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| EndpointError::io("cannot create the backup folder", parent, e))?;
            }
            fs::rename(&from, &to).map_err(|e| {
                let how = if e.raw_os_error() == Some(libc::EXDEV) {
                    "cannot move it to the backup folder, which is on another file system"
                } else {
                    "cannot move it to the backup folder"
                };
                EndpointError::io(how, &from, e)
            })?;
            remove_empty_parents(&root, &from);
            Ok(())
        })
        .await
        .map_err(join_error)?
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let path = self.full_path(&target.path);
        let root = self.root.clone();
        let (size, mtime) = (target.version.size, target.version.mtime_ns);
        tokio::task::spawn_blocking(move || {
            // Only the version that was listed is deleted; one already gone is done.
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(EndpointError::io("cannot delete", &path, e)),
            };
            if meta.is_dir() {
                // A folder stub: the folder goes if it is empty (what was in it is
                // deleted on its own).
                return match fs::remove_dir(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
                        tracing::info!("{} is not empty; it was left", path.display());
                        Ok(())
                    }
                    Err(e) => Err(EndpointError::io("cannot delete the folder", &path, e)),
                };
            }
            if meta.len() != size || mtime_ns(&meta) != mtime {
                return Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed since it was listed; it was not deleted",
                        path.display()
                    ),
                )
                .at(path.display()));
            }
            fs::remove_file(&path).map_err(|e| EndpointError::io("cannot delete", &path, e))?;
            remove_empty_parents(&root, &path);
            Ok(())
        })
        .await
        .map_err(join_error)?
    }
}
