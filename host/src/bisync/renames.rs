//! Renames (`--track-renames`): a path deleted on one side since the last run and a new
//! path on the same side with the same size and MD5 is one entry renamed. The other side
//! then moves its entry (a copy within the side — server-side for a container — and a
//! delete) instead of receiving the new file whole and deleting the old one, and the
//! guards count it as one change, not a delete.
//!
//! Only a one-to-one match is a rename: several deleted or new entries with the same
//! size and MD5 (copies of one file, empty files) are left to copy and delete.

use std::collections::HashMap;

use super::Which;
use crate::endpoint::Item;

/// A move of one entry within a side: what a rename on the other side comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The side whose entry moves.
    pub on: Which,
    /// Its entry there, as listed (the move's source, deleted once copied).
    pub item: Item,
    /// Where it goes: the new path.
    pub to: String,
    /// The renamed entry on the other side, as listed (the state records it).
    pub renamed: Item,
    /// Why.
    pub reason: String,
}

/// What identifies an entry's content: its size and MD5.
type Key = (u64, [u8; 16]);

/// A path deleted on one side whose entry on the other side is to be deleted: a rename's
/// possible old name.
#[derive(Debug, Clone)]
pub(crate) struct Gone {
    /// The path.
    pub(crate) path: String,
    /// Its size and MD5 on the side it was deleted from, at the last run.
    pub(crate) key: Key,
}

/// The possible old names, per side the deletes happened on.
#[derive(Debug, Default)]
pub(crate) struct Renames {
    gone: [Vec<Gone>; 2],
}

pub(crate) fn at(side: Which) -> usize {
    match side {
        Which::Path1 => 0,
        Which::Path2 => 1,
    }
}

impl Renames {
    /// Notes `path`, deleted on `side` (where it had `size` and `md5`): a possible old
    /// name. Empty entries and entries without an MD5 are never renames.
    pub(crate) fn deleted(&mut self, side: Which, path: &str, size: u64, md5: Option<[u8; 16]>) {
        if let (true, Some(md5)) = (size > 0, md5) {
            self.gone[at(side)].push(Gone {
                path: path.to_string(),
                key: (size, md5),
            });
        }
    }

    /// The sizes of the old names on `side`: a new entry there of another size is no
    /// rename, and need not be hashed to find out.
    pub(crate) fn sizes(&self, side: Which) -> std::collections::HashSet<u64> {
        self.gone[at(side)].iter().map(|g| g.key.0).collect()
    }

    /// Pairs the old names on `side` with `new` entries there (path, size, MD5), one to
    /// one: (old path, new path) for each rename.
    pub(crate) fn matches<'a>(
        &self,
        side: Which,
        new: impl Iterator<Item = (&'a str, u64, Option<[u8; 16]>)>,
    ) -> Vec<(String, String)> {
        let gone = &self.gone[at(side)];
        if gone.is_empty() {
            return Vec::new();
        }
        let mut by_key: HashMap<Key, (Vec<&str>, Vec<&str>)> = HashMap::new();
        for g in gone {
            by_key.entry(g.key).or_default().0.push(&g.path);
        }
        for (path, size, md5) in new {
            if let Some(entry) = md5.and_then(|md5| by_key.get_mut(&(size, md5))) {
                entry.1.push(path);
            }
        }
        let mut pairs: Vec<(String, String)> = by_key
            .into_values()
            .filter(|(old, new)| old.len() == 1 && new.len() == 1)
            .map(|(old, new)| (old[0].to_string(), new[0].to_string()))
            .collect();
        pairs.sort();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_to_one_matches_of_size_and_md5_are_renames() {
        let mut renames = Renames::default();
        renames.deleted(Which::Path1, "old.txt", 5, Some([1; 16]));
        renames.deleted(Which::Path1, "twin-a", 7, Some([2; 16]));
        renames.deleted(Which::Path1, "twin-b", 7, Some([2; 16]));
        renames.deleted(Which::Path1, "empty", 0, Some([3; 16]));
        renames.deleted(Which::Path1, "unhashed", 9, None);
        assert_eq!(renames.sizes(Which::Path1).len(), 2);
        let new = [
            ("new.txt", 5, Some([1; 16])),
            ("twin-c", 7, Some([2; 16])),
            ("other", 5, Some([9; 16])),
            ("empty2", 0, Some([3; 16])),
        ];
        let found = renames.matches(Which::Path1, new.iter().map(|(p, s, m)| (*p, *s, *m)));
        assert_eq!(found, [("old.txt".to_string(), "new.txt".to_string())]);
        assert!(
            renames
                .matches(Which::Path2, new.iter().map(|(p, s, m)| (*p, *s, *m)))
                .is_empty(),
            "renames are per side"
        );
    }
}
