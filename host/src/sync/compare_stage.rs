//! The compare stage: what the merge pairs becomes decisions. Pairs go to the comparator
//! plugin in batches, given first the MD5s it needs ([`super::hashing`]); files only at
//! the source are copied; files only at the destination are delete candidates. Each
//! decision goes on to the copy policy ([`super::policy`]).

use super::RunError;
use super::context::RunContext;
use super::entries::{give_back, lend};
use super::hashing::Hashing;
use super::plan::Pairs;
use super::policy::Policy;
use crate::endpoint::Item;
use crate::plugin::{Action, ComparatorInstance, EndpointKind, Pair};

/// Pairs per comparator call.
const COMPARE_BATCH: usize = 512;

/// Turns pairs into decisions.
pub(crate) struct Comparer<'a> {
    pub(crate) ctx: &'a RunContext,
    pub(crate) comparator: ComparatorInstance,
    pub(crate) hashing: Hashing,
    /// The plugin-facing kinds of the source and the destination.
    pub(crate) kinds: (EndpointKind, EndpointKind),
    /// The latest time the destination keeps (ns).
    pub(crate) latest_time_ns: i64,
    /// Delete candidates, collected only when deleting.
    pub(crate) deletes: Option<Vec<Item>>,
    /// Pairs waiting for the comparator.
    pub(crate) pending: Vec<(Item, Item)>,
    pub(crate) policy: Policy<'a>,
}

impl Comparer<'_> {
    /// Runs the comparator over the pending pairs.
    fn compare(&mut self) -> Result<(), RunError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.pending);
        self.hashing.hash(self.ctx, &mut batch);
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
            let reason = decision.reason.to_string();
            match decision.action {
                Action::Transfer => self.policy.copy(source, reason, Some(destination))?,
                Action::Skip => {
                    let store = self.hashing.stored_for(&source.path);
                    self.policy.up_to_date(source, destination, reason, store)?
                }
            }
        }
        Ok(())
    }
}

impl Pairs for Comparer<'_> {
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
        self.policy
            .copy(item, "not at the destination".into(), None)
    }

    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
        if self.policy.damaged(&destination) {
            return self.policy.copy(
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
        self.compare()
    }
}
