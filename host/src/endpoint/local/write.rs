//! Writing a downloaded file: into its temporary file ([`super::partial`]), then synced,
//! given the source's time and renamed over the target — only if the target is still what
//! was listed. Every step works on the target folder's handle, resolved beneath the
//! destination without following links ([`crate::localfs::beneath`]). A single-request
//! write is created, written, synced and renamed in one blocking call at commit; a file in
//! blocks is created on its first block.

use std::fs::FileTimes;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rustix::fs::{AtFlags, RenameFlags, Timespec, Timestamps};
use rustix::io::Errno;

use super::Files;
use super::partial::{Partial, ResumeKey};
use super::posix::{Restore, SYMLINK_KEY, apply_to_file, apply_to_link};
use super::{is_true, join_error};
use crate::endpoint::{CommitInfo, EndpointError, ErrorClass, Version, WriteShape, Writer};
use crate::localfs::{Parent, beneath};

/// The target's folder and the temporary file, once opened.
struct Opened {
    parent: Parent,
    partial: Partial,
}

pub(super) struct LocalWriter {
    files: Arc<Files>,
    /// The target, relative to the destination.
    path: String,
    size: u64,
    shape: WriteShape,
    replaces: Option<Version>,
    /// The source version, for a resumable temporary file.
    resume_tag: Option<String>,
    pending: Mutex<Option<Bytes>>,
    /// Which blocks were written (or found intact from an earlier attempt): a commit with
    /// one missing fails rather than leave a hole in the file.
    written: Mutex<Vec<bool>>,
    opened: Arc<OnceLock<Opened>>,
    /// Serialises opening.
    creating: Arc<Mutex<()>>,
    done: Arc<AtomicBool>,
}

impl LocalWriter {
    pub(super) fn new(
        files: Arc<Files>,
        path: String,
        size: u64,
        shape: WriteShape,
        replaces: Option<Version>,
        resume_tag: Option<String>,
    ) -> LocalWriter {
        LocalWriter {
            files,
            path,
            size,
            shape,
            replaces,
            resume_tag,
            pending: Mutex::new(None),
            written: Mutex::new(vec![false; shape.blocks() as usize]),
            opened: Arc::default(),
            creating: Arc::default(),
            done: Arc::default(),
        }
    }

    /// Records that block `index` is in the file.
    fn wrote(&self, index: u64) {
        if let Some(slot) = lock(&self.written).get_mut(index as usize) {
            *slot = true;
        }
    }

    /// Fails unless every block is in the file.
    fn check_complete(&self) -> Result<(), EndpointError> {
        match lock(&self.written).iter().position(|w| !w) {
            None => Ok(()),
            Some(missing) => Err(EndpointError::new(
                ErrorClass::Other,
                format!(
                    "internal error: block {missing} of {} was never written; nothing was \
                     committed",
                    self.files.full_path(&self.path).display()
                ),
            )),
        }
    }

    fn handle(&self) -> Handle {
        Handle {
            files: self.files.clone(),
            path: self.path.clone(),
            size: self.size,
            shape: self.shape,
            tag: self.resume_tag.clone(),
            slot: self.opened.clone(),
            creating: self.creating.clone(),
        }
    }
}

/// What a blocking task needs to open the writer's files.
struct Handle {
    files: Arc<Files>,
    path: String,
    size: u64,
    shape: WriteShape,
    tag: Option<String>,
    slot: Arc<OnceLock<Opened>>,
    creating: Arc<Mutex<()>>,
}

impl Handle {
    /// The target's folder (created beneath the destination) and the temporary file,
    /// opened (or, for the same source version, reopened) on first use.
    fn open(&self) -> Result<&Opened, EndpointError> {
        if let Some(o) = self.slot.get() {
            return Ok(o);
        }
        let _creating = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(o) = self.slot.get() {
            return Ok(o);
        }
        let opened = open(
            &self.files,
            &self.path,
            self.size,
            self.shape,
            self.tag.as_deref(),
        )?;
        Ok(self.slot.get_or_init(|| opened))
    }
}

