//! The local walk: depth-first, each folder's children sorted in the requested order
//! (folders keyed as `name/`), so the stream can be merged with a blob listing without
//! holding either side in memory. A batch ends after each folder, and a folder the
//! consumer skips is never read.

use std::fs;
use std::path::PathBuf;

use std::os::unix::ffi::OsStrExt;

use super::LocalOptions;
use super::partial::{self, is_partial_dir};
use super::posix::{SYMLINK_KEY, status_metadata};
use crate::endpoint::{
    Dir, EndpointError, ErrorClass, FOLDER_KEY, FileIdentity, Item, ListOrder, Listed, Lister,
    SkipKind, mtime_ns,
};
use crate::localfs::raw_names;

/// A (device, inode) pair: what makes a folder its own ancestor through a link.
type DirKey = (u64, u64);

/// One child of a folder being walked.
enum Child {
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
    fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Child::File(item) => item.path.as_str().into(),
            Child::Dir { key, .. } => key.as_str().into(),
            Child::Other(listed) => listed.key(),
        }
    }
}

/// A folder being visited: its sorted children and the folders above it.
struct Frame {
    children: std::vec::IntoIter<Child>,
    ancestors: Vec<DirKey>,
}

/// Where the walk is.
enum State {
    /// Not started: the root is checked on the first call.
    Start,
    /// Listing scopes: the current one's folders still to offer (outermost last), then
    /// the scope itself; the rest wait in `LocalLister::scopes`.
    Scope { scope: String, above: Vec<String> },
    /// Walking (the whole tree, or what is below the current scope).
    Walk,
    /// Finished.
    Done,
}

pub(super) struct LocalLister {
    root: PathBuf,
    options: LocalOptions,
    order: ListOrder,
    /// Scopes still to list, in order.
    scopes: std::collections::VecDeque<String>,
    /// Folders offered above scopes (offered once) and those the consumer skipped.
    offered: std::collections::HashSet<String>,
    skipped: Vec<String>,
    state: State,
    stack: Vec<Frame>,
    /// The folder emitted last, entered on the next call unless skipped.
    enter: Option<(String, Vec<DirKey>)>,
    root_key: DirKey,
}

