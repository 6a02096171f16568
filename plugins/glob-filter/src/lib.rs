//! blobsync's default filter, with azcopy's semantics (see the README's "Filters"), plus
//! azcopy's and rclone's time and size limits:
//!
//! | key | matched against | value |
//! |---|---|---|
//! | `include-pattern` | file base names (directories always pass) | Go `path.Match`: `* ? [..] [^..] \` |
//! | `exclude-pattern` | file base names | same |
//! | `exclude-path` | relative paths of files and directories, as a whole-segment prefix | literal |
//! | `include-regex` | file relative paths, unanchored | RE2 (the `regex` crate) |
//! | `exclude-regex` | file relative paths, unanchored | same |
//! | `include-after` | file modification times: on or after passes | nanoseconds since the Unix epoch |
//! | `include-before` | file modification times: on or before passes | same |
//! | `max-age` | file modification times: at or after (run start − age) passes | nanoseconds of age; or `@` and nanoseconds since the Unix epoch, for an age given as a date |
//! | `min-age` | file modification times: at or before (run start − age) passes | same |
//! | `max-size` | file sizes: at most passes | bytes |
//! | `min-size` | file sizes: at least passes | same |
//!
//! The time and size limits are whole numbers because blobsync reads what users type —
//! `--max-size 10M`, `max-age = "7d"`, `--include-after 2026-01-31` in flags or in a
//! manifest's `builtin:glob-filter` — with its one grammar and hands this plugin the
//! number, so that the filter parses nothing but integers.
//!
//! The pattern keys take a `;`-separated list. A file must pass every include list that is
//! set and match no exclude. Unlike azcopy, an invalid pattern is a configuration error, and
//! `exclude-path = sub` excludes `sub/…` but not `subway.txt`.
//!
//! Time and size limits apply to files only, on both sides, like `include-pattern`; an
//! excluded destination file is therefore never deleted. A blob's modification time is the
//! one blobsync stored from its source file (`mtime` metadata), else its Last-Modified. Ages
//! count back from the run's start (`blobsync.run-started-ms`), so every file of a run is
//! judged against the same instant (in watch mode, each run counts from its own start). A
//! value that is not a whole number, and limits no file could meet together
//! (`include-after` later than `include-before`, `min-size` above `max-size`, …), are
//! configuration errors.

use blobsync_plugin::filter::{Filter, Verdict};
use blobsync_plugin::{Config, Entry, EntryFields, Side};
use regex::{Regex, RegexSet};

mod limits;
mod pattern;

use limits::Limits;
pub use pattern::{PatternError, translate};

/// The compiled filter.
pub struct GlobFilter {
    include_patterns: Option<Patterns>,
    exclude_patterns: Option<Patterns>,
    exclude_paths: Vec<String>,
    include_regexes: Option<Patterns>,
    exclude_regexes: Option<Patterns>,
    limits: Limits,
}

/// A list of source patterns and the set that matches any of them.
struct Patterns {
    sources: Vec<String>,
    set: RegexSet,
}

impl Patterns {
    fn first_match(&self, text: &str) -> Option<&str> {
        self.set
            .matches(text)
            .iter()
            .next()
            .map(|i| self.sources[i].as_str())
    }
}

const KEYS: &[&str] = &[
    "include-pattern",
    "exclude-pattern",
    "exclude-path",
    "include-regex",
    "exclude-regex",
    "include-after",
    "include-before",
    "max-age",
    "min-age",
    "max-size",
    "min-size",
];

fn glob_patterns(config: &Config, key: &str) -> Result<Option<Patterns>, String> {
    let sources: Vec<String> = config.list(key).into_iter().map(String::from).collect();
    if sources.is_empty() {
        return Ok(None);
    }
    let mut regexes = Vec::with_capacity(sources.len());
    for source in &sources {
        let regex = translate(source).map_err(|e| format!("--{key} {source:?}: {e}"))?;
        regexes.push(regex);
    }
    let set = RegexSet::new(&regexes).map_err(|e| format!("--{key}: {e}"))?;
    Ok(Some(Patterns { sources, set }))
}

fn regex_patterns(config: &Config, key: &str) -> Result<Option<Patterns>, String> {
    let sources: Vec<String> = config.list(key).into_iter().map(String::from).collect();
    if sources.is_empty() {
        return Ok(None);
    }
    for source in &sources {
        // Compile one by one so the error names the offending expression.
        Regex::new(source).map_err(|e| format!("--{key} {source:?} is not a valid regex: {e}"))?;
    }
    let set = RegexSet::new(&sources).map_err(|e| format!("--{key}: {e}"))?;
    Ok(Some(Patterns { sources, set }))
}

