//! The time and size limits on files: `include-after` / `include-before` (azcopy),
//! `max-age` / `min-age` and `max-size` / `min-size` (rclone). blobsync reads what users
//! type (`10M`, `7d`, `2026-01-31`) with its one grammar and hands this plugin whole
//! numbers, read here with `str::parse` and checked against each other once, in
//! `configure`; each file then costs a few integer comparisons, and a string only when it
//! is excluded.

use std::str::FromStr;

use blobsync_plugin::{Config, EndpointKind, Entry, format_rfc3339_ns};

/// What each kind of setting holds, for the message refusing a value that is not it.
const BYTES: &str = "a whole number of bytes";
const INSTANT: &str = "a whole number of nanoseconds since the Unix epoch";
const AGE: &str = "a whole number of nanoseconds, or `@` and nanoseconds since the Unix epoch";

/// A bound on when a file was modified.
struct TimeLimit {
    key: &'static str,
    /// As reasons show it: the point in time, after the age if one was given
    /// (`7d (2026-01-24T00:00:00Z)`).
    shown: String,
    at_ns: i64,
}

/// A bound on a file's size.
struct SizeLimit {
    key: &'static str,
    bytes: u64,
}

impl SizeLimit {
    fn describe(&self) -> String {
        match self.bytes {
            0..1024 => format!("--{} {} B", self.key, self.bytes),
            _ => format!(
                "--{} {} ({} bytes)",
                self.key,
                format_size(self.bytes),
                self.bytes
            ),
        }
    }
}

/// Every limit set; none by default.
#[derive(Default)]
pub struct Limits {
    /// A file modified before any of these is excluded (`include-after`, `max-age`).
    earliest: Vec<TimeLimit>,
    /// A file modified after any of these is excluded (`include-before`, `min-age`).
    latest: Vec<TimeLimit>,
    max_size: Option<SizeLimit>,
    min_size: Option<SizeLimit>,
}

impl Limits {
    /// Reads the limits. A value that is not the number blobsync hands on is an error
    /// naming the key, and so are limits no file could meet together.
    pub fn from_config(config: &Config) -> Result<Limits, String> {
        let mut limits = Limits::default();
        limits
            .earliest
            .extend(point_in_time(config, "include-after")?);
        limits.earliest.extend(age_limit(config, "max-age")?);
        limits
            .latest
            .extend(point_in_time(config, "include-before")?);
        limits.latest.extend(age_limit(config, "min-age")?);
        limits.max_size = size_limit(config, "max-size")?;
        limits.min_size = size_limit(config, "min-size")?;
        for early in &limits.earliest {
            for late in &limits.latest {
                if early.at_ns > late.at_ns {
                    return Err(format!(
                        "--{} {} is later than --{} {}: no file can be modified on or after \
                         the first and on or before the second; check the two values",
                        early.key, early.shown, late.key, late.shown
                    ));
                }
            }
        }
        if let (Some(min), Some(max)) = (&limits.min_size, &limits.max_size)
            && min.bytes > max.bytes
        {
            return Err(format!(
                "{} is larger than {}: no file can be both; check the two values",
                min.describe(),
                max.describe()
            ));
        }
        Ok(limits)
    }

    /// True when a time limit is set: blobs' stored modification times are then needed.
    pub fn reads_times(&self) -> bool {
        !self.earliest.is_empty() || !self.latest.is_empty()
    }

    /// Why a file is excluded, or `None` if it is within every limit. Directories are
    /// never excluded by a limit.
    pub fn exclusion(&self, entry: &Entry<'_>) -> Option<String> {
        if entry.is_dir {
            return None;
        }
        if let Some(max) = &self.max_size
            && entry.size > max.bytes
        {
            return Some(size_reason(entry.size, "above", max));
        }
        if let Some(min) = &self.min_size
            && entry.size < min.bytes
        {
            return Some(size_reason(entry.size, "below", min));
        }
        if !self.reads_times() {
            return None;
        }
        let modified = modified_ns(entry);
        if let Some(limit) = self.earliest.iter().find(|l| modified < l.at_ns) {
            return Some(time_reason(modified, "before", limit));
        }
        if let Some(limit) = self.latest.iter().find(|l| modified > l.at_ns) {
            return Some(time_reason(modified, "after", limit));
        }
        None
    }
}

