//! Temporary download files. A download is written to a file in the `.blobsync-partial`
//! folder at the top of the destination (of the target's file system, where a folder
//! below is another mount) and renamed to its real name at the end, so a crash never
//! leaves a partial file under the real name — and no file of the user's can be mistaken
//! for one: only what is in that folder is ever removed as a leftover.
//!
//! When the source version is known (a blob's ETag), the file is named after the target
//! and the version, and locked while written; a progress file beside it lists each block
//! written with its CRC-64. A download killed half way is then continued by the next run
//! from the blocks that read back intact. Without a version tag (or when another process
//! holds the lock) the name is unique to this process.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::endpoint::{EndpointError, ErrorClass};
use crate::localfs::Beneath;

/// The folder holding temporary download files; listings never list it.
pub(crate) const PARTIAL_DIR: &str = ".blobsync-partial";

/// The suffix of progress files.
const PROGRESS: &str = ".progress";

/// Resumable partial files nobody touched for this long are removed by listings.
const STALE_AFTER: Duration = Duration::from_secs(7 * 86_400);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The `.blobsync-partial` folders of one destination, one per file system below it.
#[derive(Debug)]
pub(crate) struct PartialDirs {
    beneath: Arc<Beneath>,
    by_device: Mutex<HashMap<u64, Arc<OwnedFd>>>,
}

impl PartialDirs {
    pub(crate) fn new(beneath: Arc<Beneath>) -> PartialDirs {
        PartialDirs {
            beneath,
            by_device: Mutex::default(),
        }
    }

