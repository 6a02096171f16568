//! The local file system as a sync endpoint: a folder, walked in order ([`walk`]), read
//! for uploads ([`read`]) and written through temporary files for downloads ([`write`]).

mod collide;
mod folder;
mod group_sync;
mod names;
mod partial;
mod posix;
mod precision;
mod read;
mod read_ahead;
mod remove;
mod walk;
#[cfg(test)]
mod walk_tests;
mod write;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

pub(crate) use names::check_local_name;
pub(crate) use partial::PARTIAL_DIR;
pub(crate) use posix::SYMLINK_KEY;

use crate::localfs::{Beneath, raw_names};

use crate::endpoint::{
    Capabilities, DeleteTarget, Endpoint, EndpointError, EndpointKind, ErrorClass, Item,
    ListRequest, Lister, NameFold, Reader, SkipKind, WriteTarget, Writer, Written,
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
    /// The walk reads each folder as it enters it, none ahead on other threads.
    pub(crate) serial_walk: bool,
}

/// A local folder.
#[derive(Debug)]
pub struct LocalEndpoint {
    root: PathBuf,
    options: LocalOptions,
    /// The file system's time precision, once measured (ns).
    precision: std::sync::atomic::AtomicU64,
    /// Which names the folder does not tell apart, once measured.
    fold: std::sync::atomic::AtomicU8,
    /// The latest time the file system keeps, once measured (ns).
    latest_time: std::sync::atomic::AtomicI64,
    /// The folder's handle and temporary-file folders, from the first use on.
    files: OnceLock<Arc<Files>>,
}

/// What reads and writes below the folder share: its handle (every path is resolved
/// beneath it without following links), the folders for temporary files, the options.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) beneath: Arc<Beneath>,
    pub(crate) partials: partial::PartialDirs,
    pub(crate) options: LocalOptions,
}

impl Files {
    pub(crate) fn root(&self) -> &Path {
        self.beneath.root()
    }

    /// The full path of `relative`, for messages.
    pub(crate) fn full_path(&self, relative: &str) -> PathBuf {
        self.root()
            .join(OsStr::from_bytes(&raw_names::to_os(relative)))
    }
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
            fold: std::sync::atomic::AtomicU8::new(NameFold::Exact as u8),
            latest_time: std::sync::atomic::AtomicI64::new(i64::MAX),
            files: OnceLock::new(),
        }
    }

    /// Whether listings read folders ahead of the walk on other threads (the default), or
    /// each folder only as the walk enters it.
    pub fn with_read_ahead(mut self, on: bool) -> Self {
        self.options.serial_walk = !on;
        self
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

    fn files(&self) -> &Arc<Files> {
        self.files.get_or_init(|| {
            let beneath = Arc::new(Beneath::new(self.root.clone()));
            Arc::new(Files {
                partials: partial::PartialDirs::new(beneath.clone()),
                beneath,
                options: self.options,
            })
        })
    }

    fn full_path(&self, relative: &str) -> PathBuf {
        self.files().full_path(relative)
    }
}

/// True for a metadata flag's `true` (any case, as azcopy reads it).
pub(crate) fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

/// Whether `st` is still the listed `version`: the same size and time and, where the
/// listing saw it, the same file (device and inode) — a file replaced by another of the
/// same size and time since the listing is another writer's.
pub(super) fn is_listed(st: &rustix::fs::Stat, version: &crate::endpoint::Version) -> bool {
    st.st_size as u64 == version.size
        && crate::localfs::beneath::mtime_ns(st) == version.mtime_ns
        && version
            .inode
            .is_none_or(|(dev, ino)| st.st_dev == dev && st.st_ino == ino)
}

pub(super) fn join_error(e: tokio::task::JoinError) -> EndpointError {
    EndpointError::new(
        ErrorClass::Other,
        format!("internal error: a file task failed: {e}"),
    )
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EndpointError> + Send + 'static,
) -> Result<T, EndpointError> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

