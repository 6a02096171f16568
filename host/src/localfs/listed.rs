//! Opening the file a listing named, and only that file: beneath the root without
//! following links (unless links were followed when listing), and then checked to be the
//! listed version — the same device, inode, size and time. An upload, a plugin's
//! `read-content` and a hash all read through this, so a file swapped for a link (to
//! `/etc/shadow`, say) between the listing and the read is refused, never read.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::beneath::{Beneath, Refused};
use super::raw_names;

/// What the listing recorded of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: i64,
    /// Device and inode, when the listing recorded them.
    pub identity: Option<(u64, u64)>,
}

/// Why the listed file could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// A link in the path, or the file itself is one (and links are not followed).
    Refused(Refused),
    /// It is no longer the listed file; says what differs.
    Changed(String),
    /// Another failure.
    Io(std::io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Refused(r) => r.fmt(f),
            OpenError::Changed(what) => write!(f, "it changed since it was listed ({what})"),
            OpenError::Io(e) => e.fmt(f),
        }
    }
}

/// Opens `path` (relative, below `beneath`'s root) for reading if it is still the file
/// `listed` describes. With `follow_links` (the listing followed them), links in the path
/// are followed, and the identity check alone guards the read.
pub fn open_listed(
    beneath: &Beneath,
    path: &str,
    listed: &Listed,
    follow_links: bool,
) -> Result<File, OpenError> {
    let file = if follow_links {
        let full = beneath
            .root()
            .join(std::ffi::OsStr::from_bytes(&raw_names::to_os(path)));
        File::open(full).map_err(OpenError::Io)?
    } else {
        let parent = beneath.parent(path, false).map_err(|r| match r {
            Refused::Io(e) => OpenError::Io(e),
            other => OpenError::Refused(other),
        })?;
        let fd = rustix::fs::openat(
            &parent.dir,
            std::ffi::OsStr::from_bytes(&parent.name),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::LOOP => OpenError::Refused(Refused::Link(path.to_string())),
            e => OpenError::Io(e.into()),
        })?;
        File::from(fd)
    };
    check(&file, listed)?;
    Ok(file)
}

/// True on file systems whose inode numbers name a lookup rather than a file (FUSE
/// without `use_ino`, such as exfat-fuse): there only size and time identify a version.
fn unstable_inodes(file: &File) -> bool {
    const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;
    rustix::fs::fstatfs(file).is_ok_and(|st| st.f_type == FUSE_SUPER_MAGIC)
}

/// Fails unless the open `file` is the listed regular file.
pub fn check(file: &File, listed: &Listed) -> Result<(), OpenError> {
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(OpenError::Changed("it is not a regular file".into()));
    }
    if let Some((dev, ino)) = listed.identity
        && (meta.dev(), meta.ino()) != (dev, ino)
        && !unstable_inodes(file)
    {
        return Err(OpenError::Changed("it is another file".into()));
    }
    let mtime = meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec();
    if meta.len() != listed.size || mtime != listed.mtime_ns {
        return Err(OpenError::Changed(format!(
            "size {} → {}",
            listed.size,
            meta.len()
        )));
    }
    Ok(())
}
