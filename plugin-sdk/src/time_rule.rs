//! Modification times compared as blobsync's default comparator compares them, for every
//! comparator that wants the same judgement: `mtime-compare` itself, and `md5-compare`
//! for `missing-md5 = size-time` and `update`. Re-exported from [`crate::comparator`].

use crate::comparator::Decision;
use crate::{EndpointKind, Entry, format_rfc3339_ns};

const NS_PER_S: i64 = 1_000_000_000;

/// How blobsync's default comparator compares modification times: exact times (a local
/// file's own, or the one stored in a blob's `mtime` metadata) within a window, else
/// azcopy's whole-second rule ([`lmt_rule`]) on a blob's Last-Modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRule {
    window_ns: u64,
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
    /// Times `window_ns` apart or closer count as equal. The window is at least the run's
    /// precision less a nanosecond (`precision_ns`, from
    /// [`Config::time_precision_ns`](crate::Config::time_precision_ns)): a file system
    /// that keeps whole seconds cannot hold a blob's nanoseconds.
    pub fn new(window_ns: u64, precision_ns: u64) -> TimeRule {
        TimeRule {
            window_ns: window_ns.max(precision_ns.saturating_sub(1)),
        }
    }

    /// The decision for a pair of the same size: exact times are copied when they differ
    /// by more than the window, in either direction; otherwise azcopy's rule applies.
    pub fn compare(&self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        let (src, src_exact) = mtime(source);
        let (dst, dst_exact) = mtime(destination);
        if !(src_exact && dst_exact) {
            return lmt_rule(src, dst);
        }
        if src.abs_diff(dst) > self.window_ns {
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
        dst > src && dst.abs_diff(src) > self.window_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entries, TestEntry};

    const T: i64 = 1_700_000_000 * NS_PER_S + 123_456_789;

    fn newer(rule: &TimeRule, source: &Entries, destination: &Entries) -> bool {
        let (s, d) = (source.iter().next(), destination.iter().next());
        rule.destination_is_newer(&s.unwrap(), &d.unwrap())
    }

    fn compare(rule: &TimeRule, source: &Entries, destination: &Entries) -> Decision {
        let (s, d) = (source.iter().next(), destination.iter().next());
        rule.compare(&s.unwrap(), &d.unwrap())
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
    fn exact_times_differ_beyond_the_window_in_either_direction() {
        let exact = TimeRule::new(0, 1);
        assert!(
            compare(&exact, &local(T), &blob(0, Some(T)))
                .reason
                .starts_with("same")
        );
        let later = compare(&exact, &local(T), &blob(0, Some(T + 1)));
        assert_eq!(
            later.reason,
            "modification time differs (source 2023-11-14T22:13:20.123456789Z, destination \
             2023-11-14T22:13:20.12345679Z)"
        );
        let windowed = TimeRule::new(2 * NS_PER_S as u64, 1);
        let d = compare(&windowed, &local(T - 2 * NS_PER_S), &blob(0, Some(T)));
        assert!(d.reason.starts_with("same"), "{}", d.reason);
        let d = compare(&windowed, &local(T + 2 * NS_PER_S + 1), &blob(0, Some(T)));
        assert!(
            d.reason.starts_with("modification time differs"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn the_window_is_at_least_the_runs_precision() {
        let whole_seconds = TimeRule::new(0, NS_PER_S as u64);
        let truncated = T - T % NS_PER_S;
        let d = compare(&whole_seconds, &local(truncated), &blob(0, Some(T)));
        assert!(d.reason.starts_with("same"), "{}", d.reason);
        assert_eq!(TimeRule::new(5, 0), TimeRule::new(5, 1));
    }

    #[test]
    fn newer_means_beyond_the_window() {
        let exact = TimeRule::new(0, 1);
        assert!(newer(&exact, &local(T), &blob(0, Some(T + 1))));
        assert!(!newer(&exact, &local(T), &blob(0, Some(T))));
        assert!(!newer(&exact, &local(T + 1), &blob(0, Some(T))));
        let windowed = TimeRule::new(2 * NS_PER_S as u64, 1);
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
        let r = TimeRule::new(0, 1);
        let second = T - T % NS_PER_S;
        // The blob was written within the source's second: not known to be newer.
        assert!(!newer(&r, &local(T), &blob(second, None)));
        assert!(newer(&r, &local(T), &blob(second + NS_PER_S, None)));
        let d = compare(&r, &local(second + 2 * NS_PER_S), &blob(second, None));
        assert!(d.reason.starts_with("source is newer"), "{}", d.reason);
    }
}
