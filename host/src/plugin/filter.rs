//! The run's filters for one worker ([`FilterChain`]): every filter is asked about every
//! batch, in order; the first exclusion of an entry wins.

use std::sync::Arc;

use super::bindings::types::Side;
use super::entry::{Entry, Packer};
use super::error::PluginError;
use super::inspect::Interface;
use super::instance::Slot;
use super::legacy;
use super::load::Loaded;
use super::spec::FailurePolicy;
use super::tolerated::Tolerated;
use super::values::RunValues;
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
pub struct FilterChain {
    slots: Vec<Slot<Filter>>,
    names: Vec<Arc<str>>,
    tolerated: Arc<Tolerated>,
    packer: Packer,
}

impl FilterChain {
    pub(crate) fn new(
        plugins: &[Arc<Loaded<Filter>>],
        tolerated: Arc<Tolerated>,
        values: &RunValues,
    ) -> Self {
        FilterChain {
            slots: plugins.iter().map(|p| Slot::new(p, values)).collect(),
            names: plugins
                .iter()
                .map(|p| Arc::from(p.spec.name.as_str()))
                .collect(),
            tolerated,
            packer: Packer::default(),
        }
    }

    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        self.slots.iter_mut().try_for_each(Slot::ensure_live)
    }

    /// True when the chain has no filters.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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
        for (slot, name) in self.slots.iter_mut().zip(&self.names) {
            match ask(slot, &mut self.packer, side, entries) {
                Ok(verdicts) => {
                    for (slot_out, verdict) in out.iter_mut().zip(verdicts) {
                        if slot_out.is_none()
                            && let Some(mut reason) = verdict
                        {
                            slot.redact(&mut reason);
                            *slot_out = Some(Exclusion {
                                plugin: name.clone(),
                                reason,
                            });
                        }
                    }
                }
                Err(e) if slot.failure() == FailurePolicy::FailOpen => {
                    tracing::warn!(
                        "{e} (fail-open: the batch of {} entries is included)",
                        entries.len()
                    );
                    self.tolerated.record(name, &e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
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
    slot.ensure_live()?;
    if let Some(content) = slot.content() {
        content.begin(side, entries.iter());
    }
    let result = match slot.interface() {
        Interface::V2 => match packer.pack(entries.iter(), slot.fields) {
            Ok(columns) => slot.call(|w, store| w.filter(store, side, columns)),
            Err(e) => Err(PluginError::Entry {
                plugin: slot.name().to_string(),
                path: e.path,
                reason: "a path containing NUL cannot be passed to plugins".into(),
            }),
        },
        Interface::V1 => {
            let records: Vec<_> = entries.iter().map(legacy::entry).collect();
            slot.call(|w, store| w.filter_v1(store, side, &records))
        }
    };
    if let Some(content) = slot.content() {
        content.end();
    }
    let verdicts = result?;
    slot.check_count(entries.len(), verdicts.len())?;
    Ok(verdicts)
}
