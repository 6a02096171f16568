//! blobsync's content comparator (`--compare-hash=MD5`): copies when sizes or MD5s differ.
//!
//! The host supplies the MD5 of local files whose sizes match (computed in parallel and
//! cached); a blob's MD5 is its Content-MD5 from the listing. By default a blob without
//! Content-MD5 counts as different, as in azcopy, and the reason says so.
//!
//! | key | value | effect |
//! |---|---|---|
//! | `missing-md5` | `copy` (default) | a pair where either side has no MD5 is copied (azcopy's behaviour) |
//! | | `size-time` | such a pair is compared by size and modification time instead, exactly as `mtime-compare` does (`modify-window`, the run's `blobsync.time-precision-ns`) |
//! | | `download` | the host hashes such a blob's content before asking; a pair still without an MD5 is copied |
//! | `modify-window` | whole nanoseconds (blobsync reads `2s`, `1m30s`, … and hands on the number); default `0` | times this close count as equal (for `size-time` and `update`) |
//! | `update` | `true`/`false` | rclone's `--update`: skip when the destination is newer than the source by more than the window; otherwise decide as usual |
//! | `ignore-existing` | `true`/`false` | rclone's `--ignore-existing`: skip every file that exists at the destination (no MD5 is computed) |
//!
//! Blobs' stored modification times are asked for only when `update` or `size-time` needs
//! them, and MD5s only when a pair can be compared at all.

// The time rule of blobsync's default comparator, from the SDK, so both comparators
// judge times identically.
use blobsync_plugin::comparator::{Comparator, Decision, TimeRule};
use blobsync_plugin::{Config, EndpointKind, Entry, EntryFields};

/// What to do with a pair where a side has no MD5 (`missing-md5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MissingMd5 {
    /// Copy it (azcopy's behaviour).
    Copy,
    /// Compare size and modification time instead.
    SizeTime,
    /// The host hashes blobs without Content-MD5; still missing, copy.
    Download,
}

/// The configured comparator.
pub struct Md5Compare {
    missing_md5: MissingMd5,
    times: TimeRule,
    update: bool,
    ignore_existing: bool,
}

const KEYS: &[&str] = &["missing-md5", "modify-window", "update", "ignore-existing"];