impl LocalLister {
    pub(super) fn new(
        root: PathBuf,
        options: LocalOptions,
        order: ListOrder,
        scopes: &[String],
    ) -> Self {
        LocalLister {
            root,
            options,
            order,
            scopes: scopes
                .iter()
                .map(|s| s.trim_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            offered: Default::default(),
            skipped: Vec::new(),
            state: State::Start,
            stack: Vec::new(),
            enter: None,
            root_key: (0, 0),
        }
    }

    /// The full path of `relative` (its names as the file system has them).
    fn abs(&self, relative: &str) -> PathBuf {
        self.root
            .join(std::ffi::OsStr::from_bytes(&raw_names::to_os(relative)))
    }

    /// Checks the root; `Err` ends the listing.
    fn start(&mut self) -> Result<(), EndpointError> {
        let meta = fs::metadata(&self.root).map_err(|e| {
            EndpointError::io("cannot read the folder", &self.root, e)
                .explain("; nothing was copied or deleted")
        })?;
        if !meta.is_dir() {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is not a folder; blobsync syncs folders",
                    self.root.display()
                ),
            ));
        }
        self.root_key = (
            std::os::unix::fs::MetadataExt::dev(&meta),
            std::os::unix::fs::MetadataExt::ino(&meta),
        );
        if self.scopes.is_empty() {
            let children = self.read_dir("").map_err(|e| {
                e.reclassify(ErrorClass::Usage)
                    .explain("; nothing was copied or deleted")
            })?;
            self.stack.push(Frame {
                children: children.into_iter(),
                ancestors: vec![self.root_key],
            });
            self.state = State::Walk;
        } else {
            self.next_scope();
        }
        Ok(())
    }

    /// Moves to the next scope (its folders not yet offered first), or finishes.
    fn next_scope(&mut self) {
        while let Some(scope) = self.scopes.pop_front() {
            if self.below_skipped(&scope) {
                continue;
            }
            let above: Vec<String> = scope
                .match_indices('/')
                .map(|(i, _)| scope[..i].to_string())
                .filter(|dir| !self.offered.contains(dir))
                .rev()
                .collect();
            self.state = State::Scope { scope, above };
            return;
        }
        self.state = State::Done;
    }

    fn below_skipped(&self, path: &str) -> bool {
        self.skipped
            .iter()
            .any(|d| path == d || path.starts_with(&format!("{d}/")))
    }

    /// Offers the next folder above the scope, or lists the scope itself. True when the
    /// batch must end here (a folder was offered).
    fn scope_step(&mut self, batch: &mut Vec<Listed>) -> bool {
        let State::Scope { scope, above } = &mut self.state else {
            return false;
        };
        if let Some(dir) = above.pop() {
            let mtime = fs::metadata(self.abs(&dir))
                .map(|m| mtime_ns(&m))
                .unwrap_or(0);
            self.offered.insert(dir.clone());
            batch.push(Listed::Dir(Dir {
                path: dir,
                mtime_ns: mtime,
            }));
            return true;
        }
        let scope = std::mem::take(scope);
        self.state = State::Walk;
        let abs = self.abs(&scope);
        if fs::symlink_metadata(&abs).is_err() {
            // Gone: nothing is listed, so what is at the other side becomes a delete.
            return false;
        }
        match self.classify(abs, scope) {
            Child::Dir {
                key,
                mtime_ns,
                dir_key,
            } => {
                batch.push(Listed::Dir(Dir {
                    path: key[..key.len() - 1].to_string(),
                    mtime_ns,
                }));
                self.enter = Some((key, vec![self.root_key, dir_key]));
                true
            }
            Child::File(item) => {
                batch.push(Listed::File(item));
                false
            }
            Child::Other(listed) => {
                batch.push(listed);
                false
            }
        }
    }

    /// Reads and sorts one folder's children (`rel_dir` ends with `/`, or is empty).
    fn read_dir(&self, rel_dir: &str) -> Result<Vec<Child>, EndpointError> {
        let abs = self.abs(rel_dir);
        let entries =
            fs::read_dir(&abs).map_err(|e| EndpointError::io("cannot read folder", &abs, e))?;
        let mut children = Vec::new();
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
                // blobsync's temporary downloads: never data.
                if self.options.clean_partials {
                    partial::clean(&entry.path());
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
        Ok(children)
    }

    /// What the entry at `abs` (relative path `path`) is.
    fn classify(&self, abs: PathBuf, path: String) -> Child {
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

    /// Reads the folder emitted last, unless it was skipped.
    fn enter_pending(&mut self, batch: &mut Vec<Listed>) {
        let Some((key, ancestors)) = self.enter.take() else {
            return;
        };
        match self.read_dir(&key) {
            Ok(children) => self.stack.push(Frame {
                children: children.into_iter(),
                ancestors,
            }),
            Err(error) => batch.push(Listed::Error { path: key, error }),
        }
    }
}

impl Lister for LocalLister {
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>> {
        if let State::Start = self.state
            && let Err(e) = self.start()
        {
            self.state = State::Done;
            return Some(Err(e));
        }
        let mut batch = Vec::new();
        loop {
            if matches!(self.state, State::Scope { .. }) && self.scope_step(&mut batch) {
                return Some(Ok(batch));
            }
            self.enter_pending(&mut batch);
            let Some(frame) = self.stack.last_mut() else {
                // This scope (or the tree) is done: on to the next scope, if any.
                if matches!(self.state, State::Walk) && !self.scopes.is_empty() {
                    self.next_scope();
                    continue;
                }
                self.state = State::Done;
                return (!batch.is_empty()).then_some(Ok(batch));
            };
            let Some(child) = frame.children.next() else {
                self.stack.pop();
                continue;
            };
            match child {
                Child::File(item) => batch.push(Listed::File(item)),
                Child::Other(listed) => batch.push(listed),
                Child::Dir {
                    key,
                    mtime_ns,
                    dir_key,
                } => {
                    if frame.ancestors.contains(&dir_key) {
                        batch.push(Listed::Skipped {
                            path: key,
                            reason: "symbolic link loop (the folder is its own ancestor)".into(),
                            kind: SkipKind::Symlink,
                        });
                        continue;
                    }
                    let mut ancestors = frame.ancestors.clone();
                    ancestors.push(dir_key);
                    batch.push(Listed::Dir(Dir {
                        path: key[..key.len() - 1].to_string(),
                        mtime_ns,
                    }));
                    self.enter = Some((key, ancestors));
                    return Some(Ok(batch));
                }
            }
        }
    }

    fn skip(&mut self, dir: &str) {
        let dir = dir.trim_end_matches('/');
        if let Some((key, _)) = &self.enter
            && key.trim_end_matches('/') == dir
        {
            self.enter = None;
        }
        self.skipped.push(dir.to_string());
        if let State::Scope { scope, .. } = &self.state
            && (scope == dir || scope.starts_with(&format!("{dir}/")))
        {
            // A folder above the scope is excluded: nothing of the scope is listed.
            self.enter = None;
            self.next_scope();
        }
    }
}
