//! The compare stage: what the merge pairs becomes copies, skips and delete candidates.
//! Pairs go to the comparator plugin in batches (local files hashed first when it asks
//! for MD5s); files only at the source are copied; files only at the destination are
//! delete candidates.

use tokio::sync::mpsc::Sender;

use super::RunError;
use super::context::RunContext;
use super::entries::{give_back, lend};
use super::hash::LocalHasher;
use super::plan::Pairs;
use crate::endpoint::{DeleteTarget, Item};
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
}

/// Turns pairs into decisions.
pub(crate) struct Comparer<'a> {
    pub(crate) ctx: &'a RunContext,
    pub(crate) comparator: ComparatorInstance,
    pub(crate) hasher: Option<LocalHasher>,
    /// The plugin-facing kinds of the source and the destination.
    pub(crate) kinds: (EndpointKind, EndpointKind),
    pub(crate) copies: Sender<PlannedCopy>,
    /// Delete candidates, collected only when deleting.
    pub(crate) deletes: Option<Vec<DeleteTarget>>,
    pub(crate) pending: Vec<(Item, Item)>,
}

impl Comparer<'_> {
    fn send_copy(&self, item: Item, reason: String) -> Result<(), RunError> {
        match self.copies.blocking_send(PlannedCopy { item, reason }) {
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
        for ((pair, (mut source, _)), decision) in pairs.into_iter().zip(batch).zip(decisions) {
            give_back(&mut source, pair.source);
            match decision.action {
                Action::Transfer => self.send_copy(source, decision.reason.to_string())?,
                Action::Skip => self.ctx.up_to_date(&source.path, &decision.reason),
            }
        }
        Ok(())
    }
}

impl Pairs for Comparer<'_> {
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
        self.send_copy(item, "not at the destination".into())
    }

    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
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