fn open(
    files: &Files,
    path: &str,
    size: u64,
    shape: WriteShape,
    tag: Option<&str>,
) -> Result<Opened, EndpointError> {
    let parent = files.beneath.parent(path, true).map_err(|r| {
        EndpointError::refused("cannot create the folder of", files.root(), path, r)
    })?;
    let resume = match (shape, tag) {
        (
            WriteShape::Blocks {
                size: block_size, ..
            },
            Some(tag),
        ) => Some(ResumeKey { tag, block_size }),
        _ => None,
    };
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let partial = Partial::open(&files.partials, &parent.dir, dir, path, size, resume)?;
    Ok(Opened { parent, partial })
}

fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn timespec(ns: i64) -> Timespec {
    Timespec {
        tv_sec: ns.div_euclid(1_000_000_000),
        tv_nsec: ns.rem_euclid(1_000_000_000) as _,
    }
}

/// Gives the file the source's time (and what `restore` says) on its handle, syncs and
/// closes it, renames it over the target — only if the target is still what was listed
/// (`replaces`; `None`: nothing) — and checks the time once it is closed: some file
/// systems (exFAT through FUSE) set it again on close, so it is set again by name.
fn finish_file(
    files: &Files,
    path: &str,
    opened: Opened,
    mtime: i64,
    restore: &Restore,
    replaces: Option<&Version>,
) -> Result<(), EndpointError> {
    let Opened { parent, partial } = opened;
    let full = files.full_path(path);
    apply_to_file(&partial.file, &full, restore);
    let mut times = FileTimes::new().set_modified(system_time(mtime));
    if let Some(atime) = restore.atime_ns {
        times = times.set_accessed(system_time(atime));
    }
    partial
        .file
        .set_times(times)
        .map_err(|e| EndpointError::io("cannot set the time of", &full, e))?;
    super::group_sync::sync(&partial.file)
        .map_err(|e| EndpointError::io("cannot sync", &full, e))?;
    let (dir, name) = (partial.dir.clone(), partial.name.clone());
    partial.forget_progress();
    drop(partial);
    if let Err(e) = replace(files, path, (&dir, &name), &parent, replaces) {
        let _ = rustix::fs::unlinkat(&*dir, name.as_str(), AtFlags::empty());
        return Err(e);
    }
    settle_time(&parent, mtime, restore.atime_ns);
    Ok(())
}

/// Sets the time of the renamed file again by name if closing it changed it.
fn settle_time(parent: &Parent, mtime: i64, atime: Option<i64>) {
    let Ok(Some(st)) = parent.stat() else { return };
    if beneath::mtime_ns(&st) == mtime {
        return;
    }
    let times = Timestamps {
        last_access: atime.map_or(
            Timespec {
                tv_sec: st.st_atime,
                tv_nsec: st.st_atime_nsec as _,
            },
            timespec,
        ),
        last_modification: timespec(mtime),
    };
    let name = std::ffi::OsStr::from_bytes(&parent.name);
    if let Err(e) = rustix::fs::utimensat(&parent.dir, name, &times, AtFlags::SYMLINK_NOFOLLOW) {
        tracing::warn!("cannot set the time of {}: {e}", name.to_string_lossy());
    }
}

