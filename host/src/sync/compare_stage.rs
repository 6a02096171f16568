//! The compare stage: what the merge pairs becomes copies, skips and delete candidates.
//! Pairs go to the comparator plugin in batches (local files hashed first when it asks
//! for MD5s); files only at the source are copied; files only at the destination are
//! delete candidates.

use tokio::sync::mpsc::Sender;

use super::RunError;
use super::annotations::Annotator;
use super::archive::{archived_destination, archived_source};
use super::blob_md5::{BlobHasher, add_md5, store_md5};
use super::config::BlobOptions;
use super::context::RunContext;
use super::entries::{give_back, lend};
use super::local_md5::LocalHasher;
use super::observer::Side;
use super::plan::Pairs;
use super::work::{PlannedCopy, Work};
use crate::endpoint::{BlobSettings, Item, Version};
use crate::plugin::{Action, ComparatorInstance, EndpointKind, Pair};

/// Pairs per comparator call.
const COMPARE_BATCH: usize = 512;

/// A decision waiting for its annotation (copies to a container).
#[derive(Debug)]
pub(crate) struct Held {
    /// The source entry.
    item: Item,
    /// The destination entry, if there is one.
    destination: Option<Item>,
    /// Why it is copied, or why it is up to date.
    reason: String,
    /// A copy (else: up to date).
    copy: bool,
    /// The archived destination is deleted first.
    delete_first: bool,
    /// Up to date: store the destination blob's MD5, read for the comparison.
    store_md5: bool,
}

/// Turns pairs into decisions.
pub(crate) struct Comparer<'a> {
    pub(crate) ctx: &'a RunContext,
    pub(crate) comparator: ComparatorInstance,
    pub(crate) hasher: Option<LocalHasher>,
    /// The plugin-facing kinds of the source and the destination.
    pub(crate) kinds: (EndpointKind, EndpointKind),
    pub(crate) copies: Sender<Work>,
    /// Archive handling.
    pub(crate) blob: BlobOptions,
    /// Delete candidates, collected only when deleting.
    pub(crate) deletes: Option<Vec<Item>>,
    pub(crate) pending: Vec<(Item, Item)>,
    /// Copies to a container: what their blobs should carry.
    pub(crate) annotator: Option<Annotator>,
    /// Decisions waiting for [`Comparer::annotate`].
    pub(crate) held: Vec<Held>,
    /// Destination blobs a download found damaged: path → the ETag that was read.
    pub(crate) damaged: std::collections::HashMap<String, String>,
    /// Replaced destination entries are backed up first (`--backup-dir`).
    pub(crate) backups: bool,
    /// Blobs hashed by reading them (`check --download`, `--missing-md5=download`),
    /// (source side, destination side).
    pub(crate) blob_hashers: (Option<BlobHasher>, Option<BlobHasher>),
    /// `--missing-md5=download`: the blobs read for their MD5, which up-to-date ones
    /// then store (nothing is stored in dry runs and checks).
    pub(crate) md5_read: std::collections::HashSet<(Side, String)>,
    /// Store the MD5s read.
    pub(crate) store_md5: bool,
    /// The latest time the destination keeps (ns).
    pub(crate) latest_time_ns: i64,
}

