//! An example compliance filter for blobsync.
//!
//! Keeps files out of a sync, on both sides (so they are neither uploaded nor deleted),
//! and says why in the run's output and job records:
//!
//! | config key | meaning | example |
//! |---|---|---|
//! | `deny-extensions` | file extensions never synced (case-insensitive) | `"pem;pfx;key"` |
//! | `deny-paths` | globs over the relative path (`**` crosses directories); a glob that matches a directory excludes everything below it | `"**/secrets;**/.env"` |
//! | `max-size` | largest file synced: bytes, or with a K/M/G/T suffix (powers of 1024) | `"100M"` |
//!
//! Build it with `blobsync plugin build examples/plugins/compliance-filter` and list it in
//! a manifest's `[[filter]]` (see `examples/compliance.toml`).

use blobsync_plugin::filter::{Filter, Verdict};
use blobsync_plugin::{Config, Entry, Side};
use globset::{Glob, GlobSet, GlobSetBuilder};

#[derive(Debug)]
struct Compliance {
    deny_extensions: Vec<String>,
    deny_paths: Vec<String>,
    deny_set: GlobSet,
    max_size: Option<u64>,
}

/// Parses `1024`, `64K`, `100M`, `2G` or `1T` (binary multiples).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, scale) = match t.chars().last() {
        Some(c @ ('k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T')) => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => 40,
            };
            (&t[..t.len() - 1], 1u64 << shift)
        }
        _ => (t, 1),
    };
    let n: u64 = digits.trim().parse().map_err(|_| {
        format!("config `max-size`: {text:?} is not a size such as 1048576 or 100M")
    })?;
    n.checked_mul(scale)
        .ok_or_else(|| format!("config `max-size`: {text:?} is too large"))
}

impl Filter for Compliance {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["deny-extensions", "deny-paths", "max-size"])?;
        let deny_extensions = config
            .list("deny-extensions")
            .into_iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        let deny_paths: Vec<String> = config
            .list("deny-paths")
            .into_iter()
            .map(String::from)
            .collect();
        let mut builder = GlobSetBuilder::new();
        for pattern in &deny_paths {
            let glob = Glob::new(pattern).map_err(|e| {
                format!("config `deny-paths`: {pattern:?} is not a valid glob: {e}")
            })?;
            builder.add(glob);
        }
        let deny_set = builder
            .build()
            .map_err(|e| format!("config `deny-paths`: {e}"))?;
        let max_size = config.get("max-size").map(parse_size).transpose()?;
        Ok(Compliance {
            deny_extensions,
            deny_paths,
            deny_set,
            max_size,
        })
    }

    fn check(&mut self, side: Side, entry: &Entry<'_>) -> Verdict {
        // The path itself, and each directory above it: a denied directory denies its
        // contents even when a file is checked on its own.
        let ancestors = entry.path.match_indices('/').map(|(i, _)| &entry.path[..i]);
        for candidate in std::iter::once(entry.path).chain(ancestors) {
            if let Some(i) = self.deny_set.matches(candidate).first() {
                return Verdict::exclude(format!(
                    "compliance: path matches denied glob {}",
                    self.deny_paths[*i]
                ));
            }
        }
        if entry.is_dir {
            return Verdict::include("");
        }
        if let Some((_, ext)) = entry.name().rsplit_once('.') {
            let ext = ext.to_ascii_lowercase();
            if self.deny_extensions.contains(&ext) {
                return Verdict::exclude(format!("compliance: .{ext} files are never synced"));
            }
        }
        if let Some(max) = self.max_size {
            // Only the source's size matters: an old, small copy at the destination must
            // not be deleted just because the new file is too big to upload.
            if side == Side::Source && entry.size > max {
                blobsync_plugin::log::info(&format!(
                    "{} is larger than max-size; not synced",
                    entry.path
                ));
                return Verdict::exclude(format!(
                    "compliance: {} bytes is more than max-size {max}",
                    entry.size
                ));
            }
        }
        Verdict::include("")
    }
}

blobsync_plugin::export_filter!(Compliance);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    fn filter(pairs: &[(&str, &str)]) -> Result<Compliance, String> {
        Compliance::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn file(path: &str, size: u64) -> TestEntry {
        TestEntry::file(path, size)
    }

    trait CheckOne {
        fn check_one(&mut self, side: Side, entry: &TestEntry) -> Verdict;
    }

    impl CheckOne for Compliance {
        fn check_one(&mut self, side: Side, entry: &TestEntry) -> Verdict {
            let batch = Entries::of(EndpointKind::Local, std::slice::from_ref(entry));
            self.filter(side, &batch).remove(0)
        }
    }

    #[test]
    fn denies_extensions_paths_and_sizes_with_reasons() {
        let mut f = filter(&[
            ("deny-extensions", ".PEM;key"),
            ("deny-paths", "**/secrets;.env"),
            ("max-size", "1K"),
        ])
        .unwrap();
        let v = f.check_one(Side::Source, &file("certs/server.pem", 10));
        assert_eq!(v.reason, "compliance: .pem files are never synced");
        assert!(
            !f.check_one(Side::Source, &file("a/secrets/token.txt", 1))
                .included
        );
        let mut dir = file("a/secrets", 0);
        dir.is_dir = true;
        assert!(
            !f.check_one(Side::Source, &dir).included,
            "the directory is pruned"
        );
        assert!(
            f.check_one(Side::Source, &file("a/secrets.txt", 1))
                .included
        );
        assert!(!f.check_one(Side::Source, &file(".env", 1)).included);
        let v = f.check_one(Side::Source, &file("big.bin", 2048));
        assert_eq!(
            v.reason,
            "compliance: 2048 bytes is more than max-size 1024"
        );
        assert!(
            f.check_one(Side::Destination, &file("big.bin", 2048))
                .included
        );
        assert!(
            f.check_one(Side::Source, &file("docs/readme.md", 10))
                .included
        );
    }

    #[test]
    fn bad_config_is_explained() {
        assert!(
            filter(&[("max-size", "lots")])
                .unwrap_err()
                .contains("max-size")
        );
        assert!(
            filter(&[("deny-paths", "a[")])
                .unwrap_err()
                .contains("deny-paths")
        );
        assert!(
            filter(&[("deny-extension", "pem")])
                .unwrap_err()
                .contains("unknown config key")
        );
    }
}
