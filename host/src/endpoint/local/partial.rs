//! Temporary download files. A download is written to a hidden file beside its target and
//! renamed over it at the end, so a crash never leaves a partial file under the real name.
//!
//! When the source version is known (a blob's ETag), the file is named after it and
//! locked while written, and a progress file beside it lists each block written with its
//! CRC-64. A download killed half way is then continued by the next run from the blocks
//! that read back intact; blocks that do not are fetched again. Without a version tag
//! (or when another process holds the lock) the name is unique to this process.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::endpoint::{EndpointError, ErrorClass};

/// The suffix of blobsync's temporary download files; listings skip them.
pub(crate) const PARTIAL_SUFFIX: &str = ".blobsync-partial";

/// The infix of progress files (`.NAME.TAG.progress.blobsync-partial`).
const PROGRESS: &str = ".progress";

/// Resumable partial files nobody touched for this long are removed by listings.
const STALE_AFTER: Duration = Duration::from_secs(7 * 86_400);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An open temporary file for one download.
pub(super) struct Partial {
    pub(super) file: File,
    pub(super) path: PathBuf,
    /// The progress file, when the download can be resumed.
    progress: Option<Mutex<File>>,
    /// Blocks an earlier attempt wrote that read back intact: index → (offset, length).
    resumed: HashMap<u64, (u64, usize)>,
}

/// What makes a temporary file resumable: the source version and the block layout.
pub(super) struct ResumeKey<'a> {
    pub(super) tag: &'a str,
    pub(super) block_size: u64,
}

impl Partial {
    /// Creates (or, for the same source version, reopens) the temporary file for `target`,
    /// creating missing parent folders only when the first attempt says they are missing.
    pub(super) fn open(
        target: &Path,
        size: u64,
        resume: Option<ResumeKey<'_>>,
    ) -> Result<Partial, EndpointError> {
        let parent = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
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
        let ensure_parent = || match fs::create_dir_all(parent) {
            Ok(()) => Ok(()),
            Err(e) => Err(match e.kind() {
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                    in_the_way()
                }
                _ => EndpointError::io("cannot create folder", parent, e),
            }),
        };
        if let Some(key) = resume {
            let tag = tag_hash(key.tag, size, key.block_size);
            let path = parent.join(format!(".{name}.{tag}{PARTIAL_SUFFIX}"));
            let open = || {
                File::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
            };
            let file = match open() {
                Ok(f) => Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    ensure_parent()?;
                    Some(open().map_err(|e| EndpointError::io("cannot create", &path, e))?)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                    return Err(in_the_way());
                }
                Err(e) => return Err(EndpointError::io("cannot create", &path, e)),
            };
            // Another blobsync downloading the same version holds the lock: write a file of
            // our own instead.
            if let Some(file) = file.filter(try_lock) {
                remove_others(parent, &name, &path);
                return Partial::resume(file, path, size, key.block_size);
            }
        }
        let path = parent.join(format!(
            ".{name}.{}-{}{PARTIAL_SUFFIX}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let open = || {
            File::options()
                .write(true)
                .read(true)
                .create_new(true)
                .open(&path)
        };
        let file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ensure_parent()?;
                open().map_err(|e| EndpointError::io("cannot create", &path, e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Err(in_the_way()),
            Err(e) => return Err(EndpointError::io("cannot create", &path, e)),
        };
        if size > 0 {
            file.set_len(size)
                .map_err(|e| EndpointError::io("cannot size", &path, e))?;
        }
        Ok(Partial {
            file,
            path,
            progress: None,
            resumed: HashMap::new(),
        })
    }

    /// Takes over a locked resumable file: the blocks its progress file lists that still
    /// read back with their CRC are kept.
    fn resume(
        file: File,
        path: PathBuf,
        size: u64,
        block_size: u64,
    ) -> Result<Partial, EndpointError> {
        let progress_path = progress_path(&path);
        let mut resumed = HashMap::new();
        let current = file.metadata().map(|m| m.len()).unwrap_or(0);
        if current == size
            && let Ok(log) = File::open(&progress_path)
        {
            for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                let Some((index, crc)) = line.split_once(' ') else {
                    continue;
                };
                let (Ok(index), Ok(crc)) = (index.parse::<u64>(), u64::from_str_radix(crc, 16))
                else {
                    continue;
                };
                let offset = index * block_size;
                if offset >= size {
                    continue;
                }
                let len = block_size.min(size - offset) as usize;
                let mut buf = vec![0u8; len];
                if file.read_exact_at(&mut buf, offset).is_ok()
                    && u64::from_le_bytes(crate::endpoint::crc64(&buf)) == crc
                {
                    resumed.insert(index, (offset, len));
                }
            }
        } else {
            file.set_len(0)
                .and_then(|()| file.set_len(size))
                .map_err(|e| EndpointError::io("cannot size", &path, e))?;
        }
        if !resumed.is_empty() {
            tracing::info!(
                "continuing {} from {} blocks written by an earlier run",
                path.display(),
                resumed.len()
            );
        }
        let progress = File::options()
            .create(true)
            .append(true)
            .open(&progress_path)
            .map_err(|e| EndpointError::io("cannot create", &progress_path, e))?;
        Ok(Partial {
            file,
            path,
            progress: Some(Mutex::new(progress)),
            resumed,
        })
    }

    /// Block `index`, if an earlier attempt wrote it intact.
    pub(super) fn resumed(&self, index: u64) -> Option<Bytes> {
        let (offset, len) = *self.resumed.get(&index)?;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset).ok()?;
        Some(Bytes::from(buf))
    }

    /// Notes that block `index` was written (to a resumable file's progress file). The
    /// data may not be durable yet; a resumed run checks each block's CRC.
    pub(super) fn record(&self, index: u64, data: &[u8]) {
        if let Some(progress) = &self.progress {
            let crc = u64::from_le_bytes(crate::endpoint::crc64(data));
            let mut log = progress.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(log, "{index} {crc:016x}");
        }
    }

    /// Whether the file survives a cancelled run for the next one to continue.
    pub(super) fn resumable(&self) -> bool {
        self.progress.is_some()
    }

    /// Removes the progress file (after the rename, or when giving up).
    pub(super) fn forget_progress(&self) {
        if self.progress.is_some() {
            let _ = fs::remove_file(progress_path(&self.path));
        }
    }
}

