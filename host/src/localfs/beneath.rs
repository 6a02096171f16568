//! Paths resolved beneath a folder without following links.
//!
//! A sync writes, renames, re-times and deletes only below its destination folder. Every
//! operation therefore starts from the folder's own handle and resolves the rest of the
//! path one name at a time, refusing symbolic links: `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` where the kernel has it (one call), else an
//! `O_NOFOLLOW` walk from the handle. The last name of a path is then used with the
//! `*at` calls on its folder's handle (`renameat2`, `unlinkat`, `utimensat` with
//! `AT_SYMLINK_NOFOLLOW`), so a link swapped in at any point is never followed: the item
//! is refused instead ([`Refused::Link`]).

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::raw_names;

/// Why a path beneath the root cannot be resolved.
#[derive(Debug)]
pub enum Refused {
    /// A symbolic link where a folder of the path should be: nothing is done through it.
    /// Holds the relative path of the link.
    Link(String),
    /// A file where a folder of the path should be. Holds its relative path.
    NotAFolder(String),
    /// Any other failure.
    Io(std::io::Error),
}

impl Refused {
    fn io(e: Errno) -> Refused {
        Refused::Io(e.into())
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Link(at) => write!(
                f,
                "{at:?} is a symbolic link; nothing is written, moved or deleted through a link"
            ),
            Refused::NotAFolder(at) => write!(f, "{at:?} is a file, not a folder"),
            Refused::Io(e) => e.fmt(f),
        }
    }
}

/// True once `openat2` answered ENOSYS: the walk is used from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// A folder, held open, below which relative paths (`/`-separated, names in
/// [`raw_names`] form) are resolved.
#[derive(Debug)]
pub struct Beneath {
    root: PathBuf,
    handle: OnceLock<OwnedFd>,
}

/// A folder beneath the root, held open, and one name in it.
#[derive(Debug)]
pub struct Parent {
    /// The folder.
    pub dir: OwnedFd,
    /// The name in it (bytes, as the file system has them).
    pub name: Vec<u8>,
}

impl Parent {
    /// The entry's status, not following a link; `None` when nothing has the name.
    pub fn stat(&self) -> std::io::Result<Option<Stat>> {
        stat_at(self.dir.as_fd(), &self.name)
    }
}

impl Beneath {
    /// Resolves paths beneath `root` (opened on first use; it must exist by then).
    pub fn new(root: PathBuf) -> Beneath {
        Beneath {
            root,
            handle: OnceLock::new(),
        }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root's handle, opened (following links: the user named it) on first use.
    pub fn handle(&self) -> std::io::Result<BorrowedFd<'_>> {
        self.open_root(false)
    }

    /// The root's handle; with `create`, a missing root is created first.
    fn open_root(&self, create: bool) -> std::io::Result<BorrowedFd<'_>> {
        if let Some(fd) = self.handle.get() {
            return Ok(fd.as_fd());
        }
        let open = || {
            rustix::fs::open(
                &self.root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        let fd = match open() {
            Err(Errno::NOENT) if create => {
                std::fs::create_dir_all(&self.root)?;
                open()?
            }
            other => other?,
        };
        Ok(self.handle.get_or_init(|| fd).as_fd())
    }

    /// The folder at `dir` (relative; empty for the root), created with its missing
    /// parents when `create`.
    pub fn folder(&self, dir: &str, create: bool) -> Result<OwnedFd, Refused> {
        let root = self.open_root(create).map_err(Refused::Io)?;
        let dir = dir.trim_matches('/');
        if dir.is_empty() {
            return rustix::io::fcntl_dupfd_cloexec(root, 0).map_err(Refused::io);
        }
        let bytes = raw_names::to_os(dir);
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match open_beneath(root, &bytes) {
                Ok(fd) => return Ok(fd),
                Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                // Missing folders are made by the walk; links and files in the way are
                // named by it; a rename racing the lookup (EAGAIN) is walked too.
                Err(_) => {}
            }
        }
        walk(root, &bytes, create)
    }

    /// The folder holding `path` and its last name; the folders are created when
    /// `create`.
    pub fn parent(&self, path: &str, create: bool) -> Result<Parent, Refused> {
        let path = path.trim_end_matches('/');
        let (dir, name) = match path.rfind('/') {
            Some(at) => (&path[..at], &path[at + 1..]),
            None => ("", path),
        };
        Ok(Parent {
            dir: self.folder(dir, create)?,
            name: raw_names::to_os(name).into_owned(),
        })
    }
}

