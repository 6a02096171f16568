//! Letter-case collisions among source paths: names that would overwrite each other on a
//! case-insensitive file system.

/// Case-collision warnings printed before they are only counted.
pub(crate) const MAX_WARNINGS: u64 = 20;
/// Names remembered per directory level; larger directories are not checked further.
const MAX_CASE_NAMES: usize = 200_000;

/// Finds source paths that differ only in letter case. Names that can collide share a
/// parent directory, and a sorted listing visits each directory's entries contiguously,
/// so only the directories on the current path are remembered.
#[derive(Default)]
pub(crate) struct CaseTracker {
    /// For each level of the current path: the directory (`a/b/`) and its children seen so
    /// far, lower-cased → as listed (directories with a trailing `/`).
    stack: Vec<(String, std::collections::HashMap<String, String>)>,
    /// Collisions found.
    pub(crate) collisions: u64,
}

impl CaseTracker {
    /// Records `path`; returns the earlier path it collides with, and `path` itself.
    pub(crate) fn check(&mut self, path: &str) -> Option<(String, String)> {
        let mut start = 0;
        let mut level = 0;
        loop {
            let end = path[start..].find('/').map(|i| start + i);
            let dir = &path[..start];
            let name = match end {
                Some(e) => &path[start..=e],
                None => &path[start..],
            };
            if self.stack.get(level).is_some_and(|(d, _)| d != dir) {
                self.stack.truncate(level);
            }
            if self.stack.len() == level {
                self.stack.push((dir.to_string(), Default::default()));
            }
            let names = &mut self.stack[level].1;
            let lower = name.to_lowercase();
            match names.get(&lower) {
                Some(seen) if seen != name => {
                    return Some((format!("{dir}{seen}"), format!("{dir}{name}")));
                }
                Some(_) => {}
                None if names.len() < MAX_CASE_NAMES => {
                    names.insert(lower, name.to_string());
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

    #[test]
    fn case_collisions_are_found_in_the_same_directory_only() {
        let mut t = CaseTracker::default();
        for p in ["Docs/a.txt", "Docs/b.txt", "README", "docs/c.txt"] {
            let hit = t.check(p);
            if p == "docs/c.txt" {
                assert_eq!(hit, Some(("Docs/".into(), "docs/".into())));
            } else {
                assert_eq!(hit, None, "{p}");
            }
        }
        let mut t = CaseTracker::default();
        assert_eq!(t.check("a/File.txt"), None);
        assert_eq!(t.check("a/b/x"), None);
        assert_eq!(
            t.check("a/file.txt"),
            Some(("a/File.txt".into(), "a/file.txt".into()))
        );
        assert_eq!(
            t.check("b/file.txt"),
            None,
            "other directories are independent"
        );
    }
}