/// A file's modification time: a local file's own; for a blob, the time blobsync (or
/// rclone) stored from its source file, else its Last-Modified — as the comparators see it.
fn modified_ns(entry: &Entry<'_>) -> i64 {
    match entry.endpoint {
        EndpointKind::Local => entry.mtime_ns,
        EndpointKind::AzureBlob => entry.stored_mtime_ns().unwrap_or(entry.mtime_ns),
    }
}

fn time_reason(modified_ns: i64, relation: &str, limit: &TimeLimit) -> String {
    format!(
        "modified {}, {relation} --{} {}",
        format_rfc3339_ns(modified_ns),
        limit.key,
        limit.shown
    )
}

/// `size 12.0 MiB is above --max-size 10.0 MiB`; in bytes when the rounded sizes look the
/// same.
fn size_reason(size: u64, relation: &str, limit: &SizeLimit) -> String {
    let (shown, limit_shown) = (format_size(size), format_size(limit.bytes));
    if shown == limit_shown {
        return format!("size {size} bytes is {relation} {}", limit.describe());
    }
    format!("size {shown} is {relation} --{} {limit_shown}", limit.key)
}

/// A size for people: `512 B`, `12.0 MiB`, `1.5 GiB` (powers of 1024, one decimal).
fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut scale = 1024u64;
    while unit + 1 < UNITS.len() && bytes / scale >= 1024 {
        unit += 1;
        scale *= 1024;
    }
    // Integers, not `f64`: float formatting would add ~30 KB to the component.
    let tenths = (u128::from(bytes) * 10 + u128::from(scale) / 2) / u128::from(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// An age for people, in the units blobsync reads: `7d`, `1h30m`, `1s500ms`, `0s`.
fn format_age(mut ns: u64) -> String {
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400 * S),
        ("h", 3600 * S),
        ("m", 60 * S),
        ("s", S),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if ns >= size {
            out.push_str(&format!("{}{unit}", ns / size));
            ns %= size;
        }
    }
    out
}

/// The message for a value that is not the number blobsync hands on: the plugin was
/// configured some other way than through blobsync's flags or a manifest's
/// `builtin:glob-filter` (e.g. its component run with `plugin try --config`).
fn not_a_number(key: &str, text: &str, what: &str) -> String {
    format!(
        "config `{key}` = {text:?} is not {what}; blobsync reads sizes, durations and dates \
         (`10M`, `7d`, `2026-01-31`) itself and hands this filter the number: set them with \
         --{key} or in a manifest's `builtin:glob-filter`"
    )
}

/// `key`'s value read as the number blobsync hands on.
fn number<T: FromStr>(config: &Config, key: &str, what: &str) -> Result<Option<T>, String> {
    config
        .get(key)
        .map(|text| {
            text.trim()
                .parse()
                .map_err(|_| not_a_number(key, text, what))
        })
        .transpose()
}

fn point_in_time(config: &Config, key: &'static str) -> Result<Option<TimeLimit>, String> {
    Ok(number(config, key, INSTANT)?.map(|at_ns| TimeLimit {
        key,
        shown: format_rfc3339_ns(at_ns),
        at_ns,
    }))
}

