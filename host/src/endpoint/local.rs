//! The local file system as a sync endpoint.
//!
//! The walk emits entries in path byte order (so it can be merged with a blob listing
//! without holding either side in memory): each directory is read, its children sorted
//! with directories keyed as `name/`, filtered as one batch, and visited depth-first.
//! Downloads are written to a hidden temporary file next to the target, synced, given
//! the source's modification time and renamed into place, so a crash never leaves a
//! partial file under the real name.

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::{
    Capabilities, CommitInfo, DeleteTarget, Endpoint, EndpointError, ErrorClass, Item, ListSink,
    Listed, Reader, Writer,
};
use crate::plugin::{EndpointKind, Entry, FilterChain, Side};

/// The suffix of blobsync's temporary download files; listings skip them.
pub const PARTIAL_SUFFIX: &str = ".blobsync-partial";

/// A local folder.
#[derive(Debug)]
pub struct LocalEndpoint {
    root: PathBuf,
    follow_symlinks: bool,
    clean_partials: bool,
}

impl LocalEndpoint {
    /// A folder endpoint at `root`. With `clean_partials`, the listing removes temporary
    /// files left by downloads whose process no longer runs (a crash or a kill).
    pub fn new(root: PathBuf, follow_symlinks: bool, clean_partials: bool) -> Self {
        LocalEndpoint {
            root,
            follow_symlinks,
            clean_partials,
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

fn ctime_ns(meta: &fs::Metadata) -> i64 {
    meta.ctime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.ctime_nsec())
}

fn io_error(class: ErrorClass, what: &str, path: &Path, e: &std::io::Error) -> EndpointError {
    let class = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorClass::NotFound,
        _ => class,
    };
    EndpointError::new(class, format!("{what} {}: {e}", path.display()))
}

/// One child of a directory being walked.
enum Child {
    File(Item),
    Dir {
        path: String,
        mtime_ns: i64,
        dir_key: (u64, u64),
    },
    Excluded {
        path: String,
        exclusion: crate::plugin::Exclusion,
    },
    Skipped {
        path: String,
        reason: String,
        symlink: bool,
    },
    Error {
        path: String,
        message: String,
    },
}

impl Child {
    fn key(&self) -> (&str, bool) {
        match self {
            Child::File(item) => (&item.entry.path, false),
            Child::Dir { path, .. } => (path, true),
            Child::Excluded { path, .. }
            | Child::Skipped { path, .. }
            | Child::Error { path, .. } => (path, false),
        }
    }
}

/// Compares two children by their merge keys (`name` or `name/`) without allocating.
fn key_order(a: &Child, b: &Child) -> std::cmp::Ordering {
    let (ap, ad) = a.key();
    let (bp, bd) = b.key();
    let a_iter = ap.bytes().chain(ad.then_some(b'/'));
    let b_iter = bp.bytes().chain(bd.then_some(b'/'));
    a_iter.cmp(b_iter)
}

struct Walker {
    root: PathBuf,
    follow_symlinks: bool,
    clean_partials: bool,
    side: Side,
    /// Only this relative path and what is below it ("" for everything).
    scope: String,
    filters: FilterChain,
    sink: ListSink,
}

/// A directory being visited: its sorted children and the position in them.
struct Frame {
    children: std::vec::IntoIter<Child>,
    /// The (device, inode) of every directory on the path from the root, for symlink loop
    /// detection.
    ancestors: Vec<(u64, u64)>,
}

impl Walker {
    /// Reads, sorts and filters one directory's children.
    fn read_dir(&mut self, rel_dir: &str) -> Result<Vec<Child>, EndpointError> {
        let abs = if rel_dir.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel_dir)
        };
        let entries = fs::read_dir(&abs)
            .map_err(|e| io_error(ErrorClass::Other, "cannot read directory", &abs, &e))?;
        let mut children = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    children.push(Child::Error {
                        path: format!("{rel_dir}\u{fffd}"),
                        message: format!("cannot read an entry of {}: {e}", abs.display()),
                    });
                    continue;
                }
            };
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str() else {
                children.push(Child::Error {
                    path: format!("{rel_dir}{}", os_name.to_string_lossy()),
                    message: format!(
                        "{}: the name is not valid UTF-8 and cannot be a blob name; rename it",
                        entry.path().display()
                    ),
                });
                continue;
            };
            if name.ends_with(PARTIAL_SUFFIX) && name.starts_with('.') {
                if self.clean_partials && !partial_owner_alive(name) {
                    match fs::remove_file(entry.path()) {
                        Ok(()) => tracing::info!(
                            "removed {} left by an interrupted download",
                            entry.path().display()
                        ),
                        Err(e) => tracing::debug!("cannot remove {}: {e}", entry.path().display()),
                    }
                }
                continue;
            }
            let path = format!("{rel_dir}{name}");
            children.push(self.classify(entry, path));
        }
        children.sort_unstable_by(key_order);
        if !self.filters.is_empty() {
            self.apply_filters(&mut children)?;
        }
        Ok(children)
    }

    fn classify(&self, entry: fs::DirEntry, path: String) -> Child {
        let file_type = match entry.file_type() {
            Ok(t) => t,
            Err(e) => {
                return Child::Error {
                    message: format!("cannot stat {}: {e}", entry.path().display()),
                    path,
                };
            }
        };
        let meta = if file_type.is_symlink() {
            if !self.follow_symlinks {
                return Child::Skipped {
                    path,
                    reason: "symbolic link (use --follow-symlinks to follow links)".into(),
                    symlink: true,
                };
            }
            match fs::metadata(entry.path()) {
                Ok(m) => m,
                Err(e) => {
                    return Child::Error {
                        message: format!("broken symbolic link {}: {e}", entry.path().display()),
                        path,
                    };
                }
            }
        } else {
            match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    return Child::Error {
                        message: format!("cannot stat {}: {e}", entry.path().display()),
                        path,
                    };
                }
            }
        };
        if meta.is_dir() {
            Child::Dir {
                path,
                mtime_ns: mtime_ns(&meta),
                dir_key: (meta.dev(), meta.ino()),
            }
        } else if meta.is_file() {
            Child::File(Item {
                entry: Entry {
                    path,
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                    md5: None,
                    is_dir: false,
                    endpoint: EndpointKind::Local,
                    metadata: Vec::new(),
                },
                etag: None,
                identity: Some((meta.dev(), meta.ino(), ctime_ns(&meta))),
            })
        } else {
            Child::Skipped {
                path,
                reason: "not a regular file (socket, FIFO or device)".into(),
                symlink: false,
            }
        }
    }

    /// Asks the filters about files and directories; excluded ones become markers.
    fn apply_filters(&mut self, children: &mut [Child]) -> Result<(), EndpointError> {
        let mut entries = Vec::with_capacity(children.len());
        let mut index = Vec::with_capacity(children.len());
        for (i, child) in children.iter_mut().enumerate() {
            match child {
                Child::File(item) => {
                    entries.push(std::mem::replace(&mut item.entry, placeholder_entry()));
                    index.push(i);
                }
                Child::Dir { path, mtime_ns, .. } => {
                    entries.push(Entry {
                        path: path.clone(),
                        size: 0,
                        mtime_ns: *mtime_ns,
                        md5: None,
                        is_dir: true,
                        endpoint: EndpointKind::Local,
                        metadata: Vec::new(),
                    });
                    index.push(i);
                }
                _ => {}
            }
        }
        let verdicts = self.filters.apply(self.side, &entries);
        // Put the entries back before handling a failure, so nothing is lost.
        let mut verdicts = verdicts?;
        for ((i, entry), verdict) in index.into_iter().zip(entries).zip(verdicts.drain(..)) {
            let child = &mut children[i];
            match verdict {
                None => {
                    if let Child::File(item) = child {
                        item.entry = entry;
                    }
                }
                Some(exclusion) => {
                    let path = match child {
                        Child::Dir { path, .. } => format!("{path}/"),
                        _ => entry.path,
                    };
                    *child = Child::Excluded { path, exclusion };
                }
            }
        }
        Ok(())
    }

    fn walk(&mut self) -> Result<(), EndpointError> {
        let root_meta = fs::metadata(&self.root).map_err(|e| match self.side {
            Side::Source => EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "the source folder {} cannot be read: {e}; nothing was copied or deleted",
                    self.root.display()
                ),
            ),
            Side::Destination => io_error(ErrorClass::Other, "cannot read", &self.root, &e),
        });
        let root_meta = match root_meta {
            Ok(m) => m,
            Err(e) if self.side == Side::Destination && e.class == ErrorClass::NotFound => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if !root_meta.is_dir() {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is not a folder; blobsync syncs folders",
                    self.root.display()
                ),
            ));
        }
        if !self.scope.is_empty() {
            return self.walk_scope(root_meta);
        }
        let root_children = match self.read_dir("") {
            Ok(c) => c,
            Err(e) if e.class == ErrorClass::Plugin => return Err(e),
            Err(e) => {
                return Err(EndpointError::new(
                    ErrorClass::Usage,
                    format!("{e}; nothing was copied or deleted"),
                ));
            }
        };
        self.walk_children(root_children, vec![(root_meta.dev(), root_meta.ino())])
    }

    /// Lists one path and what is below it: a directory is walked, a file is one entry,
    /// and a path that no longer exists lists nothing (so its blobs become deletions).
    fn walk_scope(&mut self, root_meta: fs::Metadata) -> Result<(), EndpointError> {
        let scope = self.scope.clone();
        let (parent, name) = match scope.rsplit_once('/') {
            Some((p, n)) => (format!("{p}/"), n.to_string()),
            None => (String::new(), scope.clone()),
        };
        let abs = self.root.join(&scope);
        let Ok(meta) = fs::symlink_metadata(&abs) else {
            return Ok(());
        };
        let is_dir = meta.is_dir() || (self.follow_symlinks && abs.is_dir());
        if is_dir {
            let children = self.read_dir(&format!("{scope}/"))?;
            return self.walk_children(
                children,
                vec![(root_meta.dev(), root_meta.ino()), (meta.dev(), meta.ino())],
            );
        }
        // A single file: read its directory for the entry (and the filters' verdict).
        let children = self.read_dir(&parent)?;
        let own = children
            .into_iter()
            .filter(|c| c.key().0 == format!("{parent}{name}"))
            .collect();
        self.walk_children(own, vec![(root_meta.dev(), root_meta.ino())])
    }

    fn walk_children(
        &mut self,
        children: Vec<Child>,
        ancestors: Vec<(u64, u64)>,
    ) -> Result<(), EndpointError> {
        let mut stack = vec![Frame {
            children: children.into_iter(),
            ancestors,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(child) = frame.children.next() else {
                stack.pop();
                continue;
            };
            let listed = match child {
                Child::File(item) => Listed::Item(item),
                Child::Excluded { path, exclusion } => Listed::Excluded { path, exclusion },
                Child::Skipped {
                    path,
                    reason,
                    symlink,
                } => Listed::Skipped {
                    path,
                    reason,
                    symlink,
                },
                Child::Error { path, message } => Listed::Error { path, message },
                Child::Dir { path, dir_key, .. } => {
                    if frame.ancestors.contains(&dir_key) {
                        Listed::Skipped {
                            path: format!("{path}/"),
                            reason: "symbolic link loop (the directory is its own ancestor)".into(),
                            symlink: true,
                        }
                    } else {
                        let dir = format!("{path}/");
                        let mut ancestors = frame.ancestors.clone();
                        ancestors.push(dir_key);
                        match self.read_dir(&dir) {
                            Ok(children) => {
                                stack.push(Frame {
                                    children: children.into_iter(),
                                    ancestors,
                                });
                                continue;
                            }
                            Err(e) if e.class == ErrorClass::Plugin => return Err(e),
                            Err(e) => Listed::Error {
                                path: dir,
                                message: e.message,
                            },
                        }
                    }
                }
            };
            if !self.sink.push(listed) {
                return Ok(());
            }
        }
        Ok(())
    }
}