    /// The partial folder for a target in the folder `parent` (at relative `dir`): at the
    /// top of `parent`'s file system within the destination.
    fn for_parent(&self, parent: &OwnedFd, dir: &str) -> Result<Arc<OwnedFd>, EndpointError> {
        let io = |what: &str, e: std::io::Error| {
            EndpointError::io(what, &self.beneath.root().join(PARTIAL_DIR), e)
        };
        let device = rustix::fs::fstat(parent)
            .map_err(|e| io("cannot stat the folder of", e.into()))?
            .st_dev;
        if let Some(found) = lock(&self.by_device).get(&device) {
            return Ok(found.clone());
        }
        // The shallowest folder on the path with the same device: the root, unless a
        // folder below it is another mount.
        let mut top = String::new();
        for (i, _) in std::iter::once((0, "")).chain(dir.match_indices('/')) {
            let candidate = if i == 0 { "" } else { &dir[..i] };
            if self.device_of(candidate) == Some(device) {
                top = candidate.to_string();
                break;
            }
            top = dir.to_string();
        }
        let folder = self
            .beneath
            .folder(&top, false)
            .map_err(|r| EndpointError::new(ErrorClass::Other, r.to_string()))?;
        let created = rustix::fs::mkdirat(&folder, PARTIAL_DIR, Mode::from_raw_mode(0o700));
        if let Err(e) = created
            && e != Errno::EXIST
        {
            return Err(io("cannot create", e.into()));
        }
        let opened = rustix::fs::openat(
            &folder,
            PARTIAL_DIR,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io("cannot open (it must be a folder, not a link)", e.into()))?;
        let owner = rustix::fs::fstat(&opened)
            .map_err(|e| io("cannot stat", e.into()))?
            .st_uid;
        // SAFETY: geteuid has no preconditions.
        if owner != unsafe { libc::geteuid() } {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} belongs to another user; blobsync keeps its temporary downloads there, \
                     so remove it or run as its owner",
                    self.beneath.root().join(&top).join(PARTIAL_DIR).display()
                ),
            ));
        }
        let opened = Arc::new(opened);
        lock(&self.by_device).insert(device, opened.clone());
        Ok(opened)
    }

    /// Removes the partial folders that are empty (those holding a download to continue
    /// stay for the next run).
    pub(crate) fn remove_empty(&self) {
        let mut dirs = lock(&self.by_device);
        for (_, dir) in dirs.drain() {
            // Through its parent: `..` of the folder's own handle.
            let parent = rustix::fs::openat(
                &*dir,
                "..",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            if let Ok(parent) = parent {
                let _ = rustix::fs::unlinkat(&parent, PARTIAL_DIR, AtFlags::REMOVEDIR);
            }
        }
    }

    /// Forgets a partial folder that was removed.
    fn forget(&self, folder: &Arc<OwnedFd>) {
        lock(&self.by_device).retain(|_, f| !Arc::ptr_eq(f, folder));
    }

    fn device_of(&self, dir: &str) -> Option<u64> {
        let fd = self.beneath.folder(dir, false).ok()?;
        rustix::fs::fstat(&fd).ok().map(|st| st.st_dev)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An open temporary file for one download.
pub(super) struct Partial {
    pub(super) file: File,
    /// The partial folder and the file's name in it.
    pub(super) dir: Arc<OwnedFd>,
    pub(super) name: String,
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
    /// Creates (or, for the same source version, reopens) the temporary file for the
    /// target `path`, whose folder is `parent` (at relative `dir`).
    pub(super) fn open(
        dirs: &PartialDirs,
        parent: &OwnedFd,
        dir: &str,
        path: &str,
        size: u64,
        resume: Option<ResumeKey<'_>>,
    ) -> Result<Partial, EndpointError> {
        let folder = dirs.for_parent(parent, dir)?;
        match Partial::open_in(folder.clone(), path, size, resume.as_ref()) {
            // Another run on the same folder removed the (empty) partial folder as it
            // finished: make it again.
            Err(e) if e.class() == ErrorClass::NotFound => {
                dirs.forget(&folder);
                Partial::open_in(dirs.for_parent(parent, dir)?, path, size, resume.as_ref())
            }
            other => other,
        }
    }

    fn open_in(
        folder: Arc<OwnedFd>,
        path: &str,
        size: u64,
        resume: Option<&ResumeKey<'_>>,
    ) -> Result<Partial, EndpointError> {
        let key = short_hash(path);
        if let Some(resume) = resume {
            let name = format!(
                "{key}.{}",
                short_hash(&format!("{}\n{size}\n{}", resume.tag, resume.block_size))
            );
            // Another blobsync downloading the same version holds the lock: write a file of
            // our own instead.
            if let Some(file) = open_own(&folder, &name, false)?.filter(try_lock) {
                remove_others(&folder, &key, &name);
                if let Some(resumed) =
                    Partial::resume(file, folder.clone(), &name, size, resume.block_size)?
                {
                    return Ok(resumed);
                }
                // A file system that cannot cut the old file short: start a fresh one.
                let _ = rustix::fs::unlinkat(&*folder, name.as_str(), AtFlags::empty());
            }
        }
        let name = format!(
            "{key}.{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let file = open_own(&folder, &name, true)?.ok_or_else(|| {
            EndpointError::new(
                ErrorClass::Other,
                format!("cannot create {name} in {PARTIAL_DIR}"),
            )
        })?;
        // A file written in one piece is not resumable, but an earlier run may have left
        // one of blocks for the same path (with other block sizes): it is of no use now.
        // (Only a file larger than the smallest block can have been written in blocks.)
        if size > MIN_RESUMABLE {
            remove_others(&folder, &key, &name);
        }
        // Sizing up front only helps the file system place the file; some cannot
        // (fusefat refuses ftruncate), and writes at offsets grow the file anyway.
        if size > 0
            && let Err(e) = file.set_len(size)
        {
            tracing::debug!("cannot size {name} in advance: {e}");
        }
        Ok(Partial {
            file,
            dir: folder,
            name,
            progress: None,
            resumed: HashMap::new(),
        })
    }

    /// Takes over a locked resumable file: the blocks its progress file lists that still
    /// read back with their CRC are kept. `None` when a stale file cannot be cut short.
    fn resume(
        file: File,
        dir: Arc<OwnedFd>,
        name: &str,
        size: u64,
        block_size: u64,
    ) -> Result<Option<Partial>, EndpointError> {
        let name = name.to_string();
        let progress_name = format!("{name}{PROGRESS}");
        let mut resumed = HashMap::new();
        let current = file.metadata().map(|m| m.len()).unwrap_or(0);
        let log = open_in(&dir, &progress_name, OFlags::RDONLY).ok();
        match log {
            Some(log) if current == size => {
                for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                    if let Some((index, range)) = verified(&file, &line, size, block_size) {
                        resumed.insert(index, range);
                    }
                }
            }
            _ => {
                if file.set_len(0).is_err() {
                    return Ok(None);
                }
                let _ = file.set_len(size);
            }
        }
        if !resumed.is_empty() {
            tracing::info!(
                "continuing {name} from {} blocks written by an earlier run",
                resumed.len()
            );
        }
        let progress = open_in(
            &dir,
            &progress_name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND,
        )
        .map_err(|e| EndpointError::io("cannot create", std::path::Path::new(&progress_name), e))?;
        Ok(Some(Partial {
            file,
            dir,
            name,
            progress: Some(Mutex::new(progress)),
            resumed,
        }))
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
            let mut log = lock(progress);
            let _ = writeln!(log, "{index} {crc:016x}");
        }
    }

    /// Whether the file survives a cancelled run for the next one to continue.
    pub(super) fn resumable(&self) -> bool {
        self.progress.is_some()
    }

    /// Removes the temporary file and its progress file.
    pub(super) fn remove(&self) {
        let _ = rustix::fs::unlinkat(&*self.dir, self.name.as_str(), AtFlags::empty());
        self.forget_progress();
    }

    /// Removes the progress file (after the rename, or when giving up).
    pub(super) fn forget_progress(&self) {
        if self.progress.is_some() {
            let name = format!("{}{PROGRESS}", self.name);
            let _ = rustix::fs::unlinkat(&*self.dir, name.as_str(), AtFlags::empty());
        }
    }
}

