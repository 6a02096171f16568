//! Pairing: a sorted merge of the two filtered listings.
//!
//! Both listings arrive in the same order (the endpoints' declared [`ListOrder`]), so
//! pairing needs no index of either side: memory stays constant however many files there
//! are. An entry only at the source is copied; one on both sides goes to the comparator;
//! one only at the destination is a delete candidate. A filter's exclusion on either
//! side removes the path from both, and an excluded folder (a marker `dir/`) removes
//! everything below it from the other side too.
//!
//! If either listing turns out not to be in order (a service that orders names
//! differently), out-of-order entries are treated as unpaired and deletes are disabled
//! for the run, so the worst case is a redundant copy, never a wrong delete.

use std::cmp::Ordering;

use super::collide::{Collisions, MAX_WARNINGS, Mode};
use super::context::RunContext;
use super::filter_stage::{Filtered, ListMessage};
use super::listing_stream::Stream;
use super::observer::Counters;
use super::{RunError, Side};
use crate::endpoint::{Item, ListOrder};

/// Where the merge sends what it pairs.
pub(crate) trait Pairs {
    /// A file only at the source.
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError>;
    /// A file on both sides.
    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError>;
    /// A file only at the destination.
    fn only_at_destination(&mut self, item: Item);
    /// The listings are done: compare what is still pending.
    fn finish(&mut self) -> Result<(), RunError>;
    /// A path left alone on both sides: excluded, skipped or unlisted on one side (a
    /// folder's path ends with `/`: all below it).
    fn left_alone(&mut self, _path: &str) {}
}

/// What the merge found besides the pairs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergeOutcome {
    /// Paths that could not be listed.
    pub(crate) listing_errors: u64,
    /// True if a listing was out of order.
    pub(crate) order_violation: bool,
    /// True if both listings were read to their end.
    pub(crate) complete: bool,
}

impl MergeOutcome {
    /// Why deleting would be unsafe after this merge, if it would.
    pub(crate) fn deletes_unsafe(&self) -> Option<&'static str> {
        if !self.complete {
            Some("a listing did not complete")
        } else if self.listing_errors > 0 {
            Some("some paths could not be listed")
        } else if self.order_violation {
            Some("a listing was out of order")
        } else {
            None
        }
    }
}

/// Merges the two listings into `pairs`.
pub(crate) fn merge<S, D>(
    source: S,
    destination: D,
    order: ListOrder,
    collisions: Collisions,
    ctx: &RunContext,
    pairs: &mut dyn Pairs,
) -> Result<MergeOutcome, RunError>
where
    S: Iterator<Item = ListMessage>,
    D: Iterator<Item = ListMessage>,
{
    let mut merge = Merge {
        order,
        ctx,
        outcome: MergeOutcome::default(),
        collisions,
    };
    let mut src = Stream::new(Side::Source, source);
    let mut dst = Stream::new(Side::Destination, destination);
    loop {
        if ctx.stopped() {
            return Ok(merge.outcome);
        }
        if let Some(Filtered::Item(item)) = src.take_repeated() {
            merge.repeated(Side::Source, item, pairs);
            continue;
        }
        if let Some(Filtered::Item(item)) = dst.take_repeated() {
            merge.repeated(Side::Destination, item, pairs);
            continue;
        }
        let ordering = match (src.peek().map(Filtered::key), dst.peek().map(Filtered::key)) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => order.cmp(a, b),
        };
        if src.failed() || dst.failed() {
            return Ok(merge.outcome);
        }
        match ordering {
            Ordering::Less => {
                let Some(l) = src.take() else { continue };
                merge.one_sided(&mut src, &mut dst, l, pairs)?;
            }
            Ordering::Greater => {
                let Some(l) = dst.take() else { continue };
                merge.one_sided(&mut dst, &mut src, l, pairs)?;
            }
            Ordering::Equal => {
                let (Some(a), Some(b)) = (src.take(), dst.take()) else {
                    continue;
                };
                merge.both(&mut src, &mut dst, a, b, pairs)?;
            }
        }
    }
    if src.failed() || dst.failed() {
        return Ok(merge.outcome);
    }
    merge.outcome.complete = true;
    pairs.finish()?;
    Ok(merge.outcome)
}

