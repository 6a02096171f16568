//! The local walk: depth-first, each folder's children sorted in the requested order
//! (folders keyed as `name/`), so the stream can be merged with a blob listing without
//! holding either side in memory. A batch ends after each folder, and a folder the
//! consumer skips is never entered (it may have been read ahead, its own children only:
//! [`super::read_ahead`]).

use std::collections::VecDeque;
use std::fs;
use std::path::PathBuf;

use super::LocalOptions;
use super::folder::{Child, DirKey, Folder, Reading};
use super::partial;
use super::read_ahead::ReadAhead;
use crate::endpoint::{
    Dir, EndpointError, ErrorClass, ListOrder, Listed, Lister, SkipKind, mtime_ns,
};

/// A folder being visited: its sorted children, the folders above it, and its
/// subfolders not yet asked to be read ahead.
struct Frame {
    children: std::vec::IntoIter<Child>,
    ancestors: Vec<DirKey>,
    ahead: VecDeque<String>,
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
    /// How folders are read, and those read ahead.
    ahead: ReadAhead,
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
            ahead: ReadAhead::new(Reading {
                root,
                options,
                order,
            }),
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
        self.ahead.reading().abs(relative)
    }

    /// Folders read ahead and not yet taken or forgotten.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.ahead.waiting()
    }

    fn root(&self) -> &std::path::Path {
        &self.ahead.reading().root
    }

    /// Checks the root; `Err` ends the listing.
    fn start(&mut self) -> Result<(), EndpointError> {
        let meta = fs::metadata(self.root()).map_err(|e| {
            EndpointError::io("cannot read the folder", self.root(), e)
                .explain("; nothing was copied or deleted")
        })?;
        if !meta.is_dir() {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is not a folder; blobsync syncs folders",
                    self.root().display()
                ),
            ));
        }
        self.root_key = (
            std::os::unix::fs::MetadataExt::dev(&meta),
            std::os::unix::fs::MetadataExt::ino(&meta),
        );
        if self.scopes.is_empty() {
            let folder = self.ahead.take("").map_err(|e| {
                e.reclassify(ErrorClass::Usage)
                    .explain("; nothing was copied or deleted")
            })?;
            self.push_frame(folder, vec![self.root_key]);
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
        match self.ahead.reading().classify(abs, scope) {
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

    /// Reads the folder emitted last, unless it was skipped.
    fn enter_pending(&mut self, batch: &mut Vec<Listed>) {
        let Some((key, ancestors)) = self.enter.take() else {
            return;
        };
        self.passed(&key);
        match self.ahead.take(&key) {
            Ok(folder) => self.push_frame(folder, ancestors),
            Err(error) => batch.push(Listed::Error { path: key, error }),
        }
    }

    /// Visits `folder` next (below `ancestors`), and asks for the folders to enter after
    /// it to be read ahead.
    fn push_frame(&mut self, folder: Folder, ancestors: Vec<DirKey>) {
        for dir in &folder.partials {
            partial::clean(dir);
        }
        let ahead = folder
            .children
            .iter()
            .filter_map(|child| match child {
                Child::Dir { key, dir_key, .. } if !ancestors.contains(dir_key) => {
                    Some(key.clone())
                }
                _ => None,
            })
            .collect();
        self.stack.push(Frame {
            children: folder.children.into_iter(),
            ancestors,
            ahead,
        });
        self.read_ahead();
    }

    /// The walk is at folder `key`, a child of the folder it visits: the subfolders before
    /// it, and it, are no longer to be asked for.
    fn passed(&mut self, key: &str) {
        let order = self.ahead.reading().order;
        if let Some(frame) = self.stack.last_mut() {
            while frame
                .ahead
                .front()
                .is_some_and(|k| order.cmp(k, key) != std::cmp::Ordering::Greater)
            {
                frame.ahead.pop_front();
            }
        }
    }

    /// Asks for the next folders the walk will enter, nearest first, while there is room.
    fn read_ahead(&mut self) {
        for frame in self.stack.iter_mut().rev() {
            while self.ahead.has_room() {
                let Some(key) = frame.ahead.pop_front() else {
                    break;
                };
                self.ahead.ask(key);
            }
            if !self.ahead.has_room() {
                return;
            }
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
        self.passed(&format!("{dir}/"));
        self.ahead.forget(dir);
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