/// A progress line's block, if it still reads back with its CRC.
fn verified(file: &File, line: &str, size: u64, block_size: u64) -> Option<(u64, (u64, usize))> {
    let (index, crc) = line.split_once(' ')?;
    let (index, crc) = (
        index.parse::<u64>().ok()?,
        u64::from_str_radix(crc, 16).ok()?,
    );
    let offset = index.checked_mul(block_size)?;
    if offset >= size {
        return None;
    }
    let len = block_size.min(size - offset) as usize;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset).ok()?;
    (u64::from_le_bytes(crate::endpoint::crc64(&buf)) == crc).then_some((index, (offset, len)))
}

/// Opens (or with `new`, creates exclusively) a temporary file of ours: a regular file,
/// not a link, with one name. One that is not (planted by someone else) is replaced.
fn open_own(dir: &OwnedFd, name: &str, new: bool) -> Result<Option<File>, EndpointError> {
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | if new { OFlags::EXCL } else { OFlags::empty() };
    let open = || open_in(dir, name, flags);
    let file = match open() {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) && new => return Ok(None),
        Err(_) if !new => {
            let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
            open().map_err(|e| EndpointError::io("cannot create", std::path::Path::new(name), e))?
        }
        Err(e) => {
            return Err(EndpointError::io(
                "cannot create",
                std::path::Path::new(name),
                e,
            ));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| EndpointError::io("cannot stat", std::path::Path::new(name), e))?;
    if !meta.is_file() || meta.nlink() != 1 {
        let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
        return if new {
            Ok(None)
        } else {
            open_own(dir, name, true)
        };
    }
    Ok(Some(file))
}

fn open_in(dir: &OwnedFd, name: &str, flags: OFlags) -> std::io::Result<File> {
    rustix::fs::openat(
        dir,
        name,
        flags | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map(File::from)
    .map_err(Into::into)
}

/// Removes the temporary files of earlier downloads of the same target (another version,
/// or another block size) that no process holds: this download supersedes them.
/// The smallest block size (`--block-size-mb`): a file no larger was never written in
/// blocks.
const MIN_RESUMABLE: u64 = 64 << 10;

fn remove_others(dir: &OwnedFd, key: &str, ours: &str) {
    let prefix = format!("{key}.");
    for name in names_in(dir) {
        if name == ours || !name.starts_with(&prefix) || name.ends_with(PROGRESS) {
            continue;
        }
        // `KEY.TAG` of another version, or `KEY.PID-N` of a process that is gone.
        let free = if name[prefix.len()..].contains('-') {
            is_stale(dir, &name)
        } else {
            is_free(dir, &name)
        };
        if free {
            remove_pair(dir, &name);
        }
    }
}

fn remove_pair(dir: &OwnedFd, name: &str) {
    let _ = rustix::fs::unlinkat(dir, format!("{name}{PROGRESS}").as_str(), AtFlags::empty());
    let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
}

/// The names in a folder (UTF-8 ones: blobsync names its files so).
fn names_in(dir: &OwnedFd) -> Vec<String> {
    let Ok(fd) = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    let Ok(entries) = rustix::fs::Dir::read_from(&fd) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| n != "." && n != "..")
        .collect()
}

/// A short hash naming a target (or a version) in the partial folder.
fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Takes an exclusive, non-blocking advisory lock; released when the file is closed.
fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor this process owns.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// True if nobody holds the file's lock.
fn is_free(dir: &OwnedFd, name: &str) -> bool {
    open_in(dir, name, OFlags::RDONLY | OFlags::NOFOLLOW).is_ok_and(|f| try_lock(&f))
}

/// Whether a file in a partial folder may be removed: one of a process that no longer
/// runs, a resumable one nobody has locked or touched for a week, or the progress file of
/// a partial that is gone.
fn is_stale(dir: &OwnedFd, name: &str) -> bool {
    if let Some(partial) = name.strip_suffix(PROGRESS) {
        return rustix::fs::statat(dir, partial, AtFlags::SYMLINK_NOFOLLOW).is_err();
    }
    let pid = name
        .rsplit('.')
        .next()
        .and_then(|s| s.split_once('-'))
        .and_then(|(p, _)| p.parse::<u32>().ok());
    if let Some(pid) = pid {
        return !std::path::Path::new("/proc").join(pid.to_string()).exists();
    }
    let old = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| SystemTime::UNIX_EPOCH + Duration::from_secs(st.st_mtime.max(0) as u64))
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_AFTER);
    old && is_free(dir, name)
}

/// Removes what crashed or killed downloads left in the partial folder `dir` (a
/// `.blobsync-partial` a listing came across).
pub(super) fn clean(dir: &std::path::Path) {
    let Ok(fd) = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    for name in names_in(&fd) {
        if is_stale(&fd, &name) {
            remove_pair(&fd, &name);
            tracing::info!(
                "removed {} left by an interrupted download",
                dir.join(&name).display()
            );
        }
    }
}

/// True for a name the walk never lists: the partial folder.
pub(crate) fn is_partial_dir(name: &OsStr) -> bool {
    name.as_bytes() == PARTIAL_DIR.as_bytes()
}
