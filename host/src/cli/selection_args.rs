//! Flags that choose what a sync considers and how it compares: patterns, paths, time
//! and size filters (the built-in glob filter's settings), and how files are compared
//! (the built-in comparators' settings). Flattened into `blobsync sync` and
//! `blobsync check`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::units::{Age, ByteSize, Moment, Normal, Span};

/// `--compare-hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareHash {
    /// Compare sizes and modification times.
    #[value(name = "None", alias = "none")]
    None,
    /// Compare content MD5s (forces --put-md5).
    #[value(name = "MD5", alias = "md5")]
    Md5,
}

/// `--missing-md5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum MissingMd5Arg {
    /// Copy it, as azcopy does.
    Copy,
    /// Compare size and modification time instead.
    SizeTime,
    /// Read the blob to hash it (when the sizes match) and store the MD5 in its
    /// Content-MD5.
    Download,
}

impl MissingMd5Arg {
    /// The md5-compare setting.
    pub(super) fn config_value(self) -> &'static str {
        match self {
            MissingMd5Arg::Copy => "copy",
            MissingMd5Arg::SizeTime => "size-time",
            MissingMd5Arg::Download => "download",
        }
    }
}

impl From<MissingMd5Arg> for crate::sync::MissingMd5 {
    fn from(arg: MissingMd5Arg) -> Self {
        match arg {
            MissingMd5Arg::Copy => crate::sync::MissingMd5::Copy,
            MissingMd5Arg::SizeTime => crate::sync::MissingMd5::SizeTime,
            MissingMd5Arg::Download => crate::sync::MissingMd5::Download,
        }
    }
}

/// Which files a run considers: name patterns, paths, regular expressions, times and
/// sizes.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Copy only files whose names match one of these patterns (`;`-separated, `* ? [..]`).
    #[arg(long, value_name = "PATTERNS")]
    pub include_pattern: Option<String>,
    /// Skip files whose names match one of these patterns.
    #[arg(long, value_name = "PATTERNS")]
    pub exclude_pattern: Option<String>,
    /// Sync only these relative paths (`;`-separated files or folders): only they are
    /// listed, and deletes stay inside them.
    #[arg(long, value_name = "PATHS")]
    pub include_path: Option<String>,
    /// Sync only the paths listed in FILE (one per line; `-` reads standard input; blank
    /// lines and lines starting with `#` or `;` are skipped). May be repeated.
    #[arg(long, value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Skip these relative paths and everything below them (whole path segments).
    #[arg(long, value_name = "PATHS")]
    pub exclude_path: Option<String>,
    /// Copy only files whose relative paths match one of these regular expressions.
    #[arg(long, value_name = "REGEXES")]
    pub include_regex: Option<String>,
    /// Skip files whose relative paths match one of these regular expressions.
    #[arg(long, value_name = "REGEXES")]
    pub exclude_regex: Option<String>,

    /// Only files modified on or after this time (ISO 8601: `2026-01-31T15:04:00Z`, or a
    /// date); others are neither copied nor deleted.
    #[arg(long, value_name = "TIME", help_heading = "Time and size filters")]
    pub include_after: Option<Moment>,
    /// Only files modified on or before this time (ISO 8601).
    #[arg(long, value_name = "TIME", help_heading = "Time and size filters")]
    pub include_before: Option<Moment>,
    /// Only files younger than this (`36h`, `7d`, `2w`, `1M`, `1y`) or modified since a date,
    /// measured from the run's start.
    #[arg(long, value_name = "AGE", help_heading = "Time and size filters")]
    pub max_age: Option<Age>,
    /// Only files older than this, or modified before a date.
    #[arg(long, value_name = "AGE", help_heading = "Time and size filters")]
    pub min_age: Option<Age>,
    /// Only files of at most this size (`100k`, `10M` = MiB, `10MB` = 10^6 bytes, `1.5GiB`).
    #[arg(long, value_name = "SIZE", help_heading = "Time and size filters")]
    pub max_size: Option<ByteSize>,
    /// Only files of at least this size.
    #[arg(long, value_name = "SIZE", help_heading = "Time and size filters")]
    pub min_size: Option<ByteSize>,
}

/// How files present on both sides are compared: the comparator and its switches.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// How files present on both sides are compared.
    #[arg(long, value_enum, default_value = "None", ignore_case = true)]
    pub compare_hash: CompareHash,
    /// Tolerated modification-time difference, e.g. `2s` or `1m30s` (default: exact).
    #[arg(long, value_name = "DURATION")]
    pub modify_window: Option<Span>,

    /// Compare sizes only: files of the same size are up to date.
    #[arg(long, help_heading = "Comparing")]
    pub size_only: bool,
    /// Skip files that are newer at the destination.
    #[arg(long, short = 'u', help_heading = "Comparing")]
    pub update: bool,
    /// Skip every file that exists at the destination, whatever its content.
    #[arg(long, help_heading = "Comparing")]
    pub ignore_existing: bool,
    /// Copy every file that exists on both sides, whatever the times (azcopy's
    /// `--mirror-mode`).
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set,
          help_heading = "Comparing")]
    pub mirror_mode: bool,
    /// With --compare-hash=MD5, a blob without Content-MD5 is: `copy` (azcopy's
    /// behaviour), compared by `size-time`, or hashed by reading it (`download`), which
    /// stores the MD5 so it is never needed again.
    #[arg(long, value_enum, value_name = "WAY", help_heading = "Comparing")]
    pub missing_md5: Option<MissingMd5Arg>,
}

impl FilterArgs {
    /// The built-in glob filter's settings from the flags: patterns, paths and regular
    /// expressions as given; times and sizes as the numbers [`Normal`] makes of them (a
    /// manifest's settings for it become the same numbers).
    pub(super) fn filter_config(&self) -> Vec<(String, String)> {
        fn normal(value: &Option<impl Normal>) -> Option<String> {
            value.as_ref().map(Normal::normal)
        }
        [
            ("include-pattern", self.include_pattern.clone()),
            ("exclude-pattern", self.exclude_pattern.clone()),
            ("exclude-path", self.exclude_path.clone()),
            ("include-regex", self.include_regex.clone()),
            ("exclude-regex", self.exclude_regex.clone()),
            ("include-after", normal(&self.include_after)),
            ("include-before", normal(&self.include_before)),
            ("max-age", normal(&self.max_age)),
            ("min-age", normal(&self.min_age)),
            ("max-size", normal(&self.max_size)),
            ("min-size", normal(&self.min_size)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }
}

impl CompareArgs {
    /// The comparator switches given, as (config key, flag).
    pub(super) fn switches(&self) -> Vec<(&'static str, &'static str)> {
        [
            (self.size_only, "size-only", "--size-only"),
            (self.update, "update", "--update"),
            (self.ignore_existing, "ignore-existing", "--ignore-existing"),
            (self.mirror_mode, "mirror-mode", "--mirror-mode"),
        ]
        .into_iter()
        .filter(|(given, _, _)| *given)
        .map(|(_, key, flag)| (key, flag))
        .collect()
    }
}