fn placeholder_entry() -> Entry {
    Entry {
        path: String::new(),
        size: 0,
        mtime_ns: 0,
        md5: None,
        is_dir: false,
        endpoint: EndpointKind::Local,
        metadata: Vec::new(),
    }
}

#[async_trait::async_trait]
impl Endpoint for LocalEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::Local,
            listed_md5: false,
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        self.full_path(path).display().to_string()
    }

    fn start_listing(
        self: Arc<Self>,
        side: Side,
        scope: &str,
        filters: FilterChain,
        sink: ListSink,
        _runtime: tokio::runtime::Handle,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let walker = Walker {
            root: self.root.clone(),
            follow_symlinks: self.follow_symlinks,
            clean_partials: self.clean_partials,
            side,
            scope: scope.trim_matches('/').to_string(),
            filters,
            sink,
        };
        std::thread::Builder::new()
            .name("list-local".into())
            .spawn(move || {
                let mut walker = walker;
                let result = walker.walk();
                walker.sink.finish(result);
            })
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        // No I/O here: the first read opens the file and checks it is the listed version,
        // so a small file costs one trip to the blocking pool.
        Ok(Box::new(LocalReader {
            file: Arc::new(std::sync::Mutex::new(None)),
            path: Arc::new(self.full_path(&item.entry.path)),
            size: item.entry.size,
            mtime: item.entry.mtime_ns,
            verified_at_end: Arc::new(AtomicBool::new(false)),
        }))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&root)
                .map_err(|e| io_error(ErrorClass::Other, "cannot create folder", &root, &e))
        })
        .await
        .map_err(join_error)?
    }

    async fn open_writer(
        &self,
        path: &str,
        size: u64,
        block_size: u64,
    ) -> Result<Box<dyn Writer>, EndpointError> {
        check_local_name(path)?;
        Ok(Box::new(LocalWriter::new(
            self.full_path(path),
            size,
            block_size,
        )))
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let path = self.full_path(&target.path);
        let (size, mtime) = (target.size, target.mtime_ns);
        tokio::task::spawn_blocking(move || {
            // Only the version that was listed is deleted; one already gone is done.
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_error(ErrorClass::Other, "cannot delete", &path, &e)),
            };
            if meta.len() != size || mtime_ns(&meta) != mtime {
                return Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed since it was listed; it was not deleted",
                        path.display()
                    ),
                ));
            }
            fs::remove_file(&path)
                .map_err(|e| io_error(ErrorClass::Other, "cannot delete", &path, &e))
        })
        .await
        .map_err(join_error)?
    }
}