struct Merge<'a> {
    order: ListOrder,
    ctx: &'a RunContext,
    outcome: MergeOutcome,
    collisions: Collisions,
}

impl Merge<'_> {
    /// An entry whose key is on one side only (`this`); `other` is the opposite stream.
    fn one_sided<A, B>(
        &mut self,
        this: &mut Stream<A>,
        other: &mut Stream<B>,
        listed: Filtered,
        pairs: &mut dyn Pairs,
    ) -> Result<(), RunError>
    where
        A: Iterator<Item = ListMessage>,
        B: Iterator<Item = ListMessage>,
    {
        let in_order = this.in_order(self.order, listed.key());
        if !in_order && !self.outcome.order_violation {
            self.outcome.order_violation = true;
            self.ctx.warning(&format!(
                "the {} listing is not in {} at {:?}; entries out of order are treated as \
                 unpaired and no deletes will happen in this run",
                this.side().name(),
                self.order.describe(),
                listed.key()
            ));
        }
        let suppressed = in_order && other.suppresses(self.order, listed.key());
        match listed {
            Filtered::Item(item) => {
                self.count(this.side(), &item);
                if this.side() == Side::Source && self.collides(&item) {
                    return Ok(());
                }
                if suppressed {
                    self.ctx.excluded(
                        None,
                        &item.path,
                        "",
                        "its folder is excluded on the other side",
                    );
                    return Ok(());
                }
                match this.side() {
                    Side::Source => pairs.only_at_source(item),
                    Side::Destination => {
                        pairs.only_at_destination(item);
                        Ok(())
                    }
                }
            }
            marker => {
                pairs.left_alone(marker.key());
                self.marker(this, marker);
                Ok(())
            }
        }
    }

    /// The same key on both sides.
    fn both<A, B>(
        &mut self,
        src: &mut Stream<A>,
        dst: &mut Stream<B>,
        a: Filtered,
        b: Filtered,
        pairs: &mut dyn Pairs,
    ) -> Result<(), RunError>
    where
        A: Iterator<Item = ListMessage>,
        B: Iterator<Item = ListMessage>,
    {
        let ordered = src.in_order(self.order, a.key()) & dst.in_order(self.order, b.key());
        if !ordered && !self.outcome.order_violation {
            self.outcome.order_violation = true;
            self.ctx.warning(&format!(
                "a listing is not in {} at {:?}; no deletes will happen in this run",
                self.order.describe(),
                a.key()
            ));
        }
        match (a, b) {
            (Filtered::Item(s), Filtered::Item(d)) => {
                self.count(Side::Source, &s);
                self.count(Side::Destination, &d);
                if self.collides(&s) {
                    return Ok(());
                }
                if src.suppresses(self.order, &s.path) || dst.suppresses(self.order, &s.path) {
                    self.ctx
                        .excluded(None, &s.path, "", "its folder is excluded");
                    return Ok(());
                }
                pairs.both(s, d)
            }
            (Filtered::Item(s), marker) => {
                self.count(Side::Source, &s);
                pairs.left_alone(marker.key());
                self.marker(dst, marker);
                Ok(())
            }
            (marker, Filtered::Item(d)) => {
                self.count(Side::Destination, &d);
                pairs.left_alone(marker.key());
                self.marker(src, marker);
                Ok(())
            }
            (ma, mb) => {
                pairs.left_alone(ma.key());
                self.marker(src, ma);
                self.marker(dst, mb);
                Ok(())
            }
        }
    }

    /// A second listed name for the path listed just before on `side`. At the source it
    /// collides with the first (which is copied): not syncable. At the destination it is
    /// one more entry that is not at the source.
    fn repeated(&mut self, side: Side, item: Item, pairs: &mut dyn Pairs) {
        match side {
            Side::Source => {
                Counters::add(&self.ctx.counters.source_files, 1);
                self.ctx.skipped(
                    &item.path,
                    &format!(
                        "not syncable: two entries at the source stand for the path {:?} (a \
                         name another tool stored raw, such as `file.`, beside its encoded \
                         form `file．`); the one listed first is synced — rename or remove \
                         the other",
                        item.path
                    ),
                    crate::endpoint::SkipKind::Unsyncable,
                );
            }
            Side::Destination => {
                self.count(side, &item);
                pairs.only_at_destination(item);
            }
        }
    }

    fn count(&mut self, side: Side, item: &Item) {
        let counters = &self.ctx.counters;
        match side {
            Side::Source => {
                Counters::add(&counters.source_files, 1);
                Counters::add(&counters.bytes_enumerated, item.size);
            }
            Side::Destination => Counters::add(&counters.destination_files, 1),
        }
    }

    /// True if the source `item` collides with an earlier entry at the destination: it is
    /// reported as not syncable (and not synced). Where the destination holds both (a
    /// container), names that differ only in case are a warning.
    fn collides(&mut self, item: &Item) -> bool {
        let Some(hit) = self.collisions.check(&item.path, item.is_folder_stub()) else {
            return false;
        };
        match self.collisions.mode {
            Mode::Skip => {
                self.ctx.skipped(
                    &item.path,
                    &format!(
                        "not syncable: {:?} collides with {:?}, which is synced: {}; rename \
                         one of them",
                        hit.at, hit.earlier, hit.why
                    ),
                    crate::endpoint::SkipKind::Unsyncable,
                );
                true
            }
            Mode::Warn => {
                if self.collisions.found <= MAX_WARNINGS {
                    self.ctx.warning(&format!(
                        "{:?} and {:?} differ only in letter case; they would collide on a \
                         case-insensitive file system (Windows, macOS)",
                        hit.at, hit.earlier
                    ));
                }
                false
            }
        }
    }

    /// Records a marker; a folder marker suppresses the other side below it.
    fn marker<A>(&mut self, this: &mut Stream<A>, listed: Filtered) {
        let path = match listed {
            Filtered::Excluded { path, exclusion } => {
                self.ctx.excluded(
                    Some(this.side()),
                    &path,
                    &exclusion.plugin,
                    &exclusion.reason,
                );
                path
            }
            Filtered::Skipped { path, reason, kind } => {
                self.ctx.skipped(&path, &reason, kind);
                path
            }
            Filtered::Error { path, error } => {
                self.outcome.listing_errors += 1;
                self.ctx.failed(&path, error.message());
                path
            }
            Filtered::Item(item) => item.path,
        };
        if path.ends_with('/') {
            this.suppress(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointError, ErrorClass, SkipKind};
    use crate::plugin::Exclusion;
    use crate::sync::testing::context;

    /// What a merge paired.
    #[derive(Default, Debug, PartialEq, Eq)]
    struct Seen {
        only_source: Vec<String>,
        both: Vec<String>,
        only_destination: Vec<String>,
        finished: bool,
    }

    impl Pairs for Seen {
        fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
            self.only_source.push(item.path);
            Ok(())
        }
        fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
            assert_eq!(source.path, destination.path);
            self.both.push(source.path);
            Ok(())
        }
        fn only_at_destination(&mut self, item: Item) {
            self.only_destination.push(item.path);
        }
        fn finish(&mut self) -> Result<(), RunError> {
            self.finished = true;
            Ok(())
        }
    }

    /// The collisions of a blob destination (none are skipped).
    fn exact() -> Collisions {
        Collisions::for_destination(&crate::endpoint::Capabilities {
            kind: crate::endpoint::EndpointKind::Blob,
            listed_md5: true,
            order: None,
            time_precision_ns: 1,
            latest_time_ns: i64::MAX,
            fold: crate::endpoint::NameFold::Exact,
            one_entry_per_name: false,
        })
    }

    fn items(paths: &[&str]) -> Vec<Filtered> {
        paths
            .iter()
            .map(|p| Filtered::Item(Item::new(*p, 1, 0)))
            .collect()
    }

    fn listing(entries: Vec<Filtered>) -> std::vec::IntoIter<ListMessage> {
        vec![ListMessage::Batch(entries), ListMessage::Done].into_iter()
    }

    fn run(
        source: Vec<Filtered>,
        destination: Vec<Filtered>,
        order: ListOrder,
    ) -> (MergeOutcome, Seen, Vec<String>) {
        let (ctx, seen_events) = context();
        let mut seen = Seen::default();
        let outcome = merge(
            listing(source),
            listing(destination),
            order,
            exact(),
            &ctx,
            &mut seen,
        )
        .unwrap();
        (outcome, seen, seen_events.lines())
    }

    #[test]
    fn pairs_files_on_both_sides_and_keeps_one_sided_ones_apart() {
        let (outcome, seen, _) = run(
            items(&["a", "b", "c/x"]),
            items(&["b", "c/x", "d"]),
            ListOrder::BYTES,
        );
        assert_eq!(seen.only_source, ["a"]);
        assert_eq!(seen.both, ["b", "c/x"]);
        assert_eq!(seen.only_destination, ["d"]);
        assert!(seen.finished && outcome.complete);
        assert_eq!(outcome.deletes_unsafe(), None);
    }

    #[test]
    fn an_out_of_order_listing_disables_deletes_and_says_so() {
        let (outcome, seen, events) = run(items(&["b", "a"]), items(&["a"]), ListOrder::BYTES);
        assert!(outcome.order_violation);
        assert_eq!(outcome.deletes_unsafe(), Some("a listing was out of order"));
        assert!(
            seen.only_source.contains(&"a".to_string()) || seen.both.contains(&"a".to_string())
        );
        assert!(
            events.iter().any(|e| e.contains("not in UTF-8 byte order")),
            "{events:?}"
        );
    }

    #[test]
    fn a_listing_error_disables_deletes() {
        let mut destination = items(&["x/1"]);
        destination.push(Filtered::Error {
            path: "y/".into(),
            error: EndpointError::new(ErrorClass::Other, "cannot read folder y"),
        });
        destination.extend(items(&["z"]));
        let (outcome, seen, events) = run(items(&["y/2"]), destination, ListOrder::BYTES);
        assert_eq!(outcome.listing_errors, 1);
        assert_eq!(
            outcome.deletes_unsafe(),
            Some("some paths could not be listed")
        );
        assert_eq!(
            seen.only_destination,
            ["x/1", "z"],
            "still reported, never deleted"
        );
        assert!(
            seen.only_source.is_empty(),
            "y/2 lies below a folder the other side could not read"
        );
        assert!(events.iter().any(|e| e.contains("failed y/")), "{events:?}");
    }

    #[test]
    fn an_excluded_or_skipped_folder_hides_the_other_side_below_it() {
        let source = vec![
            Filtered::Excluded {
                path: "build/".into(),
                exclusion: Exclusion {
                    plugin: "f".into(),
                    reason: "no builds".into(),
                },
            },
            Filtered::Skipped {
                path: "link/".into(),
                reason: "symbolic link".into(),
                kind: SkipKind::Symlink,
            },
            Filtered::Item(Item::new("src/main.rs", 1, 0)),
        ];
        let destination = items(&["build/out.bin", "link/x", "src/main.rs", "stale"]);
        let (_, seen, _) = run(source, destination, ListOrder::BYTES);
        assert_eq!(seen.both, ["src/main.rs"]);
        assert_eq!(
            seen.only_destination,
            ["stale"],
            "nothing below build/ or link/"
        );
    }

    #[test]
    fn names_in_utf16_order_merge_cleanly_only_in_that_order() {
        let mut names = vec!["a.txt", "a😀.txt", "a！.txt", "b"];
        names.sort_by(|a, b| ListOrder::UTF16.cmp(a, b));
        let (outcome, seen, _) = run(items(&names), items(&names), ListOrder::UTF16);
        assert!(!outcome.order_violation);
        assert_eq!(seen.both.len(), 4);
        // The same listing merged as if it were in byte order: the emoji sorts after the
        // fullwidth mark there, so the listing looks out of order.
        let (outcome, _, _) = run(items(&names), items(&names), ListOrder::BYTES);
        assert!(outcome.order_violation);
    }

    #[test]
    fn a_failed_listing_is_incomplete_and_nothing_is_finished() {
        let (ctx, _) = context();
        let mut seen = Seen::default();
        let source = vec![ListMessage::Batch(items(&["a"])), ListMessage::Failed].into_iter();
        let outcome = merge(
            source,
            listing(items(&["b"])),
            ListOrder::BYTES,
            exact(),
            &ctx,
            &mut seen,
        )
        .unwrap();
        assert!(!outcome.complete);
        assert!(!seen.finished);
        assert_eq!(outcome.deletes_unsafe(), Some("a listing did not complete"));
    }
}
