//! Conflicts: which version keeps the name (`--conflict-resolve`), what becomes of the
//! other (`--conflict-loser`), and the name a renamed loser gets — deterministic, so a
//! run that is interrupted and run again picks the same one.

use super::Which;
use crate::endpoint::Item;

/// Which version of a conflict keeps the name (`--conflict-resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Resolve {
    /// The later modification time.
    #[default]
    Newer,
    /// The earlier modification time.
    Older,
    /// The larger size.
    Larger,
    /// The smaller size.
    Smaller,
    /// PATH1's version.
    Path1,
    /// PATH2's version.
    Path2,
}

/// What becomes of the version that lost (`--conflict-loser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Loser {
    /// Kept on both sides as NAME.conflict-SIDE-TIME.EXT ([`conflict_name`]).
    #[default]
    Rename,
    /// Deleted (counted by --max-changes).
    Delete,
    /// Kept in its side's backup location (--backup-dir1, --backup-dir2) as `sync
    /// --backup-dir` keeps what it replaces, then replaced.
    Backup,
}

/// What a resolver plugin says of one conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This side's version keeps the name, for this reason.
    Wins(Which, String),
    /// The policy's winner keeps the name, and the other is kept under its conflict name
    /// whatever `--conflict-loser` says, for this reason.
    KeepBoth(String),
    /// The policy decides.
    Policy,
}

impl Resolve {
    /// The side whose version wins, and why; ties go to path1.
    pub fn winner(self, one: &Item, two: &Item) -> (Which, String) {
        use std::cmp::Ordering::*;
        let (t1, t2) = (one.preserved_mtime_ns(), two.preserved_mtime_ns());
        let (ordering, what) = match self {
            Resolve::Newer => (t1.cmp(&t2), "newer"),
            Resolve::Older => (t2.cmp(&t1), "older"),
            Resolve::Larger => (one.size.cmp(&two.size), "larger"),
            Resolve::Smaller => (two.size.cmp(&one.size), "smaller"),
            Resolve::Path1 => return (Which::Path1, "path1 wins".into()),
            Resolve::Path2 => return (Which::Path2, "path2 wins".into()),
        };
        match ordering {
            Greater => (Which::Path1, format!("{what} wins: path1")),
            Less => (Which::Path2, format!("{what} wins: path2")),
            Equal => (
                Which::Path1,
                format!("neither is {what}: path1 wins the tie"),
            ),
        }
    }
}

/// The name the losing version of `path` is kept under: `name.conflict-<side>-<time>.ext`
/// (its modification time, UTC, to the second), the extension kept last so that the
/// file still opens with what opened it.
pub fn conflict_name(path: &str, loser: Which, mtime_ns: i64) -> String {
    let time = jiff::Timestamp::from_nanosecond(mtime_ns as i128)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%S");
    let tag = format!("conflict-{}-{time}", loser.name());
    let (folder, name) = path.rsplit_once('/').map_or(("", path), |(f, n)| (f, n));
    let name = match name.rsplit_once('.') {
        // A leading dot starts a name (`.env`), not an extension.
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{tag}.{ext}"),
        _ => format!("{name}.{tag}"),
    };
    if folder.is_empty() {
        name
    } else {
        format!("{folder}/{name}")
    }
}

/// True for a name [`conflict_name`] made: such files are data like any other, but
/// messages can say where they came from.
pub fn is_conflict_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').any(|part| {
        part.strip_prefix("conflict-path1-")
            .or_else(|| part.strip_prefix("conflict-path2-"))
            .is_some_and(|t| t.len() == 15 && t.as_bytes()[8] == b'T')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_765_000_000_000_000_000; // 2025-12-06T05:46:40Z

    #[test]
    fn conflict_names_keep_the_extension_last() {
        assert_eq!(
            conflict_name("docs/report.txt", Which::Path2, T),
            "docs/report.conflict-path2-20251206T054640.txt"
        );
        assert_eq!(
            conflict_name("Makefile", Which::Path1, T),
            "Makefile.conflict-path1-20251206T054640"
        );
        assert_eq!(
            conflict_name("a/.env", Which::Path1, T),
            "a/.env.conflict-path1-20251206T054640"
        );
        assert_eq!(
            conflict_name("x.tar.gz", Which::Path1, T),
            "x.tar.conflict-path1-20251206T054640.gz"
        );
        for path in ["docs/report.txt", "Makefile", "a/.env"] {
            assert!(is_conflict_name(&conflict_name(path, Which::Path1, T)));
            assert!(!is_conflict_name(path));
        }
    }

    #[test]
    fn the_policy_picks_a_winner_and_ties_go_to_path1() {
        let old = Item::new("p", 10, 1);
        let new = Item::new("p", 5, 2);
        assert_eq!(Resolve::Newer.winner(&old, &new).0, Which::Path2);
        assert_eq!(Resolve::Older.winner(&old, &new).0, Which::Path1);
        assert_eq!(Resolve::Larger.winner(&old, &new).0, Which::Path1);
        assert_eq!(Resolve::Smaller.winner(&old, &new).0, Which::Path2);
        assert_eq!(Resolve::Path2.winner(&old, &new).0, Which::Path2);
        let (side, why) = Resolve::Newer.winner(&old, &old.clone());
        assert_eq!(side, Which::Path1);
        assert!(why.contains("tie"), "{why}");
    }
}
