//! The time and size limits on files: `include-after` / `include-before` (azcopy),
//! `max-age` / `min-age` and `max-size` / `min-size` (rclone). Read and checked against
//! each other once, in `configure`; each file then costs a few integer comparisons, and a
//! string only when it is excluded.

use blobsync_plugin::{Config, EndpointKind, Entry, format_rfc3339_ns};

use crate::age::{self, AGE_EXAMPLES, Age, INSTANT_EXAMPLES};
use crate::size::{SIZE_EXAMPLES, format_size, parse_size};

/// A bound on when a file was modified.
struct TimeLimit {
    key: &'static str,
    /// As reasons show it: the point in time, after the age typed if one was
    /// (`7d (2026-01-24T00:00:00Z)`).
    shown: String,
    at_ns: i64,
}

/// A bound on a file's size.
struct SizeLimit {
    key: &'static str,
    /// As typed, e.g. `10M`.
    text: String,
    bytes: u64,
}

impl SizeLimit {
    fn describe(&self) -> String {
        format!("--{} {} ({} bytes)", self.key, self.text, self.bytes)
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
    /// Reads the limits. Every bad value is an error naming the key and the value with
    /// an example, and so are limits no file could meet together.
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

/// `size 12.0 MiB is above --max-size 10M`; in bytes when the rounded sizes look the same.
fn size_reason(size: u64, relation: &str, limit: &SizeLimit) -> String {
    let shown = format_size(size);
    if shown == format_size(limit.bytes) {
        return format!("size {size} bytes is {relation} {}", limit.describe());
    }
    format!("size {shown} is {relation} --{} {}", limit.key, limit.text)
}

fn point_in_time(config: &Config, key: &'static str) -> Result<Option<TimeLimit>, String> {
    let Some(text) = config.get(key) else {
        return Ok(None);
    };
    let at_ns = age::parse_instant(text).ok_or_else(|| {
        format!("--{key} {text:?} is not a date or date-time; write e.g. {INSTANT_EXAMPLES}")
    })?;
    Ok(Some(TimeLimit {
        key,
        shown: format_rfc3339_ns(at_ns),
        at_ns,
    }))
}

fn age_limit(config: &Config, key: &'static str) -> Result<Option<TimeLimit>, String> {
    let Some(text) = config.get(key) else {
        return Ok(None);
    };
    let age = age::parse_age(text)
        .map_err(|e| format!("--{key} {text:?}: {e}; write e.g. {AGE_EXAMPLES}"))?;
    let limit = match age {
        Age::At(at_ns) => TimeLimit {
            key,
            shown: format_rfc3339_ns(at_ns),
            at_ns,
        },
        Age::Before(age_ns) => {
            let text = text.trim();
            let started_ms = config.run_started_ms().ok_or_else(|| {
                format!(
                    "--{key} {text} counts back from the run's start, but blobsync passed no \
                     start time (blobsync.run-started-ms; blobsync 0.2 or later does); give a \
                     date instead, e.g. --{key} 2026-01-31"
                )
            })?;
            let started_ns = i64::try_from(started_ms)
                .ok()
                .and_then(|ms| ms.checked_mul(1_000_000))
                .ok_or_else(|| format!("blobsync.run-started-ms {started_ms} is out of range"))?;
            let at_ns = started_ns.saturating_sub(age_ns);
            TimeLimit {
                key,
                shown: format!("{text} ({})", format_rfc3339_ns(at_ns)),
                at_ns,
            }
        }
    };
    Ok(Some(limit))
}

fn size_limit(config: &Config, key: &'static str) -> Result<Option<SizeLimit>, String> {
    let Some(text) = config.get(key) else {
        return Ok(None);
    };
    let bytes = parse_size(text)
        .map_err(|e| format!("--{key} {text:?}: {e}; write e.g. {SIZE_EXAMPLES}"))?;
    Ok(Some(SizeLimit {
        key,
        text: text.trim().to_string(),
        bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{Entries, STARTED_KEY, TestEntry};

    const S: i64 = 1_000_000_000;
    /// 2026-01-31T00:00:00Z, the runs' start in these tests.
    const START: i64 = 1_769_817_600 * S;
    const DAY: i64 = 86_400 * S;

    fn limits(pairs: &[(&str, &str)]) -> Result<Limits, String> {
        let mut pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.push((STARTED_KEY.into(), (START / 1_000_000).to_string()));
        Limits::from_config(&Config::new(pairs))
    }

    fn without_start(pairs: &[(&str, &str)]) -> Result<Limits, String> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Limits::from_config(&Config::new(pairs))
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
        let l = limits(&[("include-after", "2026-02-01")]).unwrap();
        let at = START + DAY;
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
        let l = limits(&[("include-before", "2026-01-31T12:00:00+02:00")]).unwrap();
        let at = START + 10 * 3600 * S;
        assert_eq!(local(&l, 1, at), None);
        assert_eq!(local(&l, 1, 0), None);
        assert_eq!(
            local(&l, 1, at + S).as_deref(),
            Some("modified 2026-01-31T10:00:01Z, after --include-before 2026-01-31T10:00:00Z")
        );
    }

    #[test]
    fn max_age_counts_back_from_the_runs_start() {
        let l = limits(&[("max-age", "7d")]).unwrap();
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
        let l = limits(&[("min-age", "36h")]).unwrap();
        let cutoff = START - 36 * 3600 * S;
        assert_eq!(local(&l, 1, cutoff), None);
        assert_eq!(local(&l, 1, 0), None);
        assert_eq!(
            local(&l, 1, cutoff + 1).as_deref(),
            Some(
                "modified 2026-01-29T12:00:00.000000001Z, after --min-age 36h \
                 (2026-01-29T12:00:00Z)"
            )
        );
    }

    #[test]
    fn an_age_given_as_a_date_needs_no_start_time() {
        let l = without_start(&[("max-age", "2026-01-24")]).unwrap();
        assert_eq!(local(&l, 1, START - 7 * DAY), None);
        assert_eq!(
            local(&l, 1, START - 8 * DAY).as_deref(),
            Some("modified 2026-01-23T00:00:00Z, before --max-age 2026-01-24T00:00:00Z")
        );
        let err = without_start(&[("min-age", "7d")]).err().unwrap();
        assert!(
            err.starts_with("--min-age 7d counts back from the run's start")
                && err.contains("blobsync.run-started-ms")
                && err.contains("e.g. --min-age 2026-01-31"),
            "{err}"
        );
    }

    #[test]
    fn max_size_passes_sizes_up_to_it() {
        let l = limits(&[("max-size", "10M")]).unwrap();
        assert_eq!(local(&l, 10 << 20, 0), None);
        assert_eq!(local(&l, 0, 0), None);
        assert_eq!(
            local(&l, 12 << 20, 0).as_deref(),
            Some("size 12.0 MiB is above --max-size 10M")
        );
        // Just over: the rounded sizes would read the same, so bytes are shown.
        assert_eq!(
            local(&l, (10 << 20) + 1, 0).as_deref(),
            Some("size 10485761 bytes is above --max-size 10M (10485760 bytes)")
        );
    }

    #[test]
    fn min_size_passes_sizes_from_it() {
        let l = limits(&[("min-size", "1.5KB")]).unwrap();
        assert_eq!(local(&l, 1500, 0), None);
        assert_eq!(local(&l, u64::MAX, 0), None);
        assert_eq!(
            local(&l, 1499, 0).as_deref(),
            Some("size 1499 bytes is below --min-size 1.5KB (1500 bytes)")
        );
        assert_eq!(
            local(&l, 10, 0).as_deref(),
            Some("size 10 B is below --min-size 1.5KB")
        );
    }

    #[test]
    fn directories_always_pass() {
        let l = limits(&[
            ("min-size", "1"),
            ("include-after", "2026-01-01"),
            ("min-age", "1d"),
        ])
        .unwrap();
        for endpoint in [EndpointKind::Local, EndpointKind::AzureBlob] {
            assert_eq!(check(&l, endpoint, TestEntry::dir("d")), None);
            assert!(check(&l, endpoint, TestEntry::file("f", 0)).is_some());
        }
    }

    #[test]
    fn a_blob_is_judged_by_its_stored_modification_time() {
        let l = limits(&[("include-after", "2026-01-01")]).unwrap();
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
        assert!(!limits(&[("max-size", "1")]).unwrap().reads_times());
    }

    #[test]
    fn every_bad_value_names_its_key_and_shows_an_example() {
        for (key, value, example) in [
            ("include-after", "2026-13-01", "2026-01-31T15:04:00Z"),
            ("include-before", "31/01/2026", "2026-01-31T15:04:00Z"),
            ("max-age", "7 days", "7d"),
            ("min-age", "2026-02-30", "1M (30 days)"),
            ("max-size", "10Q", "1.5GiB"),
            ("min-size", "-1", "500KB"),
        ] {
            let err = limits(&[(key, value)]).err().unwrap();
            assert!(
                err.starts_with(&format!("--{key} {value:?}")) && err.contains(example),
                "{err}"
            );
        }
    }

    #[test]
    fn limits_no_file_could_meet_are_errors() {
        let err = limits(&[
            ("include-after", "2026-02-01"),
            ("include-before", "2026-01-01"),
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
        let err = limits(&[("max-age", "1d"), ("min-age", "7d")])
            .err()
            .unwrap();
        assert!(
            err.starts_with(
                "--max-age 1d (2026-01-30T00:00:00Z) is later than --min-age 7d \
                 (2026-01-24T00:00:00Z)"
            ),
            "{err}"
        );
        let err = limits(&[("include-after", "2026-01-30T12:00"), ("min-age", "1d")])
            .err()
            .unwrap();
        assert!(err.contains("--min-age 1d"), "{err}");
        let err = limits(&[("min-size", "10M"), ("max-size", "1M")])
            .err()
            .unwrap();
        assert_eq!(
            err,
            "--min-size 10M (10485760 bytes) is larger than --max-size 1M (1048576 bytes): \
             no file can be both; check the two values"
        );
    }

    #[test]
    fn limits_that_leave_a_window_are_accepted() {
        let l = limits(&[("max-age", "7d"), ("min-age", "1d")]).unwrap();
        assert_eq!(local(&l, 1, START - 3 * DAY), None);
        assert!(local(&l, 1, START).is_some());
        assert!(local(&l, 1, START - 8 * DAY).is_some());
        assert!(limits(&[("min-size", "1K"), ("max-size", "1024")]).is_ok());
        assert!(
            limits(&[
                ("include-after", "2026-01-01"),
                ("include-before", "2026-01-01")
            ])
            .is_ok()
        );
    }
}
