//! blobsync's default comparator: size plus modification time.
//!
//! blobsync stores each uploaded file's own modification time (nanoseconds) in the blob's
//! metadata (`mtime`, RFC 3339, the key and format rclone uses) and restores it on
//! download. When every blob in a pair carries it, a file is copied if its size differs or
//! its modification time differs by more than `modify-window`, in either direction (an
//! older file restored at the source is copied too).
//!
//! For blobs written by other tools there is no stored time, only the service's
//! Last-Modified (1 s precision). Then azcopy's rule applies: copy if the source is
//! strictly newer, comparing whole seconds. Unlike azcopy, a size difference is always
//! copied.
//!
//! Config: `modify-window` (a duration such as `2s` or `500ms`; default `0`), and
//! `strict-lmt = true` to use azcopy's rule alone (ignore sizes and stored times). The
//! window is at least the run's time precision (`blobsync.time-precision-ns`, set by the
//! host) less a nanosecond, so times a coarse file system rounded still match.

use blobsync_plugin::comparator::{Comparator, Decision};
use blobsync_plugin::{Config, EndpointKind, Entry, EntryFields, format_rfc3339_ns};

const NS_PER_S: i64 = 1_000_000_000;

/// The configured comparator.
pub struct MtimeCompare {
    window_ns: i64,
    strict_lmt: bool,
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

impl MtimeCompare {
    /// azcopy's rule: copy if the source is strictly newer, in whole seconds (a blob's
    /// Last-Modified has no finer precision).
    fn lmt_rule(&self, src_ns: i64, dst_ns: i64) -> Decision {
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
}

impl Comparator for MtimeCompare {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["modify-window", "strict-lmt"])?;
        let window_ns = match config.get("modify-window") {
            None => 0,
            Some(v) => parse_duration_ns(v).map_err(|e| format!("config `modify-window`: {e}"))?,
        };
        // Times are compared at the coarser side's precision: a file system that keeps
        // whole seconds cannot hold a blob's nanoseconds.
        let precision = i64::try_from(config.time_precision_ns()).unwrap_or(i64::MAX);
        let window_ns = window_ns.max(precision - 1);
        let strict_lmt = config.flag("strict-lmt")?.unwrap_or(false);
        Ok(MtimeCompare {
            window_ns,
            strict_lmt,
        })
    }

    /// The stored modification times of blobs, parsed by the host: no path, metadata or
    /// string crosses for a pair.
    fn fields(&self) -> EntryFields {
        EntryFields::STORED_MTIME
    }

    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        if self.strict_lmt {
            return self.lmt_rule(source.mtime_ns, destination.mtime_ns);
        }
        if source.size != destination.size {
            return Decision::transfer(format!(
                "size differs ({} bytes at the source, {} at the destination)",
                source.size, destination.size
            ));
        }
        let (src, src_exact) = mtime(source);
        let (dst, dst_exact) = mtime(destination);
        if !(src_exact && dst_exact) {
            return self.lmt_rule(src, dst);
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
}

blobsync_plugin::export_comparator!(MtimeCompare);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(pairs: &[(&str, &str)]) -> MtimeCompare {
        MtimeCompare::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
        .unwrap()
    }

    use blobsync_plugin::{Entries, TestEntry};

    fn local(size: u64, mtime_ns: i64) -> Entries {
        Entries::of(
            EndpointKind::Local,
            &[TestEntry::file("f", size).mtime(mtime_ns)],
        )
    }

    fn blob(size: u64, lmt_ns: i64, stored: Option<i64>) -> Entries {
        let mut e = TestEntry::file("f", size).mtime(lmt_ns);
        e.stored_mtime_ns = stored;
        Entries::of(EndpointKind::AzureBlob, &[e])
    }

    trait CompareOne {
        fn compare_one(&mut self, source: &Entries, destination: &Entries) -> Decision;
    }

    impl CompareOne for MtimeCompare {
        fn compare_one(&mut self, source: &Entries, destination: &Entries) -> Decision {
            self.compare_batch(source, destination).remove(0)
        }
    }

    const T: i64 = 1_700_000_000 * NS_PER_S + 123_456_789;

    #[test]
    fn same_size_and_stored_mtime_is_skipped() {
        let d = cmp(&[]).compare_one(&local(10, T), &blob(10, T + 5 * NS_PER_S, Some(T)));
        assert!(
            matches!(d.action, blobsync_plugin::comparator::Action::Skip),
            "{}",
            d.reason
        );
    }

    #[test]
    fn an_older_source_with_a_stored_mtime_is_copied() {
        let d = cmp(&[]).compare_one(
            &local(10, T - NS_PER_S),
            &blob(10, T + 5 * NS_PER_S, Some(T)),
        );
        assert!(
            d.reason.starts_with("modification time differs"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn times_are_compared_at_the_runs_precision() {
        // A whole-second file system kept T's second only.
        let truncated = T - T % NS_PER_S;
        let exact = cmp(&[]).compare_one(&local(10, truncated), &blob(10, T, Some(T)));
        assert!(
            exact.reason.starts_with("modification time differs"),
            "{}",
            exact.reason
        );
        let coarse = cmp(&[("blobsync.time-precision-ns", "1000000000")]);
        let mut coarse = coarse;
        let d = coarse.compare_one(&local(10, truncated), &blob(10, T, Some(T)));
        assert!(
            matches!(d.action, blobsync_plugin::comparator::Action::Skip),
            "{}",
            d.reason
        );
        let d = coarse.compare_one(&local(10, truncated - NS_PER_S), &blob(10, T, Some(T)));
        assert!(
            d.reason.starts_with("modification time differs"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn size_change_is_copied_even_if_older() {
        let d = cmp(&[]).compare_one(&local(11, T - 100 * NS_PER_S), &blob(10, T, None));
        assert!(d.reason.starts_with("size differs"), "{}", d.reason);
    }

    #[test]
    fn without_stored_mtime_azcopy_rule_applies_in_whole_seconds() {
        let mut c = cmp(&[]);
        // Same second: not newer.
        let lmt = (T / NS_PER_S) * NS_PER_S;
        let d = c.compare_one(&local(10, T), &blob(10, lmt, None));
        assert!(d.reason.contains("not older"), "{}", d.reason);
        let d = c.compare_one(&local(10, lmt + 2 * NS_PER_S), &blob(10, lmt, None));
        assert!(d.reason.starts_with("source is newer"), "{}", d.reason);
    }

    #[test]
    fn modify_window_tolerates_small_differences() {
        let mut c = cmp(&[("modify-window", "2s")]);
        let d = c.compare_one(&local(10, T + NS_PER_S), &blob(10, 0, Some(T)));
        assert!(d.reason.starts_with("same size"), "{}", d.reason);
    }

    #[test]
    fn strict_lmt_ignores_size() {
        let d = cmp(&[("strict-lmt", "true")]).compare_one(&local(99, T), &blob(10, T, Some(T)));
        assert!(d.reason.contains("not older"), "{}", d.reason);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert_eq!(parse_duration_ns("1500ms"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("2h"), Ok(7200 * NS_PER_S));
        assert!(parse_duration_ns("2").is_err());
        assert!(parse_duration_ns("2 days").is_err());
        let err = MtimeCompare::configure(Config::new(vec![("modify-window".into(), "x".into())]));
        assert!(err.is_err());
    }
}
