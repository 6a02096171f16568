//! Modification times compared as blobsync's default comparator compares them: exact times
//! (a local file's own, or the one stored in a blob's `mtime` metadata) within a window,
//! else azcopy's whole-second rule on a blob's Last-Modified.
//!
//! `md5-compare` compiles this same file (`#[path]`) for `missing-md5 = size-time` and
//! `update`, so both comparators read `modify-window` and judge times identically.

use blobsync_plugin::comparator::Decision;
use blobsync_plugin::{Config, EndpointKind, Entry, format_rfc3339_ns};

const NS_PER_S: i64 = 1_000_000_000;

/// How times are compared: the configured window, widened to the run's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRule {
    window_ns: i64,
}

/// Parses a duration: an integer followed by `ns`, `us`, `ms`, `s`, `m` or `h`; `0` alone
/// is also accepted.
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (use ns, us, ms, s, m or h)"))?;
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let scale = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => NS_PER_S,
        "m" => 60 * NS_PER_S,
        "h" => 3600 * NS_PER_S,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ns, us, ms, s, m or h)"
            ));
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A side's modification time and whether it is exact (local, or stored in metadata)
/// rather than a blob's Last-Modified.
fn mtime(entry: &Entry<'_>) -> (i64, bool) {
    match entry.endpoint {
        EndpointKind::Local => (entry.mtime_ns, true),
        EndpointKind::AzureBlob => match entry.stored_mtime_ns() {
            Some(ns) => (ns, true),
            None => (entry.mtime_ns, false),
        },
    }
}

/// azcopy's rule: copy if the source is strictly newer, in whole seconds (a blob's
/// Last-Modified has no finer precision).
pub fn lmt_rule(src_ns: i64, dst_ns: i64) -> Decision {
    let (s, d) = (src_ns.div_euclid(NS_PER_S), dst_ns.div_euclid(NS_PER_S));
    if s > d {
        Decision::transfer(format!(
            "source is newer ({} > {}; the blob has no stored mtime)",
            format_rfc3339_ns(s * NS_PER_S),
            format_rfc3339_ns(d * NS_PER_S)
        ))
    } else {
        Decision::skip("destination is not older than the source (no stored mtime)")
    }
}

impl TimeRule {
    /// Reads `modify-window` (a duration such as `2s` or `500ms`; default `0`). The window
    /// is at least the run's time precision (`blobsync.time-precision-ns`) less a
    /// nanosecond: a file system that keeps whole seconds cannot hold a blob's nanoseconds.
    pub fn from_config(config: &Config) -> Result<TimeRule, String> {
        let window_ns = match config.get("modify-window") {
            None => 0,
            Some(v) => parse_duration_ns(v).map_err(|e| format!("config `modify-window`: {e}"))?,
        };
        let precision = i64::try_from(config.time_precision_ns()).unwrap_or(i64::MAX);
        Ok(TimeRule {
            window_ns: window_ns.max(precision - 1),
        })
    }

    /// The decision for a pair of the same size: exact times are copied when they differ
    /// by more than the window, in either direction; otherwise azcopy's rule applies.
    pub fn compare(&self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        let (src, src_exact) = mtime(source);
        let (dst, dst_exact) = mtime(destination);
        if !(src_exact && dst_exact) {
            return lmt_rule(src, dst);
        }
        if src.abs_diff(dst) > self.window_ns.unsigned_abs() {
            Decision::transfer(format!(
                "modification time differs (source {}, destination {})",
                format_rfc3339_ns(src),
                format_rfc3339_ns(dst)
            ))
        } else {
            Decision::skip("same size and modification time")
        }
    }

    /// True when the destination was modified later than the source by more than the
    /// window (rclone's `--update`). With a Last-Modified on either side, whole seconds
    /// are compared, as azcopy's rule does.
    pub fn destination_is_newer(&self, source: &Entry<'_>, destination: &Entry<'_>) -> bool {
        let (mut src, src_exact) = mtime(source);
        let (mut dst, dst_exact) = mtime(destination);
        if !(src_exact && dst_exact) {
            src = src.div_euclid(NS_PER_S) * NS_PER_S;
            dst = dst.div_euclid(NS_PER_S) * NS_PER_S;
        }
        dst.saturating_sub(src) > self.window_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{Entries, TestEntry};

    const T: i64 = 1_700_000_000 * NS_PER_S + 123_456_789;

    fn rule(pairs: &[(&str, &str)]) -> TimeRule {
        TimeRule::from_config(&Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
        .unwrap()
    }

    fn newer(rule: &TimeRule, source: &Entries, destination: &Entries) -> bool {
        let (s, d) = (source.iter().next(), destination.iter().next());
        rule.destination_is_newer(&s.unwrap(), &d.unwrap())
    }

    fn local(mtime_ns: i64) -> Entries {
        Entries::of(
            EndpointKind::Local,
            &[TestEntry::file("f", 1).mtime(mtime_ns)],
        )
    }

    fn blob(lmt_ns: i64, stored: Option<i64>) -> Entries {
        let mut e = TestEntry::file("f", 1).mtime(lmt_ns);
        e.stored_mtime_ns = stored;
        Entries::of(EndpointKind::AzureBlob, &[e])
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert_eq!(parse_duration_ns("1500ms"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("2h"), Ok(7200 * NS_PER_S));
        assert!(parse_duration_ns("2").is_err());
        assert!(parse_duration_ns("2 days").is_err());
        let err = TimeRule::from_config(&Config::new(vec![("modify-window".into(), "x".into())]));
        assert!(err.unwrap_err().contains("modify-window"));
    }

    #[test]
    fn newer_means_beyond_the_window() {
        let exact = rule(&[]);
        assert!(newer(&exact, &local(T), &blob(0, Some(T + 1))));
        assert!(!newer(&exact, &local(T), &blob(0, Some(T))));
        assert!(!newer(&exact, &local(T + 1), &blob(0, Some(T))));
        let windowed = rule(&[("modify-window", "2s")]);
        assert!(!newer(
            &windowed,
            &local(T),
            &blob(0, Some(T + 2 * NS_PER_S))
        ));
        assert!(newer(
            &windowed,
            &local(T),
            &blob(0, Some(T + 2 * NS_PER_S + 1))
        ));
    }

    #[test]
    fn newer_compares_whole_seconds_against_a_last_modified() {
        let r = rule(&[]);
        let second = T - T % NS_PER_S;
        // The blob was written within the source's second: not known to be newer.
        assert!(!newer(&r, &local(T), &blob(second, None)));
        assert!(newer(&r, &local(T), &blob(second + NS_PER_S, None)));
    }
}