fn describe(entry: &Entry<'_>) -> &'static str {
    match entry.endpoint {
        EndpointKind::Local => "local file",
        EndpointKind::AzureBlob => "blob",
    }
}

impl Md5Compare {
    /// The decision for a same-size pair where `source_has` / `destination_has` say which
    /// sides carry an MD5 (at least one does not).
    fn without_md5(
        &self,
        source: &Entry<'_>,
        destination: &Entry<'_>,
        source_has: bool,
        destination_has: bool,
    ) -> Decision {
        if self.missing_md5 == MissingMd5::SizeTime {
            let sides = match (source_has, destination_has) {
                (true, _) => "at the destination",
                (false, true) => "at the source",
                (false, false) => "at the source or the destination",
            };
            let by_time = self.times.compare(source, destination);
            return Decision {
                action: by_time.action,
                reason: format!(
                    "no Content-MD5 {sides}; compared size and time: {}",
                    by_time.reason
                )
                .into(),
            };
        }
        let missing = if destination_has { source } else { destination };
        let side = if destination_has {
            "source"
        } else {
            "destination"
        };
        Decision::transfer(format!(
            "{side} {} has no Content-MD5 (treated as different, as azcopy does)",
            describe(missing)
        ))
    }
}

impl Comparator for Md5Compare {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(KEYS)?;
        let missing_md5 = match config.get("missing-md5").map(str::trim) {
            None => MissingMd5::Copy,
            Some(v) if v.eq_ignore_ascii_case("copy") => MissingMd5::Copy,
            Some(v) if v.eq_ignore_ascii_case("size-time") => MissingMd5::SizeTime,
            Some(v) if v.eq_ignore_ascii_case("download") => MissingMd5::Download,
            Some(v) => {
                return Err(format!(
                    "config `missing-md5`: expected copy, size-time or download, got {v:?} \
                     (e.g. missing-md5 = \"size-time\" compares size and modification time \
                     when a side has no MD5)"
                ));
            }
        };
        Ok(Md5Compare {
            missing_md5,
            times: TimeRule::new(
                config.parse::<u64>("modify-window")?.unwrap_or(0),
                config.time_precision_ns(),
            ),
            update: config.flag("update")?.unwrap_or(false),
            ignore_existing: config.flag("ignore-existing")?.unwrap_or(false),
        })
    }

    /// MD5s (the host hashes local files whose sizes match), and blobs' stored
    /// modification times when `update` or `missing-md5 = size-time` compares times.
    /// Nothing with `ignore-existing`.
    fn fields(&self) -> EntryFields {
        if self.ignore_existing {
            return EntryFields::empty();
        }
        if self.update || self.missing_md5 == MissingMd5::SizeTime {
            EntryFields::MD5 | EntryFields::STORED_MTIME
        } else {
            EntryFields::MD5
        }
    }

    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        if self.ignore_existing {
            return Decision::skip("exists at the destination (--ignore-existing)");
        }
        if self.update && self.times.destination_is_newer(source, destination) {
            return Decision::skip("destination is newer (--update)");
        }
        if source.size != destination.size {
            return Decision::transfer(format!(
                "size differs ({} bytes at the source, {} at the destination)",
                source.size, destination.size
            ));
        }
        match (source.md5(), destination.md5()) {
            (Some(s), Some(d)) if s == d => Decision::skip("same MD5"),
            (Some(_), Some(_)) => Decision::transfer(format!(
                "MD5 differs (source {}, destination {})",
                source.md5_hex().unwrap_or_default(),
                destination.md5_hex().unwrap_or_default()
            )),
            (s, d) => self.without_md5(source, destination, s.is_some(), d.is_some()),
        }
    }
}

