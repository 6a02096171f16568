//! Writing a downloaded file into its temporary file ([`super::partial`]), then syncing
//! it, giving it the source's time and renaming it over the target — only if the target is
//! still what was listed. A single-request write is created, written, synced and renamed
//! in one blocking call at commit; a file in blocks is created on its first block.

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::partial::{Partial, ResumeKey};
use super::posix::{Restore, SYMLINK_KEY, apply_to_file, apply_to_link};
use super::{LocalOptions, is_true, join_error};
use crate::endpoint::{
    CommitInfo, EndpointError, ErrorClass, Version, WriteShape, Writer, mtime_ns,
};

pub(super) struct LocalWriter {
    target: PathBuf,
    size: u64,
    shape: WriteShape,
    replaces: Option<Version>,
    /// The source version, for a resumable temporary file.
    resume_tag: Option<String>,
    pending: Mutex<Option<Bytes>>,
    partial: Arc<OnceLock<Partial>>,
    /// Serialises creating the temporary file.
    creating: Arc<Mutex<()>>,
    done: Arc<AtomicBool>,
    options: LocalOptions,
}

impl LocalWriter {
    pub(super) fn new(
        target: PathBuf,
        size: u64,
        shape: WriteShape,
        replaces: Option<Version>,
        resume_tag: Option<String>,
        options: LocalOptions,
    ) -> LocalWriter {
        LocalWriter {
            target,
            size,
            shape,
            replaces,
            resume_tag,
            pending: Mutex::new(None),
            partial: Arc::default(),
            creating: Arc::default(),
            done: Arc::default(),
            options,
        }
    }

    /// The temporary file, opened (or, for the same source version, reopened) on first use.
    fn partial(&self) -> Result<&Partial, EndpointError> {
        open_partial(
            &self.partial,
            &self.creating,
            &self.target,
            self.size,
            self.shape,
            self.resume_tag.as_deref(),
        )
    }
}

fn open_partial<'a>(
    slot: &'a OnceLock<Partial>,
    creating: &Mutex<()>,
    target: &Path,
    size: u64,
    shape: WriteShape,
    resume_tag: Option<&str>,
) -> Result<&'a Partial, EndpointError> {
    if let Some(p) = slot.get() {
        return Ok(p);
    }
    let _creating = creating.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = slot.get() {
        return Ok(p);
    }
    let resume = match (shape, resume_tag) {
        (
            WriteShape::Blocks {
                size: block_size, ..
            },
            Some(tag),
        ) => Some(ResumeKey { tag, block_size }),
        _ => None,
    };
    let partial = Partial::open(target, size, resume)?;
    Ok(slot.get_or_init(|| partial))
}

fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// Gives the file the source's time (and what `restore` says), syncs it and renames it
/// over the target — only if the target is still what was listed (`replaces`; `None`:
/// nothing).
fn finish_file(
    file: &File,
    tmp: &Path,
    target: &Path,
    mtime: i64,
    restore: &Restore,
    replaces: Option<&Version>,
) -> Result<(), EndpointError> {
    apply_to_file(file, target, restore);
    let mut times = FileTimes::new().set_modified(system_time(mtime));
    if let Some(atime) = restore.atime_ns {
        times = times.set_accessed(system_time(atime));
    }
    file.set_times(times)
        .map_err(|e| EndpointError::io("cannot set the time of", tmp, e))?;
    super::group_sync::sync(file).map_err(|e| EndpointError::io("cannot sync", tmp, e))?;
    replace(tmp, target, replaces)
}

/// Makes a symbolic link to `link_target` with the source's time and renames it over the
/// target, on the same terms as a file.
fn finish_link(
    link_target: &[u8],
    target: &Path,
    mtime: i64,
    restore: &Restore,
    replaces: Option<&Version>,
) -> Result<(), EndpointError> {
    use std::os::unix::ffi::OsStrExt;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.{}.blobsync-link", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(link_target), &tmp)
        .map_err(|e| EndpointError::io("cannot create the link", &tmp, e))?;
    apply_to_link(&tmp, restore);
    let spec = |ns: i64| libc::timespec {
        tv_sec: ns.div_euclid(1_000_000_000) as libc::time_t,
        tv_nsec: ns.rem_euclid(1_000_000_000) as _,
    };
    let times = [spec(restore.atime_ns.unwrap_or(mtime)), spec(mtime)];
    let c_path = std::ffi::CString::new(tmp.as_os_str().as_bytes())
        .map_err(|_| EndpointError::new(ErrorClass::Usage, "a path contains NUL"))?;
    // SAFETY: a valid NUL-terminated path and two timespecs, as utimensat requires.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        tracing::warn!(
            "cannot set the time of the link {}: {}",
            target.display(),
            std::io::Error::last_os_error()
        );
    }
    let result = replace(&tmp, target, replaces);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Renames `tmp` over `target` if the target is still the listed version (`replaces`), or