/// Normalises an `exclude-path` item: no leading `./` or `/`, no trailing `/`.
fn normalise_path(item: &str) -> String {
    let mut p = item.trim_start_matches("./").trim_matches('/');
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

impl GlobFilter {
    fn excluded_path(&self, path: &str) -> Option<&str> {
        self.exclude_paths
            .iter()
            .find(|p| {
                path == p.as_str()
                    || (path.len() > p.len()
                        && path.starts_with(p.as_str())
                        && path.as_bytes()[p.len()] == b'/')
            })
            .map(String::as_str)
    }
}

impl Filter for GlobFilter {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(KEYS)?;
        let exclude_paths: Vec<String> = config
            .list("exclude-path")
            .into_iter()
            .map(normalise_path)
            .filter(|p| !p.is_empty())
            .collect();
        Ok(GlobFilter {
            include_patterns: glob_patterns(&config, "include-pattern")?,
            exclude_patterns: glob_patterns(&config, "exclude-pattern")?,
            exclude_paths,
            include_regexes: regex_patterns(&config, "include-regex")?,
            exclude_regexes: regex_patterns(&config, "exclude-regex")?,
            limits: Limits::from_config(&config)?,
        })
    }

    /// Paths only when a pattern, path or regex needs them, and blobs' stored modification
    /// times only when a time limit does (sizes and listed times are always sent): with
    /// nothing set, every entry is included and the host sends no optional column at all.
    fn fields(&self) -> EntryFields {
        let any = self.include_patterns.is_some()
            || self.exclude_patterns.is_some()
            || !self.exclude_paths.is_empty()
            || self.include_regexes.is_some()
            || self.exclude_regexes.is_some();
        let mut fields = EntryFields::empty();
        if any {
            fields |= EntryFields::PATH;
        }
        if self.limits.reads_times() {
            fields |= EntryFields::STORED_MTIME;
        }
        fields
    }

    fn check(&mut self, _side: Side, entry: &Entry<'_>) -> Verdict {
        if let Some(p) = self.excluded_path(entry.path) {
            return Verdict::exclude(format!("under --exclude-path {p}"));
        }
        if entry.is_dir {
            return Verdict::include("");
        }
        // Integer comparisons before any pattern is matched.
        if let Some(reason) = self.limits.exclusion(entry) {
            return Verdict::exclude(reason);
        }
        let name = entry.name();
        if let Some(inc) = &self.include_patterns
            && inc.first_match(name).is_none()
        {
            return Verdict::exclude("matches no --include-pattern");
        }
        if let Some(p) = self
            .exclude_patterns
            .as_ref()
            .and_then(|e| e.first_match(name))
        {
            return Verdict::exclude(format!("matches --exclude-pattern {p}"));
        }
        if let Some(inc) = &self.include_regexes
            && inc.first_match(entry.path).is_none()
        {
            return Verdict::exclude("matches no --include-regex");
        }
        if let Some(r) = self
            .exclude_regexes
            .as_ref()
            .and_then(|e| e.first_match(entry.path))
        {
            return Verdict::exclude(format!("matches --exclude-regex {r}"));
        }
        Verdict::include("")
    }
}

