//! One hook on its own worker ([`HookInstance`]).

use std::sync::Arc;

use super::bindings::types::Summary;
use super::error::PluginError;
use super::instance::Slot;
use super::load::Loaded;
use super::spec::FailurePolicy;
use super::values::RunValues;
use super::world::{DirectedEvent, Hook, SettledConflict};

/// One hook, on its own worker.
pub struct HookInstance {
    slot: Slot<Hook>,
}

impl HookInstance {
    pub(crate) fn new(plugin: &Arc<Loaded<Hook>>, values: &RunValues) -> Self {
        HookInstance {
            slot: Slot::new(plugin, values),
        }
    }

    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        self.slot.ensure_live()
    }

    /// The hook's name.
    pub fn name(&self) -> &str {
        self.slot.name()
    }

    /// The hook's failure policy.
    pub fn failure(&self) -> FailurePolicy {
        self.slot.failure()
    }

    /// Gives the next calls this run's values: an instance configured for another run is
    /// replaced (and configured afresh) at the next call. A hook outlives runs in watch
    /// mode, so the dispatcher calls this when each run starts.
    pub fn begin_run(&mut self, values: &RunValues) {
        self.slot.set_values(values);
    }

    /// Delivers a batch of events (their directions reach two-way hooks only).
    ///
    /// Call it from a thread that may block (the hook's worker).
    pub fn on_events(&mut self, events: &[DirectedEvent]) -> Result<(), PluginError> {
        if events.is_empty() {
            return Ok(());
        }
        self.slot.call(|w, store| w.on_events(store, events))
    }

    /// Delivers a batch of a two-way run's conflicts (to two-way hooks only).
    pub fn on_conflicts(&mut self, conflicts: &[SettledConflict]) -> Result<(), PluginError> {
        if conflicts.is_empty() {
            return Ok(());
        }
        self.slot.call(|w, store| w.on_conflicts(store, conflicts))
    }

    /// Delivers the run's summary.
    pub fn on_complete(&mut self, summary: &Summary) -> Result<(), PluginError> {
        self.slot.call(|w, store| w.on_complete(store, summary))
    }
}
