//! Source entries the destination cannot hold apart. A case-insensitive folder holds one
//! of `A.txt` and `a.txt`; a macOS folder one of the NFC and NFD spellings of `é`; no file
//! system holds a file `x` beside a folder `x/`. The first such entry in listing order is
//! synced; every later one is a collision, reported as not syncable and naming the entry
//! it collides with — the same way on every run, before anything is written.
//!
//! Names that can collide share a parent folder, and a sorted listing visits each
//! folder's entries contiguously, so only the folders on the current path are
//! remembered.

use std::collections::HashMap;

use crate::endpoint::{Capabilities, EndpointKind, NameFold};

/// Names remembered per folder level; larger folders are not checked further.
const MAX_NAMES: usize = 200_000;
/// Case warnings (for destinations that do tell case apart) printed before they are
/// only counted.
pub(crate) const MAX_WARNINGS: u64 = 20;

/// What a collision means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The destination cannot hold both: the later entry is not synced.
    Skip,
    /// The destination can (a container); names that differ only in case are worth a
    /// warning, as they would collide in a later download to Windows or macOS.
    Warn,
}

/// One entry that collides with an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collision {
    /// The part of the entry's path that collides: the entry, or a folder above it
    /// (ending with `/`).
    pub(crate) at: String,
    /// The earlier entry (a folder ends with `/`).
    pub(crate) earlier: String,
    /// Why the two cannot both be there.
    pub(crate) why: &'static str,
}

/// The names seen in one folder: folded key → (the name as listed, a folder).
type Seen = HashMap<String, (String, bool)>;

/// Tracks the names of the source listing.
pub(crate) struct Collisions {
    fold: NameFold,
    one_entry_per_name: bool,
    pub(crate) mode: Mode,
    /// Per level of the current path: the folder (`a/b/`) and the names seen in it.
    stack: Vec<(String, Seen)>,
    /// Collisions found.
    pub(crate) found: u64,
}

impl Collisions {
    /// The tracking a sync to `destination` needs.
    pub(crate) fn for_destination(destination: &Capabilities) -> Collisions {
        let local = destination.kind == EndpointKind::Local;
        Collisions {
            fold: if local {
                destination.fold
            } else {
                NameFold::Case
            },
            one_entry_per_name: destination.one_entry_per_name,
            mode: if local || destination.one_entry_per_name || destination.fold != NameFold::Exact
            {
                Mode::Skip
            } else {
                Mode::Warn
            },
            stack: Vec::new(),
            found: 0,
        }
    }

    /// Records `path` (a file, or with `folder` a folder stub); returns the collision if
    /// it has one.
    pub(crate) fn check(&mut self, path: &str, folder: bool) -> Option<Collision> {
        let mut start = 0;
        let mut level = 0;
        loop {
            let end = path[start..].find('/').map(|i| start + i);
            let dir = &path[..start];
            let (name, is_dir) = match end {
                Some(e) => (&path[start..e], true),
                None => (&path[start..], folder),
            };
            if self.stack.get(level).is_some_and(|(d, _)| d != dir) {
                self.stack.truncate(level);
            }
            if self.stack.len() == level {
                self.stack.push((dir.to_string(), HashMap::new()));
            }
            let key = self.fold.key(name);
            let names = &mut self.stack[level].1;
            match names.get(key.as_ref()) {
                Some((seen, seen_dir)) if seen != name => {
                    self.found += 1;
                    let slash = if *seen_dir { "/" } else { "" };
                    return Some(Collision {
                        at: format!("{dir}{name}{}", if is_dir { "/" } else { "" }),
                        earlier: format!("{dir}{seen}{slash}"),
                        why: "the destination does not tell the two names apart",
                    });
                }
                Some((seen, seen_dir)) if *seen_dir != is_dir && self.one_entry_per_name => {
                    self.found += 1;
                    let slash = if *seen_dir { "/" } else { "" };
                    return Some(Collision {
                        at: format!("{dir}{name}{}", if is_dir { "/" } else { "" }),
                        earlier: format!("{dir}{seen}{slash}"),
                        why: "a file and a folder cannot have the same name there",
                    });
                }
                Some(_) => {}
                None if names.len() < MAX_NAMES => {
                    names.insert(key.into_owned(), (name.to_string(), is_dir));
                }
                None => {}
            }
            match end {
                Some(e) => {
                    start = e + 1;
                    level += 1;
                }
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(fold: NameFold) -> Collisions {
        Collisions::for_destination(&Capabilities {
            kind: EndpointKind::Local,
            listed_md5: false,
            order: None,
            time_precision_ns: 1,
            latest_time_ns: i64::MAX,
            fold,
            one_entry_per_name: true,
        })
    }

    fn run(mut c: Collisions, paths: &[&str]) -> Vec<(String, String)> {
        paths
            .iter()
            .filter_map(|p| c.check(p, false).map(|hit| (p.to_string(), hit.earlier)))
            .collect()
    }

    #[test]
    fn a_case_insensitive_folder_keeps_the_first_name_of_each_pair() {
        let hits = run(
            local(NameFold::Case),
            &[
                "A.txt", "Dir/a", "Dir/b", "README", "Readme", "a.txt", "dir/c",
            ],
        );
        assert_eq!(
            hits,
            [
                ("Readme".into(), "README".into()),
                ("a.txt".into(), "A.txt".into()),
                ("dir/c".into(), "Dir/".into()),
            ]
        );
        assert!(
            run(
                local(NameFold::Exact),
                &["A.txt", "a.txt", "Dir/x", "dir/x"]
            )
            .is_empty(),
            "a case-sensitive folder holds them all"
        );
    }

    #[test]
    fn a_normalisation_insensitive_folder_folds_nfc_and_nfd() {
        let (nfc, nfd) = ("caf\u{e9}.txt", "cafe\u{301}.txt");
        assert_eq!(
            run(local(NameFold::Normalization), &[nfc, nfd]),
            [(nfd.into(), nfc.into())]
        );
        assert!(run(local(NameFold::Case), &[nfc, nfd]).is_empty());
        assert_eq!(
            run(
                local(NameFold::CaseAndNormalization),
                &["CAF\u{c9}", "cafe\u{301}"]
            )
            .len(),
            1
        );
    }

    #[test]
    fn a_file_and_a_folder_of_one_name_collide_on_a_file_system_only() {
        assert_eq!(
            run(local(NameFold::Exact), &["lnk", "lnk/pwn.txt", "other/x"]),
            [("lnk/pwn.txt".into(), "lnk".into())]
        );
        let blob = Collisions::for_destination(&Capabilities {
            kind: EndpointKind::Blob,
            listed_md5: true,
            order: None,
            time_precision_ns: 1,
            latest_time_ns: i64::MAX,
            fold: NameFold::Exact,
            one_entry_per_name: false,
        });
        assert_eq!(blob.mode, Mode::Warn);
        assert!(run(blob, &["lnk", "lnk/pwn.txt"]).is_empty());
    }

    #[test]
    fn a_folder_stub_is_a_folder() {
        let mut c = local(NameFold::Exact);
        assert_eq!(c.check("photos", true), None);
        assert_eq!(c.check("photos/cat.jpg", false), None);
    }

    #[test]
    fn other_folders_are_independent() {
        assert!(
            run(
                local(NameFold::Case),
                &["a/File.txt", "a/b/x", "b/file.txt"]
            )
            .is_empty()
        );
    }
}