blobsync_plugin::export_filter!(GlobFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    fn filter(pairs: &[(&str, &str)]) -> Result<GlobFilter, String> {
        GlobFilter::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn verdict(f: &mut GlobFilter, side: Side, path: &str, is_dir: bool) -> Verdict {
        let e = if is_dir {
            TestEntry::dir(path)
        } else {
            TestEntry::file(path, 1)
        };
        let batch = Entries::of(EndpointKind::Local, &[e]);
        f.filter(side, &batch).remove(0)
    }

    fn passes(f: &mut GlobFilter, path: &str) -> bool {
        verdict(f, Side::Source, path, false).included
    }

    #[test]
    fn include_pattern_matches_base_names_only() {
        let mut f = filter(&[("include-pattern", "*.json;data?.csv")]).unwrap();
        assert!(passes(&mut f, "a/b/config.json"));
        assert!(passes(&mut f, "data1.csv"));
        assert!(!passes(&mut f, "data10.csv"));
        assert!(!passes(&mut f, "json/readme.md"));
        // Directories are never excluded by an include pattern.
        assert!(verdict(&mut f, Side::Source, "dir", true).included);
    }

    #[test]
    fn exclude_pattern_reason_names_the_pattern() {
        let mut f = filter(&[("exclude-pattern", "*.tmp;~*")]).unwrap();
        let v = verdict(&mut f, Side::Destination, "x/~lock", false);
        assert!(!v.included);
        assert_eq!(v.reason, "matches --exclude-pattern ~*");
        assert!(passes(&mut f, "x/keep.txt"));
    }

    #[test]
    fn exclude_path_is_a_whole_segment_prefix() {
        let mut f = filter(&[("exclude-path", "sub;/build/;./a/b")]).unwrap();
        assert!(!passes(&mut f, "sub"));
        assert!(!passes(&mut f, "sub/file.txt"));
        assert!(passes(&mut f, "subway.txt"));
        assert!(!verdict(&mut f, Side::Source, "build", true).included);
        assert!(!passes(&mut f, "a/b/c"));
        assert!(passes(&mut f, "a/bc"));
    }

    #[test]
    fn regexes_are_unanchored_on_the_relative_path() {
        let mut f = filter(&[
            ("include-regex", r"^logs/\d{4}/"),
            ("exclude-regex", "secret"),
        ])
        .unwrap();
        assert!(passes(&mut f, "logs/2024/a.log"));
        assert!(!passes(&mut f, "old/logs/2024/a.log"));
        assert!(!passes(&mut f, "logs/2024/secret.log"));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        let err = filter(&[("include-pattern", "[a-")]).err().unwrap();
        assert!(
            err.contains("--include-pattern") && err.contains("[a-"),
            "{err}"
        );
        let err = filter(&[("exclude-regex", "(unclosed")]).err().unwrap();
        assert!(err.contains("--exclude-regex"), "{err}");
        let err = filter(&[("exclude-patern", "x")]).err().unwrap();
        assert!(err.contains("unknown config key"), "{err}");
    }

    #[test]
    fn limits_apply_to_files_on_both_sides_and_never_to_directories() {
        let mut f = filter(&[("max-size", "1024"), ("include-pattern", "*.log")]).unwrap();
        for side in [Side::Source, Side::Destination] {
            let batch = Entries::of(
                EndpointKind::AzureBlob,
                &[
                    TestEntry::file("a.log", 2048),
                    TestEntry::file("b.log", 1024),
                    TestEntry::dir("big"),
                ],
            );
            let verdicts = f.filter(side, &batch);
            assert_eq!(
                verdicts[0].reason,
                "size 2.0 KiB is above --max-size 1.0 KiB"
            );
            assert!(!verdicts[0].included);
            assert!(verdicts[1].included && verdicts[2].included);
        }
        let err = filter(&[("max-sise", "1024")]).err().unwrap();
        assert!(
            err.contains("max-sise") && err.contains("max-size, min-size"),
            "{err}"
        );
    }

    #[test]
    fn stored_times_are_asked_for_only_when_a_time_limit_is_set() {
        let started = ("blobsync.run-started-ms", "1769817600000");
        assert_eq!(
            filter(&[("max-size", "1048576"), ("min-size", "1")])
                .unwrap()
                .fields(),
            EntryFields::empty()
        );
        for key in ["include-after", "include-before"] {
            let f = filter(&[(key, "1769817600000000000")]).unwrap();
            assert_eq!(f.fields(), EntryFields::STORED_MTIME, "{key}");
        }
        for key in ["max-age", "min-age"] {
            let f = filter(&[(key, "604800000000000"), started]).unwrap();
            assert_eq!(f.fields(), EntryFields::STORED_MTIME, "{key}");
        }
        let f = filter(&[
            ("max-age", "604800000000000"),
            started,
            ("exclude-path", "x"),
        ])
        .unwrap();
        assert_eq!(f.fields(), EntryFields::STORED_MTIME | EntryFields::PATH);
    }

    #[test]
    fn no_config_includes_everything_and_needs_no_path() {
        let mut f = filter(&[]).unwrap();
        assert!(passes(&mut f, "anything/at/all"));
        assert_eq!(f.fields(), EntryFields::empty());
        assert_eq!(
            filter(&[("exclude-path", "x")]).unwrap().fields(),
            EntryFields::PATH
        );
    }
}