#[async_trait::async_trait]
impl Endpoint for LocalEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::Local,
            listed_md5: false,
            order: None,
            time_precision_ns: self.precision.load(Ordering::Relaxed),
            latest_time_ns: self.latest_time.load(Ordering::Relaxed),
            fold: NameFold::from_u8(self.fold.load(Ordering::Relaxed)),
            one_entry_per_name: true,
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
        let measured = tokio::task::spawn_blocking(move || {
            (
                precision::measure(&root),
                precision::measure_fold(&root),
                precision::measure_latest(&root),
            )
        })
        .await
        .unwrap_or((None, None, None));
        if let Some(latest) = measured.2 {
            tracing::info!(
                "{} keeps no time after {}",
                self.root.display(),
                blobsync_plugin::format_rfc3339_ns(latest)
            );
            self.latest_time.store(latest, Ordering::Relaxed);
        }
        match measured.0 {
            Some(step) => {
                if step > 1 {
                    tracing::info!(
                        "{} keeps modification times to {}",
                        self.root.display(),
                        humantime::format_duration(std::time::Duration::from_nanos(step))
                    );
                }
                self.precision.store(step, Ordering::Relaxed);
            }
            None => tracing::debug!(
                "cannot measure the time precision of {} (no scratch file can be written)",
                self.root.display()
            ),
        }
        if let Some(fold) = measured.1 {
            if fold != NameFold::Exact {
                tracing::info!(
                    "{} does not tell names apart by {}",
                    self.root.display(),
                    fold.describe()
                );
            }
            self.fold.store(fold as u8, Ordering::Relaxed);
        }
    }

    fn refuses(&self, item: &Item) -> Option<(SkipKind, String)> {
        if let Err(e) = check_local_name(&item.path) {
            return Some((SkipKind::Unsyncable, format!("not syncable: {e}")));
        }
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
        if item.is_folder_stub() {
            return Ok(Box::new(read::FolderReader));
        }
        let files = self.files().clone();
        if item.meta(SYMLINK_KEY).is_some_and(is_true) {
            return Ok(Box::new(read::LinkReader::new(files, item)));
        }
        Ok(Box::new(read::LocalReader::new(files, item)))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        let root = self.root.clone();
        blocking(move || {
            fs::create_dir_all(&root)
                .map_err(|e| EndpointError::io("cannot create folder", &root, e))
        })
        .await
    }

    async fn finish_writes(&self) {
        if let Some(files) = self.files.get() {
            let files = files.clone();
            let _ = tokio::task::spawn_blocking(move || files.partials.remove_empty()).await;
        }
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        check_local_name(&target.path)?;
        Ok(Box::new(write::LocalWriter::new(
            self.files().clone(),
            target.path.clone(),
            target.size,
            target.shape,
            target.replaces.clone(),
            target.resume_tag.clone(),
        )))
    }

    async fn move_to(
        &self,
        target: &DeleteTarget,
        backup_root: &Path,
        to: &str,
    ) -> Result<(), EndpointError> {
        let (files, target) = (self.files().clone(), target.clone());
        let (backup_root, to) = (backup_root.to_path_buf(), to.to_string());
        blocking(move || remove::move_to(&files, &target, &backup_root, &to)).await
    }

    async fn holds(&self, written: &Written) -> bool {
        let (files, written) = (self.files().clone(), written.clone());
        blocking(move || {
            let parent = files
                .beneath
                .parent(&written.path, false)
                .map_err(|r| EndpointError::new(ErrorClass::Other, r.to_string()))?;
            Ok(parent.stat().ok().flatten().is_some_and(|st| {
                !crate::localfs::beneath::is_folder(&st)
                    && st.st_size as u64 == written.size
                    && crate::localfs::beneath::mtime_ns(&st) == written.mtime_ns
            }))
        })
        .await
        .unwrap_or(false)
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let (files, target) = (self.files().clone(), target.clone());
        blocking(move || remove::delete(&files, &target)).await
    }
}
