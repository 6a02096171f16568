//! The run's filter plugins for one worker ([`FilterChain`]), which `sync`'s filter stage
//! asks about each listed batch: every filter is asked about every batch, in order; the
//! first exclusion of an entry wins.

use std::sync::Arc;

use super::bindings::types::Side;
use super::chain::Chain;
use super::entry::{Entry, Packer};
use super::error::PluginError;
use super::inspect::Interface;
use super::instance::Slot;
use super::legacy;
use super::world::Filter;

/// Why an entry was excluded, and by which filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The filter's name.
    pub plugin: Arc<str>,
    /// The filter's reason.
    pub reason: String,
}

/// The run's filters, for one worker.
pub struct FilterChain(pub(crate) Chain<Filter>);

impl FilterChain {
    /// True when the chain has no filters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Asks every filter about `entries` (all from `side`). Returns, per entry, `None` if
    /// it is included or the first filter's exclusion. A fail-closed filter's failure is
    /// returned as an error; a fail-open filter's failure includes the batch and is kept
    /// for [`PluginHost::tolerated_failures`](super::PluginHost::tolerated_failures).
    ///
    /// Call it from a thread that may block (a pipeline thread or `spawn_blocking`).
    pub fn apply(
        &mut self,
        side: Side,
        entries: &[Entry],
    ) -> Result<Vec<Option<Exclusion>>, PluginError> {
        let mut out: Vec<Option<Exclusion>> = vec![None; entries.len()];
        if entries.is_empty() {
            return Ok(out);
        }
        let consequence = format!("the batch of {} entries is included", entries.len());
        let ask = |slot: &mut Slot<Filter>, packer: &mut Packer| ask(slot, packer, side, entries);
        self.0.each(&consequence, ask, |slot, verdicts| {
            for (excluded, verdict) in out.iter_mut().zip(verdicts) {
                if excluded.is_none()
                    && let Some(mut reason) = verdict
                {
                    slot.redact(&mut reason);
                    *excluded = Some(Exclusion {
                        plugin: slot.name().clone(),
                        reason,
                    });
                }
            }
        })?;
        Ok(out)
    }
}

/// One filter's verdicts for a batch: `None` includes, `Some(reason)` excludes.
fn ask(
    slot: &mut Slot<Filter>,
    packer: &mut Packer,
    side: Side,
    entries: &[Entry],
) -> Result<Vec<Option<String>>, PluginError> {
    slot.ask(side, entries, |slot| match slot.interface() {
        Interface::V2 => {
            let columns = slot.pack(packer, entries.iter())?;
            slot.call(|w, store| w.filter(store, side, columns))
        }
        Interface::V1 => {
            let records: Vec<_> = entries.iter().map(legacy::entry).collect();
            slot.call(|w, store| w.filter_v1(store, side, &records))
        }
    })
}
