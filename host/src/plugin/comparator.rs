//! The run's comparator plugin for one worker ([`ComparatorInstance`]), which `sync`'s
//! compare stage asks about each batch of pairs, and what it decides ([`Decision`]).

use std::sync::Arc;

use super::bindings::types::{Action, Decision as WitDecision, EntryFields};
use super::entry::{Packer, Pair};
use super::error::PluginError;
use super::inspect::Interface;
use super::instance::Slot;
use super::legacy;
use super::load::Loaded;
use super::spec::FailurePolicy;
use super::tolerated::Tolerated;
use super::values::RunValues;
use super::world::Comparator;

/// What the comparator asked for in `configure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComparatorInfo {
    /// The host must supply the MD5 of local files whose sizes match on both sides.
    pub needs_md5: bool,
    /// Every optional field the comparator reads.
    pub fields: EntryFields,
}

/// What the comparator decided for one pair. Pairs decided for the same reason share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Transfer or skip.
    pub action: Action,
    /// Why; shown in dry runs, logs and job records.
    pub reason: Arc<str>,
}

/// The run's comparator, for one worker.
pub struct ComparatorInstance {
    slot: Slot<Comparator>,
    tolerated: Arc<Tolerated>,
    source: Packer,
    destination: Packer,
}

impl ComparatorInstance {
    pub(crate) fn new(
        plugin: &Arc<Loaded<Comparator>>,
        tolerated: Arc<Tolerated>,
        values: &RunValues,
    ) -> Self {
        ComparatorInstance {
            slot: Slot::new(plugin, values),
            tolerated,
            source: Packer::default(),
            destination: Packer::default(),
        }
    }

    pub(crate) fn probe(&mut self) -> Result<ComparatorInfo, PluginError> {
        self.slot.ensure_live()?;
        Ok(ComparatorInfo {
            needs_md5: self.slot.fields.contains(EntryFields::MD5),
            fields: self.slot.fields,
        })
    }

    /// The comparator's name.
    pub fn name(&self) -> &str {
        self.slot.name()
    }

    /// Decides each pair. A fail-open comparator's failure transfers the whole batch
    /// (copying too much is safe; skipping is not).
    ///
    /// Call it from a thread that may block (a pipeline thread or `spawn_blocking`).
    pub fn compare(&mut self, pairs: &[Pair]) -> Result<Vec<Decision>, PluginError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        match self.ask(pairs) {
            Ok(decisions) => {
                // No reason repeats the previous pair's (the SDK sends repeated reasons
                // that way); repeated reasons share one string.
                let mut previous: Arc<str> = Arc::from("");
                Ok(decisions
                    .into_iter()
                    .map(|d| {
                        if let Some(mut reason) = d.reason
                            && *reason != *previous
                        {
                            self.slot.redact(&mut reason);
                            previous = Arc::from(reason);
                        }
                        Decision {
                            action: d.action,
                            reason: previous.clone(),
                        }
                    })
                    .collect())
            }
            Err(e) if self.slot.failure() == FailurePolicy::FailOpen => {
                let consequence = format!("the batch of {} pairs is transferred", pairs.len());
                self.tolerated.tolerate(self.slot.name(), &e, &consequence);
                let reason: Arc<str> =
                    Arc::from(format!("comparator failed (fail-open, transferring): {e}"));
                Ok(pairs
                    .iter()
                    .map(|_| Decision {
                        action: Action::Transfer,
                        reason: reason.clone(),
                    })
                    .collect())
            }
            Err(e) => Err(e),
        }
    }

    fn ask(&mut self, pairs: &[Pair]) -> Result<Vec<WitDecision>, PluginError> {
        let slot = &mut self.slot;
        slot.ensure_live()?;
        let decisions = match slot.interface() {
            Interface::V2 => {
                let source = slot.pack(&mut self.source, pairs.iter().map(|p| &p.source))?;
                let destination =
                    slot.pack(&mut self.destination, pairs.iter().map(|p| &p.destination))?;
                slot.call(|w, store| w.compare(store, source, destination))?
            }
            Interface::V1 => {
                let records: Vec<_> = pairs.iter().map(legacy::pair).collect();
                slot.call(|w, store| w.compare_v1(store, &records))?
            }
        };
        slot.check_count(pairs.len(), decisions.len())?;
        Ok(decisions)
    }
}