impl Comparer<'_> {
    /// Plans copying `item` over `destination` (if there is one), unless an archived
    /// blob on either side prevents it.
    fn send_copy(
        &mut self,
        item: Item,
        reason: String,
        destination: Option<Item>,
    ) -> Result<(), RunError> {
        let destination = destination.as_ref();
        if item.archived() {
            return match archived_source(self.ctx, self.blob.archived, &item) {
                Some(work) => self.send(work),
                None => Ok(()),
            };
        }
        let Ok(delete_first) = archived_destination(self.ctx, &self.blob, destination) else {
            return Ok(());
        };
        let reason = if delete_first {
            format!(
                "{reason}; the destination is archived: it is deleted (with its snapshots) \
                 and uploaded again (--overwrite-archived)"
            )
        } else {
            reason
        };
        if self.annotator.is_some() {
            return self.hold(Held {
                item,
                destination: destination.cloned(),
                reason,
                copy: true,
                delete_first,
                store_md5: false,
            });
        }
        self.send(Work::Copy(PlannedCopy {
            metadata: super::metadata::for_copy(&item, destination),
            item,
            reason,
            replaces: destination.map(Version::of),
            delete_first,
            settings: BlobSettings::default(),
            backup: destination
                .filter(|_| self.backups)
                .map(|d| Box::new(d.clone())),
        }))
    }

    /// A pair the comparator found up to date.
    fn up_to_date(
        &mut self,
        source: Item,
        destination: Item,
        reason: String,
    ) -> Result<(), RunError> {
        let read = [Side::Source, Side::Destination]
            .map(|side| self.md5_read.remove(&(side, source.path.clone())) && self.store_md5);
        if read[0]
            && let Some(update) = store_md5(Side::Source, &source)
        {
            self.send(Work::Update(update))?;
        }
        if self.annotator.is_none() {
            return match read[1].then(|| store_md5(Side::Destination, &destination)) {
                Some(Some(update)) => self.send(Work::Update(update)),
                _ => {
                    self.ctx.up_to_date(&source.path, &reason);
                    Ok(())
                }
            };
        }
        // The annotators' in-place update of this blob, if any, carries the MD5 too.
        self.hold(Held {
            item: source,
            destination: Some(destination),
            reason,
            copy: false,
            delete_first: false,
            store_md5: read[1],
        })
    }

    fn hold(&mut self, held: Held) -> Result<(), RunError> {
        self.held.push(held);
        if self.held.len() >= COMPARE_BATCH {
            self.annotate()?;
        }
        Ok(())
    }

    /// Asks the annotators about the held decisions, and sends what follows.
    fn annotate(&mut self) -> Result<(), RunError> {
        let Some(annotator) = &mut self.annotator else {
            return Ok(());
        };
        if self.held.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        let mut items: Vec<Item> = held.iter().map(|h| h.item.clone()).collect();
        let wanted = annotator.wanted(&mut items)?;
        let mut work = Vec::new();
        for (h, wanted) in held.into_iter().zip(wanted) {
            if h.copy {
                let (settings, metadata) =
                    annotator.for_copy(wanted, &h.item, h.destination.as_ref());
                work.push(Work::Copy(PlannedCopy {
                    replaces: h.destination.as_ref().map(Version::of),
                    backup: h.destination.clone().filter(|_| self.backups).map(Box::new),
                    item: h.item,
                    reason: h.reason,
                    delete_first: h.delete_first,
                    metadata,
                    settings,
                }));
            } else if let Some(update) = h.destination.as_ref().and_then(|d| {
                let update = annotator.update_for(&wanted, d);
                match (update, h.store_md5) {
                    (Some(mut update), true) => {
                        add_md5(&mut update.update, d);
                        update.reason.push_str("; its Content-MD5 is stored");
                        Some(update)
                    }
                    (None, true) => store_md5(Side::Destination, d),
                    (update, false) => update,
                }
            }) {
                work.push(Work::Update(update));
            } else {
                self.ctx.up_to_date(&h.item.path, &h.reason);
            }
        }
        work.into_iter().try_for_each(|w| self.send(w))
    }

    fn send(&self, work: Work) -> Result<(), RunError> {
        match self.copies.blocking_send(work) {
            Ok(()) => Ok(()),
            // The transfers stopped first: the run is stopping, or was cut off.
            Err(_) if self.ctx.stopped() || self.ctx.control.fatal().is_some() => Ok(()),
            Err(_) => Err(RunError::Internal("the transfer stage stopped".into())),
        }
    }

    /// Runs the comparator over the pending pairs.
    fn compare(&mut self) -> Result<(), RunError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.pending);
        if let Some(hasher) = &self.hasher {
            let failed = hasher.hash_pairs(batch.iter_mut().map(|(s, d)| (s, d)));
            for (index, message) in failed.into_iter().rev() {
                let (source, _) = batch.remove(index);
                self.ctx.failed(&source.path, &message);
            }
        }
        for (side, hasher) in [&self.blob_hashers.0, &self.blob_hashers.1]
            .into_iter()
            .enumerate()
        {
            let Some(hasher) = hasher else { continue };
            let items: Vec<(usize, &mut Item)> = batch
                .iter_mut()
                .enumerate()
                .map(|(i, (s, d))| if side == 0 { (i, s, &*d) } else { (i, d, &*s) })
                .filter(|(_, item, other)| hasher.wants(item, other))
                .map(|(i, item, _)| (i, item))
                .collect();
            if hasher.missing_only {
                let side = if side == 0 {
                    Side::Source
                } else {
                    Side::Destination
                };
                self.md5_read
                    .extend(items.iter().map(|(_, item)| (side, item.path.clone())));
            }
            let failed = hasher.hash_all(items);
            for (index, message) in failed.into_iter().rev() {
                let (source, _) = batch.remove(index);
                self.ctx.failed(&source.path, &message);
            }
        }
        let (source_kind, destination_kind) = self.kinds;
        let latest = self.latest_time_ns;
        let pairs: Vec<Pair> = batch
            .iter_mut()
            .map(|(s, d)| {
                // A source time the destination cannot keep is compared as the latest one
                // it can (what a copy there was given).
                let mut source = lend(s, source_kind);
                source.mtime_ns = source.mtime_ns.min(latest);
                source.stored_mtime_ns = source.stored_mtime_ns.map(|t| t.min(latest));
                Pair {
                    source,
                    destination: lend(d, destination_kind),
                }
            })
            .collect();
        let decisions = self.comparator.compare(&pairs)?;
        for ((pair, (mut source, mut destination)), decision) in
            pairs.into_iter().zip(batch).zip(decisions)
        {
            give_back(&mut source, pair.source);
            give_back(&mut destination, pair.destination);
            match decision.action {
                Action::Transfer => {
                    self.send_copy(source, decision.reason.to_string(), Some(destination))?
                }
                Action::Skip => {
                    self.up_to_date(source, destination, decision.reason.to_string())?
                }
            }
        }
        self.md5_read.clear();
        Ok(())
    }
}

impl Pairs for Comparer<'_> {
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
        self.send_copy(item, "not at the destination".into(), None)
    }

    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
        if self
            .damaged
            .get(&destination.path)
            .is_some_and(|etag| destination.etag.as_deref() == Some(etag.as_str()))
        {
            return self.send_copy(
                source,
                "the blob's content does not match its Content-MD5 (a download found it \
                 damaged): copied again from the source"
                    .into(),
                Some(destination),
            );
        }
        if source.is_folder_stub() && destination.is_folder_stub() {
            self.ctx.up_to_date(&source.path, "a folder on both sides");
            return Ok(());
        }
        self.pending.push((source, destination));
        if self.pending.len() >= COMPARE_BATCH {
            self.compare()?;
        }
        Ok(())
    }

    fn only_at_destination(&mut self, item: Item) {
        if let Some(deletes) = &mut self.deletes {
            deletes.push(item);
        }
    }

    fn finish(&mut self) -> Result<(), RunError> {
        self.compare()?;
        self.annotate()
    }
}
