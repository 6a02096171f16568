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
//! | key | value | effect |
//! |---|---|---|
//! | `modify-window` | whole nanoseconds; default `0` | times this close count as equal; at least the run's precision (`blobsync.time-precision-ns`, set by the host) less a nanosecond, so times a coarse file system rounded still match |
//! | `strict-lmt` | `true`/`false` | azcopy's rule alone: ignore sizes and stored times |
//! | `size-only` | `true`/`false` | rclone's `--size-only`: the same size is skipped, whatever the times |
//! | `update` | `true`/`false` | rclone's `--update`: skip when the destination is newer than the source by more than the window; otherwise decide as usual |
//! | `ignore-existing` | `true`/`false` | rclone's `--ignore-existing`: skip every file that exists at the destination |
//! | `mirror-mode` | `true`/`false` | azcopy's `--mirror-mode`: copy every file that exists at the destination, whatever its size and times |
//!
//! blobsync reads `--modify-window` and a manifest's `modify-window` (`2s`, `1m30s`, …)
//! with its one grammar for durations and hands this plugin the nanoseconds; the times
//! are judged by the SDK's [`TimeRule`], which `md5-compare` shares.
//!
//! `mirror-mode` cannot be combined with `size-only`, `update`, `ignore-existing` or
//! `strict-lmt`, nor `size-only` with `update` or `strict-lmt`: each pair contradicts
//! itself, so it is a configuration error. With `strict-lmt`, `update` changes nothing
//! (azcopy's rule never copies a file that is newer at the destination).

use blobsync_plugin::comparator::{Comparator, Decision, TimeRule, lmt_rule};
use blobsync_plugin::{Config, Entry, EntryFields};

/// The configured comparator.
pub struct MtimeCompare {
    times: TimeRule,
    strict_lmt: bool,
    size_only: bool,
    update: bool,
    ignore_existing: bool,
    mirror_mode: bool,
}

const KEYS: &[&str] = &[
    "modify-window",
    "strict-lmt",
    "size-only",
    "update",
    "ignore-existing",
    "mirror-mode",
];

/// What each switch does, for the message refusing a contradictory pair.
fn meaning(key: &str) -> &'static str {
    match key {
        "mirror-mode" => "copies every file whatever its size and times",
        "size-only" => "compares sizes alone",
        "update" => "skips files that are newer at the destination",
        "ignore-existing" => "skips every file that exists at the destination",
        "strict-lmt" => "copies only files newer at the source, ignoring sizes",
        _ => "",
    }
}

/// Pairs of switches that contradict each other.
const CONFLICTS: &[(&str, &str)] = &[
    ("mirror-mode", "size-only"),
    ("mirror-mode", "update"),
    ("mirror-mode", "ignore-existing"),
    ("mirror-mode", "strict-lmt"),
    ("size-only", "update"),
    ("size-only", "strict-lmt"),
];

fn size_differs(source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
    Decision::transfer(format!(
        "size differs ({} bytes at the source, {} at the destination)",
        source.size, destination.size
    ))
}

impl Comparator for MtimeCompare {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(KEYS)?;
        let window_ns = config.parse::<u64>("modify-window")?.unwrap_or(0);
        let times = TimeRule::new(window_ns, config.time_precision_ns());
        let flag = |key: &str| config.flag(key).map(|v| v.unwrap_or(false));
        for (a, b) in CONFLICTS {
            if flag(a)? && flag(b)? {
                return Err(format!(
                    "--{a} and --{b} cannot be combined: --{a} {}, --{b} {}; choose one",
                    meaning(a),
                    meaning(b)
                ));
            }
        }
        Ok(MtimeCompare {
            times,
            strict_lmt: flag("strict-lmt")?,
            size_only: flag("size-only")?,
            update: flag("update")?,
            ignore_existing: flag("ignore-existing")?,
            mirror_mode: flag("mirror-mode")?,
        })
    }

    /// The stored modification times of blobs, parsed by the host: no path, metadata or
    /// string crosses for a pair. None when times are not compared at all.
    fn fields(&self) -> EntryFields {
        if self.ignore_existing || self.mirror_mode || self.size_only {
            EntryFields::empty()
        } else {
            EntryFields::STORED_MTIME
        }
    }

    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        if self.ignore_existing {
            return Decision::skip("exists at the destination (--ignore-existing)");
        }
        if self.mirror_mode {
            return Decision::transfer("--mirror-mode: copied whatever the times");
        }
        if self.size_only {
            return if source.size == destination.size {
                Decision::skip("same size (--size-only)")
            } else {
                size_differs(source, destination)
            };
        }
        if self.strict_lmt {
            return lmt_rule(source.mtime_ns, destination.mtime_ns);
        }
        if self.update && self.times.destination_is_newer(source, destination) {
            return Decision::skip("destination is newer (--update)");
        }
        if source.size != destination.size {
            return size_differs(source, destination);
        }
        self.times.compare(source, destination)
    }
}