blobsync_plugin::export_comparator!(Md5Compare);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::comparator::Action;

    use blobsync_plugin::{Entries, TestEntry};

    const S: i64 = 1_000_000_000;
    const T: i64 = 1_700_000_000 * S + 123_456_789;

    fn config(pairs: &[(&str, &str)]) -> Result<Md5Compare, String> {
        Md5Compare::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn cmp(pairs: &[(&str, &str)]) -> Md5Compare {
        config(pairs).unwrap()
    }

    fn entry(endpoint: EndpointKind, size: u64, md5: Option<[u8; 16]>) -> Entries {
        let mut e = TestEntry::file("f", size);
        e.md5 = md5;
        Entries::of(endpoint, &[e])
    }

    fn local(size: u64, md5: Option<[u8; 16]>, mtime_ns: i64) -> Entries {
        let mut e = TestEntry::file("f", size).mtime(mtime_ns);
        e.md5 = md5;
        Entries::of(EndpointKind::Local, &[e])
    }

    fn blob(size: u64, md5: Option<[u8; 16]>, lmt_ns: i64, stored: Option<i64>) -> Entries {
        let mut e = TestEntry::file("f", size).mtime(lmt_ns);
        e.md5 = md5;
        e.stored_mtime_ns = stored;
        Entries::of(EndpointKind::AzureBlob, &[e])
    }

    fn compare(c: &mut Md5Compare, a: &Entries, b: &Entries) -> Decision {
        c.compare_batch(a, b).remove(0)
    }

    #[test]
    fn equal_hashes_skip_and_different_hashes_transfer() {
        let mut c = cmp(&[]);
        assert_eq!(c.fields(), EntryFields::MD5);
        let a = entry(EndpointKind::Local, 3, Some([1; 16]));
        let b = entry(EndpointKind::AzureBlob, 3, Some([1; 16]));
        assert_eq!(compare(&mut c, &a, &b).action, Action::Skip);
        let b2 = entry(EndpointKind::AzureBlob, 3, Some([2; 16]));
        let d = compare(&mut c, &a, &b2);
        assert_eq!(d.action, Action::Transfer);
        assert!(
            d.reason.starts_with("MD5 differs (source 0101"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn missing_content_md5_is_different_and_says_so() {
        for pairs in [
            &[][..],
            &[("missing-md5", "copy")],
            &[("missing-md5", "Download")],
        ] {
            let mut c = cmp(pairs);
            assert_eq!(c.fields(), EntryFields::MD5, "{pairs:?}");
            let a = entry(EndpointKind::Local, 3, Some([1; 16]));
            let b = entry(EndpointKind::AzureBlob, 3, None);
            let d = compare(&mut c, &a, &b);
            assert_eq!(
                d,
                Decision::transfer(
                    "destination blob has no Content-MD5 (treated as different, as azcopy does)"
                )
            );
            let d = compare(&mut c, &b, &a);
            assert_eq!(
                d,
                Decision::transfer(
                    "source blob has no Content-MD5 (treated as different, as azcopy does)"
                )
            );
        }
    }

    #[test]
    fn size_difference_needs_no_hash() {
        let mut c = cmp(&[]);
        let d = compare(
            &mut c,
            &entry(EndpointKind::Local, 4, None),
            &entry(EndpointKind::AzureBlob, 3, None),
        );
        assert!(d.reason.starts_with("size differs"), "{}", d.reason);
    }

    #[test]
    fn size_time_compares_times_when_an_md5_is_missing() {
        let mut c = cmp(&[("missing-md5", "size-time")]);
        assert_eq!(c.fields(), EntryFields::MD5 | EntryFields::STORED_MTIME);
        let src = local(3, Some([1; 16]), T);
        let d = compare(&mut c, &src, &blob(3, None, T + 9 * S, Some(T)));
        assert_eq!(
            d,
            Decision::skip(
                "no Content-MD5 at the destination; compared size and time: same size and \
                 modification time"
            )
        );
        let d = compare(&mut c, &src, &blob(3, None, T, Some(T - S)));
        assert_eq!(d.action, Action::Transfer);
        assert_eq!(
            d.reason,
            "no Content-MD5 at the destination; compared size and time: modification time \
             differs (source 2023-11-14T22:13:20.123456789Z, destination \
             2023-11-14T22:13:19.123456789Z)"
        );
        // A blob without a stored time: azcopy's whole-second rule on its Last-Modified.
        let d = compare(&mut c, &src, &blob(3, None, T - T % S, None));
        assert_eq!(
            d,
            Decision::skip(
                "no Content-MD5 at the destination; compared size and time: destination is \
                 not older than the source (no stored mtime)"
            )
        );
        let d = compare(
            &mut c,
            &local(3, None, T),
            &blob(3, Some([1; 16]), 0, Some(T)),
        );
        assert!(
            d.reason.starts_with("no Content-MD5 at the source;"),
            "{}",
            d.reason
        );
        let d = compare(&mut c, &local(3, None, T), &blob(3, None, 0, Some(T)));
        assert!(
            d.reason
                .starts_with("no Content-MD5 at the source or the destination;"),
            "{}",
            d.reason
        );
        // MD5s still decide when both are known, and sizes before anything.
        let d = compare(&mut c, &src, &blob(3, Some([2; 16]), 0, Some(T)));
        assert!(d.reason.starts_with("MD5 differs"), "{}", d.reason);
        let d = compare(&mut c, &src, &blob(4, None, 0, Some(T)));
        assert!(d.reason.starts_with("size differs"), "{}", d.reason);
    }

    #[test]
    fn size_time_uses_the_window_and_the_runs_precision() {
        let mut c = cmp(&[
            ("missing-md5", "size-time"),
            ("modify-window", "2000000000"),
        ]);
        let d = compare(
            &mut c,
            &local(3, Some([1; 16]), T),
            &blob(3, None, 0, Some(T + 2 * S)),
        );
        assert_eq!(d.action, Action::Skip, "{}", d.reason);
        let mut c = cmp(&[
            ("missing-md5", "size-time"),
            ("blobsync.time-precision-ns", "1000000000"),
        ]);
        let truncated = T - T % S;
        let d = compare(
            &mut c,
            &local(3, Some([1; 16]), truncated),
            &blob(3, None, 0, Some(T)),
        );
        assert_eq!(d.action, Action::Skip, "{}", d.reason);
        let mut exact = cmp(&[("missing-md5", "size-time")]);
        let d = compare(
            &mut exact,
            &local(3, Some([1; 16]), truncated),
            &blob(3, None, 0, Some(T)),
        );
        assert_eq!(d.action, Action::Transfer, "{}", d.reason);
    }

    #[test]
    fn update_skips_files_newer_at_the_destination() {
        let mut c = cmp(&[("update", "true")]);
        assert_eq!(c.fields(), EntryFields::MD5 | EntryFields::STORED_MTIME);
        let src = local(3, Some([1; 16]), T);
        let d = compare(&mut c, &src, &blob(5, Some([2; 16]), 0, Some(T + 1)));
        assert_eq!(d, Decision::skip("destination is newer (--update)"));
        // Not newer: the usual decision.
        let d = compare(&mut c, &src, &blob(3, Some([2; 16]), 0, Some(T)));
        assert!(d.reason.starts_with("MD5 differs"), "{}", d.reason);
        let d = compare(&mut c, &src, &blob(3, Some([1; 16]), 0, Some(T - S)));
        assert_eq!(d, Decision::skip("same MD5"));
        // Without --update a newer destination with other content is copied over.
        let d = compare(&mut cmp(&[]), &src, &blob(3, Some([2; 16]), 0, Some(T + S)));
        assert_eq!(d.action, Action::Transfer);
        // The window applies.
        let mut c = cmp(&[("update", "true"), ("modify-window", "1000000000")]);
        let d = compare(&mut c, &src, &blob(3, Some([2; 16]), 0, Some(T + S)));
        assert!(d.reason.starts_with("MD5 differs"), "{}", d.reason);
    }

    #[test]
    fn ignore_existing_skips_every_pair_without_hashing() {
        let mut c = cmp(&[("ignore-existing", "true"), ("missing-md5", "size-time")]);
        assert_eq!(c.fields(), EntryFields::empty());
        for (a, b) in [
            (local(3, None, T), blob(4, None, 0, None)),
            (
                local(3, Some([1; 16]), T),
                blob(3, Some([2; 16]), 0, Some(T)),
            ),
        ] {
            assert_eq!(
                compare(&mut c, &a, &b),
                Decision::skip("exists at the destination (--ignore-existing)")
            );
        }
    }

    #[test]
    fn bad_values_and_keys_are_errors() {
        let err = config(&[("missing-md5", "sizetime")]).err().unwrap();
        assert!(
            err.starts_with(
                "config `missing-md5`: expected copy, size-time or download, got \"sizetime\""
            ),
            "{err}"
        );
        // blobsync hands the window on in nanoseconds; a duration is for blobsync to read.
        let err = config(&[("modify-window", "2s")]).err().unwrap();
        assert!(
            err.contains("`modify-window`") && err.contains("2s"),
            "{err}"
        );
        let err = config(&[("update", "often")]).err().unwrap();
        assert!(err.contains("`update`") && err.contains("often"), "{err}");
        let err = config(&[("size-only", "true")]).err().unwrap();
        assert_eq!(
            err,
            "unknown config key `size-only` (known keys: missing-md5, modify-window, update, \
             ignore-existing)"
        );
    }
}
