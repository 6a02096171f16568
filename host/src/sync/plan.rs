//! Pairing and planning: a sorted merge of the two listings.
//!
//! Both listings arrive in path byte order, so pairing needs no index of either side:
//! memory stays constant however many files there are. An entry only at the source is
//! copied; one on both sides goes to the comparator (in batches); one only at the
//! destination is a delete candidate. A filter's exclusion on either side removes the path
//! from both, and an excluded directory (a marker `dir/`) removes everything below it from
//! the other side too.
//!
//! If either listing turns out not to be sorted (a service that orders names differently),
//! out-of-order entries are treated as unpaired and deletes are disabled for the run, so
//! the worst case is a redundant copy, never a wrong delete.

use std::cmp::Ordering as CmpOrdering;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use tokio::sync::mpsc::Sender;

use super::hash::LocalHasher;
use super::report::Reporter;
use super::stop::Stop;
use crate::endpoint::{DeleteTarget, EndpointError, ErrorClass, Item, ListMessage, Listed};
use crate::plugin::{Action, ComparatorInstance, Pair, Side};

/// A planned copy.
#[derive(Debug)]
pub struct PlannedCopy {
    /// The source entry.
    pub item: Item,
    /// Why it is copied.
    pub reason: String,
}

/// What the planner found, besides the copies it sent.
#[derive(Debug, Default)]
pub struct PlanOutcome {
    /// Destination entries not at the source (only collected when deleting).
    pub deletes: Vec<DeleteTarget>,
    /// Destination entries not at the source, counted whether or not deleting.
    pub only_at_destination: u64,
    /// Why listing or planning stopped early, if it did.
    pub fatal: Option<EndpointError>,
    /// Paths that could not be listed.
    pub listing_errors: u64,
    /// True if a listing was not in order (deletes are then disabled).
    pub order_violation: bool,
}

/// Pairs per comparator call.
const COMPARE_BATCH: usize = 512;

/// One side's listing, read batch by batch.
struct Stream {
    side: Side,
    rx: Receiver<ListMessage>,
    batch: std::vec::IntoIter<Listed>,
    peeked: Option<Listed>,
    done: bool,
    fatal: Option<EndpointError>,
    last_key: Option<String>,
    /// Directory prefixes (ending in `/`) this side excluded, skipped or could not read:
    /// the other side's entries below them are suppressed.
    suppressing: Vec<String>,
}

impl Stream {
    fn new(side: Side, rx: Receiver<ListMessage>) -> Self {
        Stream {
            side,
            rx,
            batch: Vec::new().into_iter(),
            peeked: None,
            done: false,
            fatal: None,
            last_key: None,
            suppressing: Vec::new(),
        }
    }

    fn peek(&mut self) -> Option<&Listed> {
        while self.peeked.is_none() && !self.done {
            if let Some(next) = self.batch.next() {
                self.peeked = Some(next);
                break;
            }
            match self.rx.recv() {
                Ok(ListMessage::Batch(b)) => self.batch = b.into_iter(),
                Ok(ListMessage::Done) => self.done = true,
                Ok(ListMessage::Fatal(e)) => {
                    self.fatal = Some(e);
                    self.done = true;
                }
                Err(_) => {
                    self.done = true;
                    self.fatal.get_or_insert_with(|| {
                        EndpointError::new(
                            ErrorClass::Other,
                            "internal error: a listing thread stopped",
                        )
                    });
                }
            }
        }
        self.peeked.as_ref()
    }

    fn take(&mut self) -> Listed {
        self.peeked.take().expect("take after a successful peek")
    }

    /// Records the key just taken; false if it is out of order.
    fn in_order(&mut self, key: &str) -> bool {
        let ok = match &self.last_key {
            Some(last) => last.as_str() < key,
            None => true,
        };
        if ok {
            match &mut self.last_key {
                Some(last) => {
                    last.clear();
                    last.push_str(key);
                }
                None => self.last_key = Some(key.to_string()),
            }
        }
        ok
    }