/// `openat2` of `path` below `root`, refusing every link.
fn open_beneath(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Errno> {
    rustix::fs::openat2(
        root,
        OsStr::from_bytes(path),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Opens `path` below `root` one name at a time with `O_NOFOLLOW`, making missing
/// folders when `create`.
fn walk(root: BorrowedFd<'_>, path: &[u8], create: bool) -> Result<OwnedFd, Refused> {
    let mut current: Option<OwnedFd> = None;
    let mut done = 0;
    for name in path.split(|b| *b == b'/') {
        let here = current.as_ref().map_or(root, |fd| fd.as_fd());
        let so_far = || String::from_utf8_lossy(&path[..done + name.len()]).into_owned();
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Refused::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{:?} is not a plain relative path",
                    String::from_utf8_lossy(path)
                ),
            )));
        }
        let name_os = OsStr::from_bytes(name);
        let open = || {
            rustix::fs::openat(
                here,
                name_os,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        let fd = match open() {
            Ok(fd) => fd,
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(here, name_os, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(Refused::io(e)),
                }
                open().map_err(|e| classify(here, name, e, so_far()))?
            }
            Err(e) => return Err(classify(here, name, e, so_far())),
        };
        done += name.len() + 1;
        current = Some(fd);
    }
    match current {
        Some(fd) => Ok(fd),
        None => rustix::io::fcntl_dupfd_cloexec(root, 0).map_err(Refused::io),
    }
}

/// What a failed `O_NOFOLLOW | O_DIRECTORY` open of `name` in `dir` ran into.
fn classify(dir: BorrowedFd<'_>, name: &[u8], e: Errno, at: String) -> Refused {
    if !matches!(e, Errno::LOOP | Errno::NOTDIR) {
        return Refused::io(e);
    }
    match stat_at(dir, name) {
        Ok(Some(st)) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
            Refused::Link(at)
        }
        Ok(Some(_)) => Refused::NotAFolder(at),
        Ok(None) => Refused::io(Errno::NOENT),
        Err(e) => Refused::Io(e),
    }
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; `None` when nothing has the name.
pub fn stat_at(dir: BorrowedFd<'_>, name: &[u8]) -> std::io::Result<Option<Stat>> {
    match rustix::fs::statat(dir, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// True for a symbolic link's status.
pub fn is_link(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Symlink
}

/// True for a folder's status.
pub fn is_folder(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

/// A status's modification time in ns.
pub fn mtime_ns(st: &Stat) -> i64 {
    st.st_mtime
        .saturating_mul(1_000_000_000)
        .saturating_add(st.st_mtime_nsec as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("lnk")).unwrap();
        std::os::unix::fs::symlink("../outside", root.join("a/rel")).unwrap();
        std::fs::write(root.join("file"), b"x").unwrap();
        (dir, root)
    }

    fn both_ways(test: impl Fn()) {
        test();
        NO_OPENAT2.store(true, Ordering::Relaxed);
        test();
        NO_OPENAT2.store(false, Ordering::Relaxed);
    }

    #[test]
    fn folders_resolve_beneath_the_root_and_links_are_refused() {
        both_ways(|| {
            let (dir, root) = tree();
            let b = Beneath::new(root.clone());
            assert!(b.folder("a/b", false).is_ok());
            assert!(b.folder("", false).is_ok());
            for (path, at) in [("lnk", "lnk"), ("lnk/x", "lnk"), ("a/rel/y", "a/rel")] {
                match b.folder(path, true) {
                    Err(Refused::Link(link)) => assert_eq!(link, at, "{path}"),
                    other => panic!("{path}: {other:?}"),
                }
            }
            assert!(matches!(b.folder("file/x", true), Err(Refused::NotAFolder(p)) if p == "file"));
            assert!(
                std::fs::read_dir(dir.path().join("outside"))
                    .unwrap()
                    .next()
                    .is_none(),
                "nothing was made outside"
            );
            let p = b.parent("new/deep/f.txt", true).unwrap();
            assert_eq!(p.name, b"f.txt");
            assert!(root.join("new/deep").is_dir());
            assert!(matches!(b.folder("..", true), Err(Refused::Io(_))));
        });
    }

    #[test]
    fn names_that_are_not_utf8_resolve_to_their_bytes() {
        let (_dir, root) = tree();
        let b = Beneath::new(root.clone());
        let p = b.parent("bad\u{201B}FF/x", true).unwrap();
        assert_eq!(p.name, b"x");
        assert!(root.join(OsStr::from_bytes(b"bad\xff")).is_dir());
    }
}
