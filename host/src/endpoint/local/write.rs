//! Writing a downloaded file: a hidden temporary file beside the target, synced, given the
//! source's time and renamed over the target, so a crash never leaves a partial file
//! under the real name. A single-request write is created, written, synced and renamed
//! in one blocking call at commit; a file in blocks is created on its first block.

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::join_error;
use crate::endpoint::{CommitInfo, EndpointError, ErrorClass, WriteShape, Writer};

/// The suffix of blobsync's temporary download files; listings skip them.
pub(crate) const PARTIAL_SUFFIX: &str = ".blobsync-partial";

static PARTIAL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// For a temporary download file `.NAME.PID-N.blobsync-partial`: whether process PID
/// still runs (then the file may be in use and is left alone).
pub(super) fn partial_owner_alive(name: &str) -> bool {
    let stem = name.trim_end_matches(PARTIAL_SUFFIX);
    let pid = stem
        .rsplit('.')
        .next()
        .and_then(|s| s.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) => Path::new("/proc").join(pid.to_string()).exists(),
        None => true,
    }
}

/// An open temporary download file and its path.
type TempFile = (Arc<File>, PathBuf);

pub(super) struct LocalWriter {
    target: PathBuf,
    size: u64,
    shape: WriteShape,
    pending: Mutex<Option<Bytes>>,
    file: Arc<Mutex<Option<TempFile>>>,
    done: Arc<AtomicBool>,
}

impl LocalWriter {
    pub(super) fn new(target: PathBuf, size: u64, shape: WriteShape) -> LocalWriter {
        LocalWriter {
            target,
            size,
            shape,
            pending: Mutex::new(None),
            file: Arc::default(),
            done: Arc::default(),
        }
    }
}

/// Creates the temporary file for `target`, creating missing parent folders only when the
/// first attempt says they are missing.
fn create_temp(target: &Path, size: u64) -> Result<(File, PathBuf), EndpointError> {
    let parent = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{name}.{}-{}{PARTIAL_SUFFIX}",
        std::process::id(),
        PARTIAL_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let open = || File::options().write(true).create_new(true).open(&tmp);
    let in_the_way = || {
        EndpointError::new(
            ErrorClass::Usage,
            format!(
                "cannot create folder {}: a file with that name is in the way",
                parent.display()
            ),
        )
        .at(parent.display())
    };
    let file = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Err(e) = fs::create_dir_all(parent) {
                return Err(match e.kind() {
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                        in_the_way()
                    }
                    _ => EndpointError::io("cannot create folder", parent, e),
                });
            }
            open().map_err(|e| EndpointError::io("cannot create", &tmp, e))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Err(in_the_way()),
        Err(e) => return Err(EndpointError::io("cannot create", &tmp, e)),
    };
    if size > 0 {
        file.set_len(size)
            .map_err(|e| EndpointError::io("cannot size", &tmp, e))?;
    }
    Ok((file, tmp))
}

/// Gives the file the source's time, syncs it and renames it over the target.
fn finish_file(file: &File, tmp: &Path, target: &Path, mtime_ns: i64) -> Result<(), EndpointError> {
    let mtime = if mtime_ns >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(mtime_ns as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_nanos(mtime_ns.unsigned_abs())
    };
    file.set_times(FileTimes::new().set_modified(mtime))
        .map_err(|e| EndpointError::io("cannot set the time of", tmp, e))?;
    file.sync_all()
        .map_err(|e| EndpointError::io("cannot sync", tmp, e))?;
    if target.is_dir() {
        return Err(EndpointError::new(
            ErrorClass::Usage,
            format!(
                "{} is a folder; a file of the same name cannot be written",
                target.display()
            ),
        )
        .at(target.display()));
    }
    fs::rename(tmp, target).map_err(|e| EndpointError::io("cannot rename into", target, e))
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if !self.done.load(Ordering::Relaxed)
            && let Some((_, tmp)) = self.file.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            let _ = fs::remove_file(tmp);
        }
    }
}

#[async_trait::async_trait]
impl Writer for LocalWriter {
    async fn write_block(
        &self,
        _index: u64,
        offset: u64,
        data: Bytes,
    ) -> Result<(), EndpointError> {
        if self.shape == WriteShape::Single {
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
            return Ok(());
        }
        let (slot, target, size) = (self.file.clone(), self.target.clone(), self.size);
        tokio::task::spawn_blocking(move || {
            let (file, tmp) = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                match &*slot {
                    Some((f, t)) => (f.clone(), t.clone()),
                    None => {
                        let (f, t) = create_temp(&target, size)?;
                        let f = Arc::new(f);
                        *slot = Some((f.clone(), t.clone()));
                        (f, t)
                    }
                }
            };
            file.write_all_at(&data, offset)
                .map_err(|e| EndpointError::io("cannot write", &tmp, e))
        })
        .await
        .map_err(join_error)?
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        tokio::task::spawn_blocking(move || {
            let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
            let (file, tmp) = match &*slot {
                Some((f, t)) => (f.clone(), t.clone()),
                None => {
                    // A single block (or an empty file): create, write and finish at once.
                    let (f, t) = create_temp(&self.target, 0)?;
                    let f = Arc::new(f);
                    *slot = Some((f.clone(), t.clone()));
                    let data = self
                        .pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take();
                    if let Some(data) = data {
                        f.write_all_at(&data, 0)
                            .map_err(|e| EndpointError::io("cannot write", &t, e))?;
                    }
                    (f, t)
                }
            };
            finish_file(&file, &tmp, &self.target, info.mtime_ns)?;
            self.done.store(true, Ordering::Relaxed);
            Ok(())
        })
        .await
        .map_err(join_error)?
    }

    async fn abort(self: Box<Self>) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }
}