blobsync_plugin::export_comparator!(MtimeCompare);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::EndpointKind;
    use blobsync_plugin::comparator::Action;

    const NS_PER_S: i64 = 1_000_000_000;

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
        let mut c = cmp(&[("modify-window", "2000000000")]);
        let d = c.compare_one(&local(10, T + NS_PER_S), &blob(10, 0, Some(T)));
        assert!(d.reason.starts_with("same size"), "{}", d.reason);
        let d = c.compare_one(&local(10, T + 3 * NS_PER_S), &blob(10, 0, Some(T)));
        assert!(d.reason.starts_with("modification time"), "{}", d.reason);
        // blobsync hands the window on in nanoseconds; a duration is for blobsync to read.
        let err = config(&[("modify-window", "2s")]).err().unwrap();
        assert!(
            err.contains("`modify-window`") && err.contains("2s"),
            "{err}"
        );
    }

    #[test]
    fn strict_lmt_ignores_size() {
        let d = cmp(&[("strict-lmt", "true")]).compare_one(&local(99, T), &blob(10, T, Some(T)));
        assert!(d.reason.contains("not older"), "{}", d.reason);
    }

    fn config(pairs: &[(&str, &str)]) -> Result<MtimeCompare, String> {
        MtimeCompare::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn size_only_compares_sizes_alone() {
        let mut c = cmp(&[("size-only", "true")]);
        assert_eq!(c.fields(), EntryFields::empty());
        let d = c.compare_one(&local(10, T - 100 * NS_PER_S), &blob(10, T, Some(T)));
        assert_eq!(d, Decision::skip("same size (--size-only)"));
        let d = c.compare_one(&local(11, T), &blob(10, T, Some(T)));
        assert_eq!(d.action, Action::Transfer);
        assert_eq!(
            d.reason,
            "size differs (11 bytes at the source, 10 at the destination)"
        );
    }

    #[test]
    fn update_skips_files_newer_at_the_destination() {
        let mut c = cmp(&[("update", "true")]);
        assert_eq!(c.fields(), EntryFields::STORED_MTIME);
        // Newer at the destination: skipped even though the sizes differ.
        let d = c.compare_one(&local(11, T), &blob(10, 0, Some(T + 1)));
        assert_eq!(d, Decision::skip("destination is newer (--update)"));
        // Older at the destination, or the same time: the usual decision.
        let d = c.compare_one(&local(10, T), &blob(10, 0, Some(T - 1)));
        assert!(
            d.reason.starts_with("modification time differs"),
            "{}",
            d.reason
        );
        let d = c.compare_one(&local(11, T), &blob(10, 0, Some(T)));
        assert!(d.reason.starts_with("size differs"), "{}", d.reason);
        // A Last-Modified is compared in whole seconds.
        let second = T - T % NS_PER_S;
        let d = c.compare_one(&local(11, T), &blob(10, second + NS_PER_S, None));
        assert_eq!(d, Decision::skip("destination is newer (--update)"));
        let d = c.compare_one(&local(11, T), &blob(10, second, None));
        assert_eq!(d.action, Action::Transfer);
        // Without --update a newer destination is copied over.
        let d = cmp(&[]).compare_one(&local(10, T), &blob(10, 0, Some(T + 1)));
        assert_eq!(d.action, Action::Transfer);
    }

    #[test]
    fn update_allows_the_window() {
        let mut c = cmp(&[("update", "true"), ("modify-window", "2000000000")]);
        let d = c.compare_one(&local(10, T), &blob(10, 0, Some(T + 2 * NS_PER_S)));
        assert_eq!(d, Decision::skip("same size and modification time"));
        let d = c.compare_one(&local(10, T), &blob(10, 0, Some(T + 3 * NS_PER_S)));
        assert_eq!(d, Decision::skip("destination is newer (--update)"));
    }

    #[test]
    fn ignore_existing_skips_every_pair() {
        let mut c = cmp(&[("ignore-existing", "true"), ("update", "true")]);
        assert_eq!(c.fields(), EntryFields::empty());
        for (source, destination) in [
            (local(11, T), blob(10, T, Some(T - NS_PER_S))),
            (local(10, T), blob(10, T, Some(T))),
        ] {
            let d = c.compare_one(&source, &destination);
            assert_eq!(
                d,
                Decision::skip("exists at the destination (--ignore-existing)")
            );
        }
    }

    #[test]
    fn mirror_mode_copies_every_pair() {
        let mut c = cmp(&[("mirror-mode", "true")]);
        assert_eq!(c.fields(), EntryFields::empty());
        for (source, destination) in [
            (local(10, T), blob(10, T, Some(T))),
            (local(10, T - NS_PER_S), blob(12, T, None)),
        ] {
            let d = c.compare_one(&source, &destination);
            assert_eq!(
                d,
                Decision::transfer("--mirror-mode: copied whatever the times")
            );
        }
    }

    #[test]
    fn contradictory_switches_are_errors() {
        for (a, b) in CONFLICTS {
            let err = config(&[(a, "true"), (b, "true")]).err().unwrap();
            assert!(
                err.starts_with(&format!("--{a} and --{b} cannot be combined")),
                "{err}"
            );
            // Either one alone, or with the other off, is fine.
            assert!(config(&[(a, "true"), (b, "false")]).is_ok(), "{a}");
            assert!(config(&[(b, "true")]).is_ok(), "{b}");
        }
        assert_eq!(
            config(&[("size-only", "true"), ("update", "yes")])
                .err()
                .unwrap(),
            "--size-only and --update cannot be combined: --size-only compares sizes alone, \
             --update skips files that are newer at the destination; choose one"
        );
        assert!(config(&[("update", "true"), ("ignore-existing", "true")]).is_ok());
        assert!(config(&[("update", "true"), ("strict-lmt", "true")]).is_ok());
    }

    #[test]
    fn bad_switch_values_and_keys_are_errors() {
        let err = config(&[("update", "maybe")]).err().unwrap();
        assert!(err.contains("`update`") && err.contains("maybe"), "{err}");
        let err = config(&[("size_only", "true")]).err().unwrap();
        assert!(
            err.contains("size_only") && err.contains("size-only, update, ignore-existing"),
            "{err}"
        );
    }
}