/// Makes a symbolic link to `link_target` with the source's time in the partial folder
/// and renames it over the target, on the same terms as a file.
fn finish_link(
    files: &Files,
    path: &str,
    opened: Opened,
    link_target: &[u8],
    mtime: i64,
    restore: &Restore,
    replaces: Option<&Version>,
) -> Result<(), EndpointError> {
    let Opened { parent, partial } = opened;
    let full = files.full_path(path);
    let (dir, data_name) = (partial.dir.clone(), partial.name.clone());
    partial.remove();
    drop(partial);
    let name = format!("{data_name}.link");
    let _ = rustix::fs::unlinkat(&*dir, name.as_str(), AtFlags::empty());
    rustix::fs::symlinkat(
        std::ffi::OsStr::from_bytes(link_target),
        &*dir,
        name.as_str(),
    )
    .map_err(|e| EndpointError::io("cannot create the link", &full, e.into()))?;
    apply_to_link(&dir, &name, &full, restore);
    let times = Timestamps {
        last_access: timespec(restore.atime_ns.unwrap_or(mtime)),
        last_modification: timespec(mtime),
    };
    if let Err(e) = rustix::fs::utimensat(&*dir, name.as_str(), &times, AtFlags::SYMLINK_NOFOLLOW) {
        tracing::warn!("cannot set the time of the link {}: {e}", full.display());
    }
    let result = replace(files, path, (&dir, &name), &parent, replaces);
    if result.is_err() {
        let _ = rustix::fs::unlinkat(&*dir, name.as_str(), AtFlags::empty());
    }
    result
}

/// Renames `from` (in the partial folder) over the target if the target is still the
/// listed version (`replaces`), or into place if nothing is there and nothing was. A link
/// in the way is refused (unless it is the listed entry, a link synced as a link); a name
/// the folder does not tell apart from another is a collision.
fn replace(
    files: &Files,
    path: &str,
    from: (&OwnedFd, &str),
    parent: &Parent,
    replaces: Option<&Version>,
) -> Result<(), EndpointError> {
    let full = files.full_path(path);
    let changed = || {
        EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed at the destination since it was listed (another writer?); it was \
                 not overwritten, and the next run compares it again",
                full.display()
            ),
        )
        .at(full.display())
    };
    let name = std::ffi::OsStr::from_bytes(&parent.name);
    let existing = parent
        .stat()
        .map_err(|e| EndpointError::io("cannot stat", &full, e))?;
    let listed = |st: &rustix::fs::Stat| replaces.is_some_and(|v| super::is_listed(st, v));
    let flags = match &existing {
        Some(st) if beneath::is_folder(st) => {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is a folder; a file of the same name cannot be written",
                    full.display()
                ),
            )
            .at(full.display()));
        }
        Some(st) if listed(st) => RenameFlags::empty(),
        Some(st) if beneath::is_link(st) => {
            return Err(EndpointError::new(
                ErrorClass::Link,
                format!(
                    "{} is a symbolic link at the destination; it was not replaced and nothing \
                     was written through it",
                    full.display()
                ),
            )
            .at(full.display()));
        }
        Some(_) => return Err(super::collide::explain(parent, &full).unwrap_or_else(changed)),
        // Gone (or never there): nothing of another writer's is replaced.
        None => RenameFlags::NOREPLACE,
    };
    match rustix::fs::renameat_with(from.0, from.1, &parent.dir, name, flags) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL) if flags == RenameFlags::NOREPLACE => {
            // A file system without the flag: the check above stands.
            rustix::fs::renameat(from.0, from.1, &parent.dir, name)
                .map_err(|e| EndpointError::io("cannot rename into", &full, e.into()))
        }
        Err(Errno::EXIST) => Err(super::collide::explain(parent, &full).unwrap_or_else(changed)),
        Err(e) => Err(EndpointError::io("cannot rename into", &full, e.into())),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for LocalWriter {
    /// A write that did not commit leaves nothing, unless its temporary file can be
    /// resumed: then a cancelled download is continued by the next run.
    fn drop(&mut self) {
        if self.done.load(Ordering::Relaxed) {
            return;
        }
        if let Some(opened) = self.opened.get()
            && !opened.partial.resumable()
        {
            opened.partial.remove();
        }
    }
}