    /// True if `key` lies below a directory this side suppressed; drops prefixes the
    /// sorted order has moved past.
    fn suppresses(&mut self, key: &str) -> bool {
        while let Some(top) = self.suppressing.last() {
            if key.starts_with(top.as_str()) {
                return true;
            }
            if key > top.as_str() {
                self.suppressing.pop();
            } else {
                return false;
            }
        }
        false
    }
}

/// The planner, run on its own thread.
pub struct Planner {
    pub(crate) source: Receiver<ListMessage>,
    pub(crate) destination: Receiver<ListMessage>,
    pub(crate) comparator: ComparatorInstance,
    pub(crate) hasher: Option<LocalHasher>,
    pub(crate) copies: Sender<PlannedCopy>,
    pub(crate) reporter: Arc<Reporter>,
    pub(crate) collect_deletes: bool,
    pub(crate) stop: Stop,
    pub(crate) case: CaseTracker,
}

/// A pair waiting for the comparator.
struct Pending {
    source: Item,
    destination: Item,
}

impl Planner {
    /// Merges the listings, sends copies, and returns what else was found.
    pub fn run(mut self) -> PlanOutcome {
        let mut outcome = PlanOutcome::default();
        let mut src = Stream::new(
            Side::Source,
            std::mem::replace(&mut self.source, dummy_rx()),
        );
        let mut dst = Stream::new(
            Side::Destination,
            std::mem::replace(&mut self.destination, dummy_rx()),
        );
        let mut pending: Vec<Pending> = Vec::with_capacity(COMPARE_BATCH);
        loop {
            if self.stop.is_stopped() {
                break;
            }
            let order = match (src.peek().map(Listed::key), dst.peek().map(Listed::key)) {
                (None, None) => break,
                (Some(_), None) => CmpOrdering::Less,
                (None, Some(_)) => CmpOrdering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            };
            if src.fatal.is_some() || dst.fatal.is_some() {
                break;
            }
            let result = match order {
                CmpOrdering::Less => {
                    let l = src.take();
                    self.one_sided(&mut src, &mut dst, l, &mut outcome)
                }
                CmpOrdering::Greater => {
                    let l = dst.take();
                    self.one_sided(&mut dst, &mut src, l, &mut outcome)
                }
                CmpOrdering::Equal => {
                    let (a, b) = (src.take(), dst.take());
                    self.both(&mut src, &mut dst, a, b, &mut pending, &mut outcome)
                }
            };
            if let Err(e) = result {
                outcome.fatal = Some(e);
                break;
            }
            if pending.len() >= COMPARE_BATCH
                && let Err(e) = self.compare(&mut pending)
            {
                outcome.fatal = Some(e);
                break;
            }
        }
        if outcome.fatal.is_none() {
            outcome.fatal = src.fatal.take().or_else(|| dst.fatal.take());
        }
        if outcome.fatal.is_none()
            && !self.stop.is_stopped()
            && let Err(e) = self.compare(&mut pending)
        {
            outcome.fatal = Some(e);
        }
        outcome
    }

    /// An entry whose key is on one side only (`this`); `other` is the opposite stream.
    fn one_sided(
        &mut self,
        this: &mut Stream,
        other: &mut Stream,
        listed: Listed,
        outcome: &mut PlanOutcome,
    ) -> Result<(), EndpointError> {
        let key = listed.key().to_string();
        let in_order = this.in_order(&key);
        if !in_order && !outcome.order_violation {
            outcome.order_violation = true;
            self.reporter.warning(&format!(
                "the {} listing is not in name order at {key:?}; entries out of order are \
                 treated as unpaired and no deletes will happen in this run",
                side_name(this.side)
            ));
        }
        let suppressed = in_order && other.suppresses(&key);
        match listed {
            Listed::Item(item) => {
                self.count_listed(this.side, &item);
                if suppressed {
                    self.reporter.excluded(
                        side_name(this.side),
                        &key,
                        "",
                        "its directory is excluded on the other side",
                    );
                    return Ok(());
                }
                match this.side {
                    Side::Source => self.send_copy(item, "not at the destination".into()),
                    Side::Destination => {
                        outcome.only_at_destination += 1;
                        if self.collect_deletes {
                            outcome.deletes.push(DeleteTarget {
                                path: item.entry.path,
                                etag: item.etag,
                                size: item.entry.size,
                                mtime_ns: item.entry.mtime_ns,
                            });
                        }
                        Ok(())
                    }
                }
            }
            marker => {
                self.marker(this, marker, outcome);
                Ok(())
            }
        }
    }