/// Refuses blob names that cannot be a path below the destination folder: empty segments,
/// `.` and `..` (which would escape the folder), NUL, and names longer than a file system
/// allows.
pub fn check_local_name(path: &str) -> Result<(), EndpointError> {
    let problem = if path.is_empty() {
        Some("it is empty".to_string())
    } else if path.contains('\0') {
        Some("it contains a NUL character".to_string())
    } else {
        path.split('/').find_map(|segment| match segment {
            "" => Some(
                "it has an empty path segment (`//`, or a leading or trailing `/`)".to_string(),
            ),
            "." | ".." => Some(format!(
                "it has a `{segment}` segment, which would leave the folder"
            )),
            s if s.len() > 255 => Some(format!(
                "a segment is {} bytes long; file names are at most 255",
                s.len()
            )),
            _ => None,
        })
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(EndpointError::new(
            ErrorClass::Usage,
            format!("the blob name {path:?} cannot be a local path: {why}; it was not downloaded"),
        )),
    }
}

/// For a temporary download file `.NAME.PID-N.blobsync-partial`: whether process PID
/// still runs (then the file may be in use and is left alone).
fn partial_owner_alive(name: &str) -> bool {
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

fn join_error(e: tokio::task::JoinError) -> EndpointError {
    EndpointError::new(
        ErrorClass::Other,
        format!("internal error: a file task failed: {e}"),
    )
}

struct LocalReader {
    file: Arc<std::sync::Mutex<Option<Arc<File>>>>,
    path: Arc<PathBuf>,
    size: u64,
    mtime: i64,
    /// Set when the read of the last block already confirmed the file is unchanged.
    verified_at_end: Arc<AtomicBool>,
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
        .map_err(|e| io_error(ErrorClass::Other, "cannot stat", path, &e))?;
    if meta.len() != size || mtime_ns(&meta) != mtime {
        return Err(EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed {when} (size {size} → {}); it was not copied and will be picked up \
                 by the next run",
                path.display(),
                meta.len()
            ),
        ));
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
                            .map_err(|e| io_error(ErrorClass::Other, "cannot open", &path, &e))?;
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
                } else {
                    io_error(ErrorClass::Other, "cannot read", &path, &e)
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

static PARTIAL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An open temporary download file and its path.
type TempFile = (Arc<File>, PathBuf);

/// A download in progress: a hidden temporary file beside the target, renamed over it
/// on commit. A single-block file is written, synced and renamed in one blocking call at
/// commit; a larger one is created on its first block and written block by block.
struct LocalWriter {
    target: PathBuf,
    size: u64,
    single: bool,
    pending: std::sync::Mutex<Option<Bytes>>,
    file: Arc<std::sync::Mutex<Option<TempFile>>>,
    done: Arc<AtomicBool>,
}

impl LocalWriter {
    fn new(target: PathBuf, size: u64, block_size: u64) -> LocalWriter {
        LocalWriter {
            target,
            size,
            single: size <= block_size,
            pending: std::sync::Mutex::new(None),
            file: Arc::new(std::sync::Mutex::new(None)),
            done: Arc::new(AtomicBool::new(false)),
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
    };
    let file = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Err(e) = fs::create_dir_all(parent) {
                return Err(match e.kind() {
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                        in_the_way()
                    }
                    _ => EndpointError::new(
                        ErrorClass::Other,
                        format!("cannot create folder {}: {e}", parent.display()),
                    ),
                });
            }
            open().map_err(|e| io_error(ErrorClass::Other, "cannot create", &tmp, &e))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Err(in_the_way()),
        Err(e) => return Err(io_error(ErrorClass::Other, "cannot create", &tmp, &e)),
    };
    if size > 0 {
        file.set_len(size)
            .map_err(|e| io_error(ErrorClass::Other, "cannot size", &tmp, &e))?;
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
        .map_err(|e| io_error(ErrorClass::Other, "cannot set the time of", tmp, &e))?;
    file.sync_all()
        .map_err(|e| io_error(ErrorClass::Other, "cannot sync", tmp, &e))?;
    if target.is_dir() {
        return Err(EndpointError::new(
            ErrorClass::Usage,
            format!(
                "{} is a folder; a file of the same name cannot be written",
                target.display()
            ),
        ));
    }
    fs::rename(tmp, target)
        .map_err(|e| io_error(ErrorClass::Other, "cannot rename into", target, &e))
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
        if self.single {
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
            return Ok(());
        }
        let (slot, target, size) = (self.file.clone(), self.target.clone(), self.size);
        tokio::task::spawn_blocking(move || {
            let (file, tmp) = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    let (f, t) = create_temp(&target, size)?;
                    *slot = Some((Arc::new(f), t));
                }
                let (f, t) = slot.as_ref().expect("created above");
                (f.clone(), t.clone())
            };
            file.write_all_at(&data, offset)
                .map_err(|e| io_error(ErrorClass::Other, "cannot write", &tmp, &e))
        })
        .await
        .map_err(join_error)?
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        tokio::task::spawn_blocking(move || {
            let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                // A single block (or an empty file): create, write and finish at once.
                let (f, t) = create_temp(&self.target, 0)?;
                *slot = Some((Arc::new(f), t));
                let data = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let (Some(data), Some((f, t))) = (data, slot.as_ref()) {
                    f.write_all_at(&data, 0)
                        .map_err(|e| io_error(ErrorClass::Other, "cannot write", t, &e))?;
                }
            }
            let (file, tmp) = slot.as_ref().expect("created above");
            finish_file(file, tmp, &self.target, info.mtime_ns)?;
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