/// An age: nanoseconds back from the run's start, or `@` and a point in time (an age
/// given as a date).
fn age_limit(config: &Config, key: &'static str) -> Result<Option<TimeLimit>, String> {
    let Some(text) = config.get(key).map(str::trim) else {
        return Ok(None);
    };
    if let Some(at) = text.strip_prefix('@') {
        let at_ns: i64 = at.parse().map_err(|_| not_a_number(key, text, AGE))?;
        return Ok(Some(TimeLimit {
            key,
            shown: format_rfc3339_ns(at_ns),
            at_ns,
        }));
    }
    let age_ns: u64 = text.parse().map_err(|_| not_a_number(key, text, AGE))?;
    let age = format_age(age_ns);
    let started_ms = config.run_started_ms().ok_or_else(|| {
        format!(
            "--{key} {age} counts back from the run's start, but blobsync passed no start \
             time (blobsync.run-started-ms; blobsync 0.2 or later does); give a date \
             instead, e.g. --{key} 2026-01-31"
        )
    })?;
    let started_ns = i64::try_from(started_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .ok_or_else(|| format!("blobsync.run-started-ms {started_ms} is out of range"))?;
    let at_ns = started_ns.saturating_sub_unsigned(age_ns);
    Ok(Some(TimeLimit {
        key,
        shown: format!("{age} ({})", format_rfc3339_ns(at_ns)),
        at_ns,
    }))
}

fn size_limit(config: &Config, key: &'static str) -> Result<Option<SizeLimit>, String> {
    Ok(number(config, key, BYTES)?.map(|bytes| SizeLimit { key, bytes }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{Entries, STARTED_KEY, TestEntry};

    const S: i64 = 1_000_000_000;
    /// 2026-01-31T00:00:00Z, the runs' start in these tests.
    const START: i64 = 1_769_817_600 * S;
    const DAY: i64 = 86_400 * S;
    const HOUR: i64 = 3600 * S;

    /// A value as blobsync hands it on.
    fn n(value: i64) -> String {
        value.to_string()
    }

    /// An age given as a date, as blobsync hands it on.
    fn at(ns: i64) -> String {
        format!("@{ns}")
    }

    fn pairs(pairs: &[(&str, String)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn limits(given: &[(&str, String)]) -> Result<Limits, String> {
        let mut pairs = pairs(given);
        pairs.push((STARTED_KEY.into(), (START / 1_000_000).to_string()));
        Limits::from_config(&Config::new(pairs))
    }

    fn without_start(given: &[(&str, String)]) -> Result<Limits, String> {
        Limits::from_config(&Config::new(pairs(given)))
    }

    fn check(limits: &Limits, endpoint: EndpointKind, entry: TestEntry) -> Option<String> {
        let batch = Entries::of(endpoint, &[entry]);
        let entry = batch.iter().next().unwrap();
        limits.exclusion(&entry)
    }

    fn local(limits: &Limits, size: u64, mtime_ns: i64) -> Option<String> {
        check(
            limits,
            EndpointKind::Local,
            TestEntry::file("f", size).mtime(mtime_ns),
        )
    }

    #[test]
    fn include_after_passes_files_modified_on_or_after_it() {
        let at = START + DAY;
        let l = limits(&[("include-after", n(at))]).unwrap();
        assert_eq!(local(&l, 1, at), None);
        assert_eq!(local(&l, 1, at + 5 * DAY), None);
        assert_eq!(
            local(&l, 1, at - 1).as_deref(),
            Some(
                "modified 2026-01-31T23:59:59.999999999Z, before --include-after \
                 2026-02-01T00:00:00Z"
            )
        );
    }

    #[test]
    fn include_before_passes_files_modified_on_or_before_it() {
        let at = START + 10 * HOUR;
        let l = limits(&[("include-before", n(at))]).unwrap();
        assert_eq!(local(&l, 1, at), None);
        assert_eq!(local(&l, 1, 0), None);
        assert_eq!(
            local(&l, 1, at + S).as_deref(),
            Some("modified 2026-01-31T10:00:01Z, after --include-before 2026-01-31T10:00:00Z")
        );
        // Before 1970 too.
        let l = limits(&[("include-before", n(-S))]).unwrap();
        assert_eq!(local(&l, 1, -2 * S), None);
        assert!(local(&l, 1, 0).is_some());
    }

    #[test]
    fn max_age_counts_back_from_the_runs_start() {
        let l = limits(&[("max-age", n(7 * DAY))]).unwrap();
        let cutoff = START - 7 * DAY;
        assert_eq!(local(&l, 1, cutoff), None);
        assert_eq!(local(&l, 1, START), None);
        assert_eq!(
            local(&l, 1, cutoff - S).as_deref(),
            Some("modified 2026-01-23T23:59:59Z, before --max-age 7d (2026-01-24T00:00:00Z)")
        );
    }

    #[test]
    fn min_age_counts_back_from_the_runs_start() {
        let l = limits(&[("min-age", n(36 * HOUR))]).unwrap();
        let cutoff = START - 36 * HOUR;
        assert_eq!(local(&l, 1, cutoff), None);
        assert_eq!(local(&l, 1, 0), None);
        assert_eq!(
            local(&l, 1, cutoff + 1).as_deref(),
            Some(
                "modified 2026-01-29T12:00:00.000000001Z, after --min-age 1d12h \
                 (2026-01-29T12:00:00Z)"
            )
        );
    }

    #[test]
    fn an_age_given_as_a_date_needs_no_start_time() {
        let l = without_start(&[("max-age", at(START - 7 * DAY))]).unwrap();
        assert_eq!(local(&l, 1, START - 7 * DAY), None);
        assert_eq!(
            local(&l, 1, START - 8 * DAY).as_deref(),
            Some("modified 2026-01-23T00:00:00Z, before --max-age 2026-01-24T00:00:00Z")
        );
        let err = without_start(&[("min-age", n(7 * DAY))]).err().unwrap();
        assert!(
            err.starts_with("--min-age 7d counts back from the run's start")
                && err.contains("blobsync.run-started-ms")
                && err.contains("e.g. --min-age 2026-01-31"),
            "{err}"
        );
    }

    #[test]
    fn ages_are_shown_in_the_units_blobsync_reads() {
        assert_eq!(format_age(0), "0s");
        assert_eq!(format_age(7 * DAY as u64), "7d");
        assert_eq!(format_age(90 * 60 * S as u64), "1h30m");
        assert_eq!(format_age(1_500_000_000), "1s500ms");
        assert_eq!(format_age(1_001), "1us1ns");
    }

    #[test]
    fn max_size_passes_sizes_up_to_it() {
        let l = limits(&[("max-size", n(10 << 20))]).unwrap();
        assert_eq!(local(&l, 10 << 20, 0), None);
        assert_eq!(local(&l, 0, 0), None);
        assert_eq!(
            local(&l, 12 << 20, 0).as_deref(),
            Some("size 12.0 MiB is above --max-size 10.0 MiB")
        );
        // Just over: the rounded sizes would read the same, so bytes are shown.
        assert_eq!(
            local(&l, (10 << 20) + 1, 0).as_deref(),
            Some("size 10485761 bytes is above --max-size 10.0 MiB (10485760 bytes)")
        );
    }

    #[test]
    fn min_size_passes_sizes_from_it() {
        let l = limits(&[("min-size", n(1500))]).unwrap();
        assert_eq!(local(&l, 1500, 0), None);
        assert_eq!(local(&l, u64::MAX, 0), None);
        assert_eq!(
            local(&l, 1499, 0).as_deref(),
            Some("size 1499 bytes is below --min-size 1.5 KiB (1500 bytes)")
        );
        assert_eq!(
            local(&l, 10, 0).as_deref(),
            Some("size 10 B is below --min-size 1.5 KiB")
        );
    }

    #[test]
    fn sizes_are_shown_in_iec_units() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(12 << 20), "12.0 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(1024 + 51), "1.0 KiB");
        assert_eq!(format_size(1024 + 52), "1.1 KiB");
        assert_eq!(format_size((10 << 20) - 1), "10.0 MiB");
        assert_eq!(format_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn directories_always_pass() {
        let l = limits(&[
            ("min-size", n(1)),
            ("include-after", n(START - 30 * DAY)),
            ("min-age", n(DAY)),
        ])
        .unwrap();
        for endpoint in [EndpointKind::Local, EndpointKind::AzureBlob] {
            assert_eq!(check(&l, endpoint, TestEntry::dir("d")), None);
            assert!(check(&l, endpoint, TestEntry::file("f", 0)).is_some());
        }
    }

    #[test]
    fn a_blob_is_judged_by_its_stored_modification_time() {
        let l = limits(&[("include-after", n(START - 30 * DAY))]).unwrap();
        let old = START - 60 * DAY;
        let uploaded_today = TestEntry::file("f", 1).mtime(START);
        assert_eq!(
            check(&l, EndpointKind::AzureBlob, uploaded_today.clone()),
            None
        );
        let reason = check(
            &l,
            EndpointKind::AzureBlob,
            uploaded_today.stored_mtime(old),
        );
        assert_eq!(
            reason.as_deref(),
            Some("modified 2025-12-02T00:00:00Z, before --include-after 2026-01-01T00:00:00Z")
        );
        assert!(l.reads_times());
        assert!(!limits(&[("max-size", n(1))]).unwrap().reads_times());
    }

    #[test]
    fn a_value_blobsync_would_not_hand_on_names_its_key() {
        for (key, value) in [
            ("include-after", "2026-01-31"),
            ("include-before", "1.5"),
            ("max-age", "7d"),
            ("min-age", "@2026-01-31"),
            ("max-age", "-1"),
            ("max-size", "10M"),
            ("min-size", "-1"),
        ] {
            let err = limits(&[(key, value.to_string())]).err().unwrap();
            assert!(
                err.starts_with(&format!("config `{key}` = {value:?} is not a whole number"))
                    && err.contains(&format!("--{key}")),
                "{err}"
            );
        }
    }

    #[test]
    fn limits_no_file_could_meet_are_errors() {
        let err = limits(&[
            ("include-after", n(START + DAY)),
            ("include-before", n(START - 30 * DAY)),
        ])
        .err()
        .unwrap();
        assert!(
            err.starts_with(
                "--include-after 2026-02-01T00:00:00Z is later than --include-before \
                 2026-01-01T00:00:00Z"
            ),
            "{err}"
        );
        let err = limits(&[("max-age", n(DAY)), ("min-age", n(7 * DAY))])
            .err()
            .unwrap();
        assert!(
            err.starts_with(
                "--max-age 1d (2026-01-30T00:00:00Z) is later than --min-age 7d \
                 (2026-01-24T00:00:00Z)"
            ),
            "{err}"
        );
        let err = limits(&[("include-after", n(START - 12 * HOUR)), ("min-age", n(DAY))])
            .err()
            .unwrap();
        assert!(err.contains("--min-age 1d"), "{err}");
        let err = limits(&[("min-size", n(10 << 20)), ("max-size", n(1 << 20))])
            .err()
            .unwrap();
        assert_eq!(
            err,
            "--min-size 10.0 MiB (10485760 bytes) is larger than --max-size 1.0 MiB (1048576 \
             bytes): no file can be both; check the two values"
        );
        let err = limits(&[("min-size", n(2)), ("max-size", n(1))])
            .err()
            .unwrap();
        assert!(
            err.starts_with("--min-size 2 B is larger than --max-size 1 B"),
            "{err}"
        );
    }

    #[test]
    fn limits_that_leave_a_window_are_accepted() {
        let l = limits(&[("max-age", n(7 * DAY)), ("min-age", n(DAY))]).unwrap();
        assert_eq!(local(&l, 1, START - 3 * DAY), None);
        assert!(local(&l, 1, START).is_some());
        assert!(local(&l, 1, START - 8 * DAY).is_some());
        assert!(limits(&[("min-size", n(1024)), ("max-size", n(1024))]).is_ok());
        assert!(limits(&[("include-after", n(START)), ("include-before", n(START))]).is_ok());
    }
}
