//! The compare stage: what the merge pairs becomes copies, skips and delete candidates.
//! Pairs go to the comparator plugin in batches (local files hashed first when it asks
//! for MD5s); files only at the source are copied; files only at the destination are
//! delete candidates.

use tokio::sync::mpsc::Sender;

use super::RunError;
use super::archive::{archived_destination, archived_source};
use super::config::BlobOptions;
use super::context::RunContext;
use super::entries::{give_back, lend};
use super::hash::LocalHasher;
use super::observer::Side;
use super::plan::Pairs;
use crate::endpoint::{BlobUpdate, DeleteTarget, Item, Version};
use crate::plugin::{Action, ComparatorInstance, EndpointKind, Pair};

/// Pairs per comparator call.
const COMPARE_BATCH: usize = 512;

/// A planned copy.
#[derive(Debug)]
pub(crate) struct PlannedCopy {
    /// The source entry.
    pub(crate) item: Item,
    /// Why it is copied.
    pub(crate) reason: String,
    /// The destination version it replaces, as listed (`None`: there is none).
    pub(crate) replaces: Option<Version>,
    /// The destination is archived: delete it first (`--overwrite-archived`).
    pub(crate) delete_first: bool,
    /// The metadata to write (besides the time).
    pub(crate) metadata: Vec<(String, String)>,
}

/// A planned change to a blob's properties, without copying it.
#[derive(Debug)]
pub(crate) struct PlannedUpdate {
    /// The side whose blob changes.
    pub(crate) side: Side,
    /// The change.
    pub(crate) update: BlobUpdate,
    /// Why.
    pub(crate) reason: String,
    /// A rehydration request for an archived source blob.
    pub(crate) rehydrate: bool,
}

/// What the compare stage hands to the transfers.
#[derive(Debug)]
pub(crate) enum Work {
    /// Copy an entry.
    Copy(PlannedCopy),
    /// Change a blob's properties.
    Update(PlannedUpdate),
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
    pub(crate) deletes: Option<Vec<DeleteTarget>>,
    pub(crate) pending: Vec<(Item, Item)>,
}

impl Comparer<'_> {
    /// Plans copying `item` over `destination` (if there is one), unless an archived
    /// blob on either side prevents it.
    fn send_copy(
        &self,
        item: Item,
        reason: String,
        destination: Option<&Item>,
    ) -> Result<(), RunError> {
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
        self.send(Work::Copy(PlannedCopy {
            metadata: super::metadata::for_copy(&item, destination),
            item,
            reason,
            replaces: destination.map(Version::of),
            delete_first,
        }))
    }

    fn send(&self, work: Work) -> Result<(), RunError> {
        match self.copies.blocking_send(work) {
            Ok(()) => Ok(()),
            // The transfers stopped first: the run is stopping.
            Err(_) if self.ctx.stopped() => Ok(()),
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
        let (source_kind, destination_kind) = self.kinds;
        let pairs: Vec<Pair> = batch
            .iter_mut()
            .map(|(s, d)| Pair {
                source: lend(s, source_kind),
                destination: lend(d, destination_kind),
            })
            .collect();
        let decisions = self.comparator.compare(&pairs)?;
        for ((pair, (mut source, mut destination)), decision) in
            pairs.into_iter().zip(batch).zip(decisions)
        {
            give_back(&mut source, pair.source);
            give_back(&mut destination, pair.destination);
            match decision.action {
                Action::Transfer => self.send_copy(source, decision.reason, Some(&destination))?,
                Action::Skip => self.ctx.up_to_date(&source.path, &decision.reason),
            }
        }
        Ok(())
    }
}

impl Pairs for Comparer<'_> {
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
        self.send_copy(item, "not at the destination".into(), None)
    }

    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
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
            deletes.push(DeleteTarget::of(&item));
        }
    }

    fn finish(&mut self) -> Result<(), RunError> {
        self.compare()
    }
}