    /// The same key on both sides.
    fn both(
        &mut self,
        src: &mut Stream,
        dst: &mut Stream,
        a: Listed,
        b: Listed,
        pending: &mut Vec<Pending>,
        outcome: &mut PlanOutcome,
    ) -> Result<(), EndpointError> {
        let key = a.key().to_string();
        let ordered = src.in_order(&key) & dst.in_order(&key);
        if !ordered && !outcome.order_violation {
            outcome.order_violation = true;
            self.reporter.warning(&format!(
                "a listing is not in name order at {key:?}; no deletes will happen in this run"
            ));
        }
        match (a, b) {
            (Listed::Item(s), Listed::Item(d)) => {
                self.count_listed(Side::Source, &s);
                self.count_listed(Side::Destination, &d);
                if src.suppresses(&key) || dst.suppresses(&key) {
                    self.reporter
                        .excluded("both", &key, "", "its directory is excluded");
                    return Ok(());
                }
                pending.push(Pending {
                    source: s,
                    destination: d,
                });
                Ok(())
            }
            (Listed::Item(s), marker) => {
                self.count_listed(Side::Source, &s);
                self.marker(dst, marker, outcome);
                Ok(())
            }
            (marker, Listed::Item(d)) => {
                self.count_listed(Side::Destination, &d);
                self.marker(src, marker, outcome);
                Ok(())
            }
            (ma, mb) => {
                self.marker(src, ma, outcome);
                self.marker(dst, mb, outcome);
                Ok(())
            }
        }
    }

