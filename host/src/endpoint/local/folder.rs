//! Reading one folder for the walk: its children, each classified (file, folder, link,
//! something else) and sorted in the listing's order. Safe to run on any thread: the
//! walk reads folders ahead of itself ([`super::read_ahead`]).

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::LocalOptions;
use super::partial::is_partial_dir;
use super::posix::{SYMLINK_KEY, status_metadata};
use crate::endpoint::{
    EndpointError, FOLDER_KEY, FileIdentity, Item, ListOrder, Listed, SkipKind, mtime_ns,
};
use crate::localfs::raw_names;

/// A (device, inode) pair: what makes a folder its own ancestor through a link.
pub(super) type DirKey = (u64, u64);

/// One child of a folder being walked.
pub(super) enum Child {
    File(Item),
    /// A folder; `key` is its relative path with a trailing `/`.
    Dir {
        key: String,
        mtime_ns: i64,
        dir_key: DirKey,
    },
    Other(Listed),
}

impl Child {
    pub(super) fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Child::File(item) => item.path.as_str().into(),
            Child::Dir { key, .. } => key.as_str().into(),
            Child::Other(listed) => listed.key(),
        }
    }
}

/// A folder as read: its children, sorted, and the temporary download folders in it
/// (to remove with `--clean-partials`, once the walk enters it).
pub(super) struct Folder {
    pub(super) children: Vec<Child>,
    pub(super) partials: Vec<PathBuf>,
}

/// How the folders of one tree are read.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    pub(super) root: PathBuf,
    pub(super) options: LocalOptions,
    pub(super) order: ListOrder,
}

impl Reading {
    /// The full path of `relative` (its names as the file system has them).
    pub(super) fn abs(&self, relative: &str) -> PathBuf {
        self.root
            .join(std::ffi::OsStr::from_bytes(&raw_names::to_os(relative)))
    }

    /// Reads and sorts one folder's children (`rel_dir` ends with `/`, or is empty).
    pub(super) fn read_dir(&self, rel_dir: &str) -> Result<Folder, EndpointError> {
        let abs = self.abs(rel_dir);
        let entries =
            fs::read_dir(&abs).map_err(|e| EndpointError::io("cannot read folder", &abs, e))?;
        let mut children = Vec::new();
        let mut partials = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    children.push(Child::Other(Listed::Error {
                        path: format!("{rel_dir}\u{fffd}"),
                        error: EndpointError::io("cannot read an entry of", &abs, e),
                    }));
                    continue;
                }
            };
            let os_name = entry.file_name();
            if is_partial_dir(&os_name) {
                // blobsync's temporary downloads: never data (removed when the walk enters
                // the folder, with --clean-partials: not when it is read ahead).
                if self.options.clean_partials {
                    partials.push(entry.path());
                }
                continue;
            }
            // A name that is not valid UTF-8 travels as rclone writes it (`‛FF`).
            let name = raw_names::from_os(os_name.as_bytes());
            let child = self.classify(entry.path(), format!("{rel_dir}{name}"));
            if let (true, Child::Dir { key, .. }) = (self.options.directory_stubs, &child) {
                // The folder as a stub too: it pairs with a stub blob, so empty folders
                // are synced.
                children.push(Child::File(Item {
                    metadata: vec![(FOLDER_KEY.to_string(), "true".to_string())],
                    ..Item::new(&key[..key.len() - 1], 0, 0)
                }));
            }
            children.push(child);
        }
        let order = self.order;
        children.sort_unstable_by(|a, b| order.cmp(&a.key(), &b.key()));
        Ok(Folder { children, partials })
    }

    /// What the entry at `abs` (relative path `path`) is.
    pub(super) fn classify(&self, abs: PathBuf, path: String) -> Child {
        let meta = match fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(e) => {
                return Child::Other(Listed::Error {
                    path,
                    error: EndpointError::io("cannot stat", &abs, e),
                });
            }
        };
        let meta = if meta.file_type().is_symlink() {
            if self.options.symlinks {
                // The link itself: its target is its content.
                let mut metadata = vec![(SYMLINK_KEY.to_string(), "true".to_string())];
                if self.options.posix {
                    metadata.extend(status_metadata(&meta));
                    metadata.sort();
                }
                return Child::File(Item {
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                    identity: Some(FileIdentity::of(&meta)),
                    metadata,
                    ..Item::new(path, 0, 0)
                });
            }
            if !self.options.follow_symlinks {
                return Child::Other(Listed::Skipped {
                    path,
                    reason: "symbolic link (use --follow-symlinks to follow links)".into(),
                    kind: SkipKind::Symlink,
                });
            }
            match fs::metadata(&abs) {
                Ok(m) => m,
                Err(e) => {
                    return Child::Other(Listed::Error {
                        path,
                        error: EndpointError::io("broken symbolic link", &abs, e),
                    });
                }
            }
        } else {
            meta
        };
        if meta.is_dir() {
            use std::os::unix::fs::MetadataExt;
            Child::Dir {
                key: format!("{path}/"),
                mtime_ns: mtime_ns(&meta),
                dir_key: (meta.dev(), meta.ino()),
            }
        } else if meta.is_file() {
            Child::File(Item {
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
                identity: Some(FileIdentity::of(&meta)),
                metadata: if self.options.posix {
                    status_metadata(&meta)
                } else {
                    Vec::new()
                },
                ..Item::new(path, 0, 0)
            })
        } else {
            Child::Other(Listed::Skipped {
                path,
                reason: "not a regular file (socket, FIFO or device)".into(),
                kind: SkipKind::Special,
            })
        }
    }
}
