//! Plugins of one kind asked in turn about each batch, for one worker ([`Chain`]): the
//! filters of a [`FilterChain`](super::FilterChain) and the annotators of an
//! [`AnnotatorChain`](super::AnnotatorChain).

use std::sync::Arc;

use super::entry::Packer;
use super::error::PluginError;
use super::instance::Slot;
use super::load::Loaded;
use super::spec::FailurePolicy;
use super::tolerated::Tolerated;
use super::values::RunValues;
use super::world::World;

/// The run's plugins of one kind, in order, for one worker.
pub(crate) struct Chain<W: World> {
    slots: Vec<Slot<W>>,
    tolerated: Arc<Tolerated>,
    /// Column buffers every plugin's batch is packed into in turn.
    packer: Packer,
}

impl<W: World> Chain<W> {
    pub(crate) fn new(
        plugins: &[Arc<Loaded<W>>],
        tolerated: Arc<Tolerated>,
        values: &RunValues,
    ) -> Self {
        Chain {
            slots: plugins.iter().map(|p| Slot::new(p, values)).collect(),
            tolerated,
            packer: Packer::default(),
        }
    }

    /// Instantiates and configures every plugin, so that configuration errors surface.
    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        self.slots.iter_mut().try_for_each(Slot::ensure_live)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Asks each plugin in order (`ask`) and hands its answers to `take`. A fail-closed
    /// plugin's failure is returned; a fail-open plugin's is logged with `consequence`
    /// (what it means for the batch) and tallied, and the next plugin is asked.
    pub(crate) fn each<R>(
        &mut self,
        consequence: &str,
        mut ask: impl FnMut(&mut Slot<W>, &mut Packer) -> Result<R, PluginError>,
        mut take: impl FnMut(&Slot<W>, R),
    ) -> Result<(), PluginError> {
        for slot in &mut self.slots {
            match ask(slot, &mut self.packer) {
                Ok(answers) => take(slot, answers),
                Err(e) if slot.failure() == FailurePolicy::FailOpen => {
                    self.tolerated.tolerate(slot.name(), &e, consequence)
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