    fn count_listed(&mut self, side: Side, item: &Item) {
        let stats = &self.reporter.stats;
        match side {
            Side::Source => {
                stats.source_files.fetch_add(1, Ordering::Relaxed);
                stats
                    .bytes_enumerated
                    .fetch_add(item.entry.size, Ordering::Relaxed);
                if let Some((a, b)) = self.case.check(&item.entry.path) {
                    self.case.collisions += 1;
                    if self.case.collisions <= MAX_CASE_WARNINGS {
                        self.reporter.warning(&format!(
                            "{b:?} and {a:?} differ only in letter case; they would collide on a \
                             case-insensitive file system (Windows, macOS)"
                        ));
                    }
                }
            }
            Side::Destination => {
                stats.destination_files.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records a marker; a directory marker suppresses the other side below it.
    fn marker(&self, this: &mut Stream, listed: Listed, outcome: &mut PlanOutcome) {
        let side = side_name(this.side);
        let path = match listed {
            Listed::Excluded { path, exclusion } => {
                self.reporter
                    .excluded(side, &path, &exclusion.plugin, &exclusion.reason);
                path
            }
            Listed::Skipped {
                path,
                reason,
                symlink,
            } => {
                self.reporter.skipped(&path, &reason, symlink);
                path
            }
            Listed::Error { path, message } => {
                outcome.listing_errors += 1;
                self.reporter.failure(&path, &message);
                path
            }
            Listed::Item(_) => unreachable!("markers only"),
        };
        if path.ends_with('/') {
            this.suppressing.push(path);
        }
    }

    fn send_copy(&self, item: Item, reason: String) -> Result<(), EndpointError> {
        self.copies
            .blocking_send(PlannedCopy { item, reason })
            .map_err(|_| EndpointError::new(ErrorClass::Other, "the transfer stage stopped"))
    }

    /// Runs the comparator over the pending pairs (hashing local files first if asked).
    fn compare(&mut self, pending: &mut Vec<Pending>) -> Result<(), EndpointError> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(pending);
        if let Some(hasher) = &self.hasher {
            let failed = hasher.hash_pairs(
                batch
                    .iter_mut()
                    .map(|p| (&mut p.source, &mut p.destination)),
            );
            for (index, message) in failed.into_iter().rev() {
                let pair = batch.remove(index);
                self.reporter.failure(&pair.source.entry.path, &message);
            }
        }
        let (pairs, items): (Vec<Pair>, Vec<(Item, Item)>) = batch
            .into_iter()
            .map(|mut p| {
                let pair = Pair {
                    source: std::mem::replace(&mut p.source.entry, empty_entry()),
                    destination: std::mem::replace(&mut p.destination.entry, empty_entry()),
                };
                (pair, (p.source, p.destination))
            })
            .unzip();
        let decisions = self.comparator.compare(&pairs)?;
        for ((pair, (mut source, _dest)), decision) in pairs.into_iter().zip(items).zip(decisions) {
            source.entry = pair.source;
            match decision.action {
                Action::Transfer => self.send_copy(source, decision.reason)?,
                Action::Skip => self
                    .reporter
                    .up_to_date(&source.entry.path, &decision.reason),
            }
        }
        Ok(())
    }
}

/// Case-collision warnings printed before they are only counted.
const MAX_CASE_WARNINGS: u64 = 20;
/// Names remembered per directory level; larger directories are not checked further.
const MAX_CASE_NAMES: usize = 200_000;

/// Finds source paths that differ only in letter case. Names that can collide share a
/// parent directory, and a sorted listing visits each directory's entries contiguously,
/// so only the directories on the current path are remembered.
#[derive(Default)]
pub struct CaseTracker {
    /// For each level of the current path: the directory (`a/b/`) and its children seen so
    /// far, lower-cased → as listed (directories with a trailing `/`).
    stack: Vec<(String, std::collections::HashMap<String, String>)>,
    /// Collisions found.
    pub collisions: u64,
}

impl CaseTracker {
    /// Records `path`; returns the earlier path it collides with, and `path` itself.
    pub fn check(&mut self, path: &str) -> Option<(String, String)> {
        let mut start = 0;
        let mut level = 0;
        loop {
            let end = path[start..].find('/').map(|i| start + i);
            let dir = &path[..start];
            let name = match end {
                Some(e) => &path[start..=e],
                None => &path[start..],
            };
            if self.stack.get(level).is_some_and(|(d, _)| d != dir) {
                self.stack.truncate(level);
            }
            if self.stack.len() == level {
                self.stack.push((dir.to_string(), Default::default()));
            }
            let names = &mut self.stack[level].1;
            let lower = name.to_lowercase();
            match names.get(&lower) {
                Some(seen) if seen != name => {
                    return Some((format!("{dir}{seen}"), format!("{dir}{name}")));
                }
                Some(_) => {}
                None if names.len() < MAX_CASE_NAMES => {
                    names.insert(lower, name.to_string());
                }
                None => {}
            }
            match end {
                Some(e) => {
                    start = e + 1;
                    level += 1;
                }
                None => return None,
            }
        }
    }
}

fn empty_entry() -> crate::plugin::Entry {
    crate::plugin::Entry {
        path: String::new(),
        size: 0,
        mtime_ns: 0,
        md5: None,
        is_dir: false,
        endpoint: crate::plugin::EndpointKind::Local,
        metadata: Vec::new(),
    }
}

fn dummy_rx() -> Receiver<ListMessage> {
    std::sync::mpsc::sync_channel(0).1
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Source => "source",
        Side::Destination => "destination",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_collisions_are_found_in_the_same_directory_only() {
        let mut t = CaseTracker::default();
        for p in ["Docs/a.txt", "Docs/b.txt", "README", "docs/c.txt"] {
            let hit = t.check(p);
            if p == "docs/c.txt" {
                assert_eq!(hit, Some(("Docs/".into(), "docs/".into())));
            } else {
                assert_eq!(hit, None, "{p}");
            }
        }
        let mut t = CaseTracker::default();
        assert_eq!(t.check("a/File.txt"), None);
        assert_eq!(t.check("a/b/x"), None);
        assert_eq!(
            t.check("a/file.txt"),
            Some(("a/File.txt".into(), "a/file.txt".into()))
        );
        assert_eq!(
            t.check("b/file.txt"),
            None,
            "other directories are independent"
        );
    }
}