#[async_trait::async_trait]
impl Writer for LocalWriter {
    async fn write_block(&self, index: u64, offset: u64, data: Bytes) -> Result<(), EndpointError> {
        if self.shape == WriteShape::Single {
            *lock(&self.pending) = Some(data);
            self.wrote(index);
            return Ok(());
        }
        let handle = self.handle();
        tokio::task::spawn_blocking(move || {
            let opened = handle.open()?;
            opened
                .partial
                .file
                .write_all_at(&data, offset)
                .map_err(|e| {
                    EndpointError::io("cannot write", &handle.files.full_path(&handle.path), e)
                })?;
            opened.partial.record(index, &data);
            super::group_sync::start_writeback(
                &opened.partial.file,
                handle.size,
                offset,
                data.len(),
            );
            Ok::<_, EndpointError>(())
        })
        .await
        .map_err(join_error)??;
        self.wrote(index);
        Ok(())
    }

    async fn resumed(&self, index: u64) -> Result<Option<Bytes>, EndpointError> {
        if self.shape == WriteShape::Single || self.resume_tag.is_none() {
            return Ok(None);
        }
        let handle = self.handle();
        let resumed = tokio::task::spawn_blocking(move || {
            Ok::<_, EndpointError>(handle.open()?.partial.resumed(index))
        })
        .await
        .map_err(join_error)??;
        if resumed.is_some() {
            self.wrote(index);
        }
        Ok(resumed)
    }

    async fn commit(mut self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        self.check_complete()?;
        tokio::task::spawn_blocking(move || {
            let opened = match Arc::get_mut(&mut self.opened).and_then(OnceLock::take) {
                Some(opened) => opened,
                None => open(
                    &self.files,
                    &self.path,
                    self.size,
                    self.shape,
                    self.resume_tag.as_deref(),
                )?,
            };
            let (dir, name) = (opened.partial.dir.clone(), opened.partial.name.clone());
            let result = self.finish(opened, &info);
            self.done.store(true, Ordering::Relaxed);
            if result.is_err() {
                // Nothing of a failed commit is left behind.
                for leftover in [
                    name.clone(),
                    format!("{name}.link"),
                    format!("{name}.progress"),
                ] {
                    let _ = rustix::fs::unlinkat(&*dir, leftover.as_str(), AtFlags::empty());
                }
            }
            result
        })
        .await
        .map_err(join_error)?
    }

    async fn abort(self: Box<Self>) {
        // A failed write (not a cancelled one) leaves nothing to resume from.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(opened) = self.opened.get() {
                opened.partial.remove();
            }
        })
        .await;
    }
}

impl LocalWriter {
    /// Writes what is pending and puts the entry in place: a file, a link or a folder.
    fn finish(&self, opened: Opened, info: &CommitInfo) -> Result<(), EndpointError> {
        let full = self.files.full_path(&self.path);
        // A single block (or an empty file) is written here, at once.
        let data = lock(&self.pending).take();
        if let Some(data) = data
            && let Err(e) = opened.partial.file.write_all_at(&data, 0)
        {
            opened.partial.remove();
            return Err(EndpointError::io("cannot write", &full, e));
        }
        let options = &self.files.options;
        let restore = if options.posix {
            Restore::from_metadata(&info.metadata)
        } else {
            Restore::default()
        };
        let marked = |key: &str| {
            info.metadata
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(key) && is_true(v))
        };
        if options.directory_stubs && marked(crate::endpoint::FOLDER_KEY) {
            opened.partial.remove();
            return self
                .files
                .beneath
                .folder(&self.path, true)
                .map(drop)
                .map_err(|r| {
                    EndpointError::refused(
                        "cannot create the folder",
                        self.files.root(),
                        &self.path,
                        r,
                    )
                });
        }
        if options.symlinks && marked(SYMLINK_KEY) {
            let mut target = vec![0u8; self.size as usize];
            opened
                .partial
                .file
                .read_exact_at(&mut target, 0)
                .map_err(|e| EndpointError::io("cannot read back", &full, e))?;
            return finish_link(
                &self.files,
                &self.path,
                opened,
                &target,
                info.mtime_ns,
                &restore,
                self.replaces.as_ref(),
            );
        }
        finish_file(
            &self.files,
            &self.path,
            opened,
            info.mtime_ns,
            &restore,
            self.replaces.as_ref(),
        )
    }
}