/// into place if nothing is there and nothing was.
fn replace(tmp: &Path, target: &Path, replaces: Option<&Version>) -> Result<(), EndpointError> {
    let changed = || {
        EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed at the destination since it was listed (another writer?); it was \
                 not overwritten, and the next run compares it again",
                target.display()
            ),
        )
        .at(target.display())
    };
    match fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is a folder; a file of the same name cannot be written",
                    target.display()
                ),
            )
            .at(target.display()));
        }
        Ok(meta) => match replaces {
            Some(v) if meta.len() == v.size && mtime_ns(&meta) == v.mtime_ns => {}
            _ => return Err(changed()),
        },
        // Gone (or never there): nothing of another writer's is replaced.
        Err(_) => {
            return match rename_noreplace(tmp, target) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(changed()),
                Err(e) => Err(EndpointError::io("cannot rename into", target, e)),
            };
        }
    }
    fs::rename(tmp, target).map_err(|e| EndpointError::io("cannot rename into", target, e))
}

/// Renames `from` to `to` unless `to` exists (atomically where the file system can).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let (Ok(a), Ok(b)) = (
            std::ffi::CString::new(from.as_os_str().as_bytes()),
            std::ffi::CString::new(to.as_os_str().as_bytes()),
        ) else {
            return Err(std::io::ErrorKind::InvalidInput.into());
        };
        // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        // File systems without the flag: check, then rename.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    fs::rename(from, to)
}

impl Drop for LocalWriter {
    /// A write that did not commit leaves nothing, unless its temporary file can be
    /// resumed: then a cancelled download is continued by the next run.
    fn drop(&mut self) {
        if self.done.load(Ordering::Relaxed) {
            return;
        }
        if let Some(partial) = self.partial.get()
            && !partial.resumable()
        {
            let _ = fs::remove_file(&partial.path);
        }
    }
}

#[async_trait::async_trait]
impl Writer for LocalWriter {
    async fn write_block(&self, index: u64, offset: u64, data: Bytes) -> Result<(), EndpointError> {
        if self.shape == WriteShape::Single {
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
            return Ok(());
        }
        let (slot, creating, target) = (
            self.partial.clone(),
            self.creating.clone(),
            self.target.clone(),
        );
        let (size, shape, tag) = (self.size, self.shape, self.resume_tag.clone());
        tokio::task::spawn_blocking(move || {
            let partial = open_partial(&slot, &creating, &target, size, shape, tag.as_deref())?;
            partial
                .file
                .write_all_at(&data, offset)
                .map_err(|e| EndpointError::io("cannot write", &partial.path, e))?;
            partial.record(index, &data);
            Ok(())
        })
        .await
        .map_err(join_error)?
    }

    async fn resumed(&self, index: u64) -> Result<Option<Bytes>, EndpointError> {
        if self.shape == WriteShape::Single || self.resume_tag.is_none() {
            return Ok(None);
        }
        let (slot, creating, target) = (
            self.partial.clone(),
            self.creating.clone(),
            self.target.clone(),
        );
        let (size, shape, tag) = (self.size, self.shape, self.resume_tag.clone());
        tokio::task::spawn_blocking(move || {
            let partial = open_partial(&slot, &creating, &target, size, shape, tag.as_deref())?;
            Ok(partial.resumed(index))
        })
        .await
        .map_err(join_error)?
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        tokio::task::spawn_blocking(move || {
            // A single block (or an empty file) is created and written here, at once.
            let partial = self.partial()?;
            let data = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(data) = data {
                partial
                    .file
                    .write_all_at(&data, 0)
                    .map_err(|e| EndpointError::io("cannot write", &partial.path, e))?;
            }
            let restore = if self.options.posix {
                Restore::from_metadata(&info.metadata)
            } else {
                Restore::default()
            };
            if self.options.directory_stubs
                && info
                    .metadata
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(crate::endpoint::FOLDER_KEY) && is_true(v))
            {
                let _ = fs::remove_file(&partial.path);
                partial.forget_progress();
                fs::create_dir_all(&self.target)
                    .map_err(|e| EndpointError::io("cannot create the folder", &self.target, e))?;
                self.done.store(true, Ordering::Relaxed);
                return Ok(());
            }
            let link = self.options.symlinks
                && info
                    .metadata
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(SYMLINK_KEY) && is_true(v));
            if link {
                let mut target = vec![0u8; self.size as usize];
                partial
                    .file
                    .read_exact_at(&mut target, 0)
                    .map_err(|e| EndpointError::io("cannot read back", &partial.path, e))?;
                finish_link(
                    &target,
                    &self.target,
                    info.mtime_ns,
                    &restore,
                    self.replaces.as_ref(),
                )?;
                let _ = fs::remove_file(&partial.path);
            } else {
                finish_file(
                    &partial.file,
                    &partial.path,
                    &self.target,
                    info.mtime_ns,
                    &restore,
                    self.replaces.as_ref(),
                )?;
            }
            partial.forget_progress();
            self.done.store(true, Ordering::Relaxed);
            Ok(())
        })
        .await
        .map_err(join_error)?
    }

    async fn abort(self: Box<Self>) {
        // A failed write (not a cancelled one) leaves nothing to resume from.
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(partial) = self.partial.get() {
                partial.forget_progress();
                let _ = fs::remove_file(&partial.path);
            }
        })
        .await;
    }
}
