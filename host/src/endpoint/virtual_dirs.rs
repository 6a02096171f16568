//! Directories of a flat namespace (blob prefixes), synthesised from a sorted stream of
//! names so that a consumer can skip a whole prefix, as it can skip a local folder.

use super::{Dir, Item, Listed};

/// What to do with the next name of a listing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Emit this directory first (then offer the same name again).
    Dir(Dir),
    /// Emit the name itself.
    Item,
    /// Drop it: it is below a skipped directory.
    Skip,
}

/// The directories on the path of the last name, and the one being skipped.
#[derive(Debug, Default)]
pub(crate) struct VirtualDirs {
    /// Open directory prefixes, outermost first, each ending in `/`.
    open: Vec<String>,
    /// A skipped directory prefix, ending in `/`.
    skipped: Option<String>,
}

impl VirtualDirs {
    /// Decides about `path`, the next name in listing order (names below one prefix are
    /// contiguous in every order the service uses).
    pub(crate) fn step(&mut self, path: &str) -> Step {
        while self
            .open
            .last()
            .is_some_and(|top| !path.starts_with(top.as_str()))
        {
            self.open.pop();
        }
        match &self.skipped {
            Some(s) if path.starts_with(s.as_str()) => return Step::Skip,
            Some(_) => self.skipped = None,
            None => {}
        }
        let done = self.open.last().map_or(0, String::len);
        match path[done..].find('/') {
            Some(i) if done + i + 1 < path.len() => {
                let dir = &path[..done + i + 1];
                self.open.push(dir.to_string());
                Step::Dir(Dir {
                    path: dir[..dir.len() - 1].to_string(),
                    mtime_ns: 0,
                })
            }
            _ => Step::Item,
        }
    }

    /// Skips everything below `dir`.
    pub(crate) fn skip(&mut self, dir: &str) {
        self.skipped = Some(format!("{}/", dir.trim_end_matches('/')));
    }
}

/// A flat listing's items put into batches with the folders they imply, which go out
/// first: what the Azure and the in-memory listers share.
#[derive(Debug, Default)]
pub(crate) struct Folders {
    dirs: VirtualDirs,
    /// The item held back while the folder above it goes out first.
    held: Option<Item>,
}

impl Folders {
    /// Whether an item is held back (the next batch starts with it).
    pub(crate) fn holds(&self) -> bool {
        self.held.is_some()
    }

    /// The next item: the one held back, else `next()`'s.
    pub(crate) fn next(&mut self, next: impl FnOnce() -> Option<Item>) -> Option<Item> {
        self.held.take().or_else(next)
    }

    /// Puts `item` into `batch`: a folder it opens first — then the item is held back and
    /// the batch is due (true), so that the consumer may skip the folder — else the item
    /// itself, or nothing when it is below a skipped folder.
    pub(crate) fn place(&mut self, item: Item, batch: &mut Vec<Listed>) -> bool {
        match self.dirs.step(&item.path) {
            Step::Dir(dir) => {
                batch.push(Listed::Dir(dir));
                self.held = Some(item);
                true
            }
            Step::Item => {
                batch.push(Listed::File(item));
                false
            }
            Step::Skip => false,
        }
    }

    /// Skips everything below `dir`.
    pub(crate) fn skip(&mut self, dir: &str) {
        self.dirs.skip(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(names: &[&str], skip: &[&str]) -> Vec<String> {
        let mut dirs = VirtualDirs::default();
        let mut out = Vec::new();
        for name in names {
            loop {
                match dirs.step(name) {
                    Step::Dir(d) => {
                        out.push(format!("{}/", d.path));
                        if skip.contains(&d.path.as_str()) {
                            dirs.skip(&d.path);
                        }
                    }
                    Step::Item => {
                        out.push(name.to_string());
                        break;
                    }
                    Step::Skip => break,
                }
            }
        }
        out
    }

    #[test]
    fn directories_come_before_what_is_below_them() {
        assert_eq!(
            run(&["a/b/c", "a/b/d", "a/e", "b", "c/x"], &[]),
            ["a/", "a/b/", "a/b/c", "a/b/d", "a/e", "b", "c/", "c/x"]
        );
    }

    #[test]
    fn a_skipped_directory_hides_its_subtree_only() {
        assert_eq!(
            run(&["a/b/c", "a/b/d/e", "a/f", "ab/g"], &["a/b"]),
            ["a/", "a/b/", "a/f", "ab/", "ab/g"]
        );
    }
}