/// Removes the temporary files of earlier downloads of `name` (another version, or another
/// block size) that no process holds: this download supersedes them.
fn remove_others(parent: &Path, name: &str, ours: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let path = entry.path();
        let file_name = entry.file_name();
        let Some(other) = file_name.to_str() else {
            continue;
        };
        if path == ours
            || !other.starts_with(&prefix)
            || !other.ends_with(PARTIAL_SUFFIX)
            || other.trim_end_matches(PARTIAL_SUFFIX).ends_with(PROGRESS)
        {
            continue;
        }
        let rest = &other[prefix.len()..other.len() - PARTIAL_SUFFIX.len()];
        // `.NAME.TAG.blobsync-partial` of another tag, or `.NAME.PID-N…` of a dead process.
        let free = if rest.contains('-') {
            is_stale(&path, other)
        } else {
            File::open(&path).is_ok_and(|f| try_lock(&f))
        };
        if free {
            let _ = fs::remove_file(progress_path(&path));
            let _ = fs::remove_file(&path);
        }
    }
}

fn progress_path(partial: &Path) -> PathBuf {
    let name = partial
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = name.trim_end_matches(PARTIAL_SUFFIX);
    partial.with_file_name(format!("{stem}{PROGRESS}{PARTIAL_SUFFIX}"))
}

/// A short hash of the source version and layout, for the file name.
fn tag_hash(tag: &str, size: u64, block_size: u64) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{tag}\n{size}\n{block_size}"));
    hex::encode(&digest[..6])
}

/// Takes an exclusive, non-blocking advisory lock; released when the file is closed.
fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor this process owns.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Whether a temporary file found by a listing may be removed: one of a process that no
/// longer runs, or a resumable one nobody has locked or touched for a week (and the
/// progress file of a partial that is gone).
pub(super) fn is_stale(path: &Path, name: &str) -> bool {
    let stem = name.trim_end_matches(PARTIAL_SUFFIX);
    if let Some(partial) = stem.strip_suffix(PROGRESS) {
        return !path
            .with_file_name(format!("{partial}{PARTIAL_SUFFIX}"))
            .exists();
    }
    let pid = stem
        .rsplit('.')
        .next()
        .and_then(|s| s.split_once('-'))
        .and_then(|(p, _)| p.parse::<u32>().ok());
    if let Some(pid) = pid {
        return !Path::new("/proc").join(pid.to_string()).exists();
    }
    let old = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_AFTER);
    old && File::open(path).is_ok_and(|f| try_lock(&f))
}
