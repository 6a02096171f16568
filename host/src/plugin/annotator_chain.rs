//! The run's annotator plugins for one worker ([`AnnotatorChain`]), which `sync`'s
//! annotate stage asks about the files about to be uploaded: each says which content
//! headers, access tier, metadata and blob index tags a file's blob gets; their answers
//! are checked and merged by the rules of `annotation.rs`.

use super::annotation::{empty_annotation, merge, validate};
use super::bindings::types::{Annotation, Side};
use super::chain::Chain;
use super::entry::{Entry, Packer};
use super::error::PluginError;
use super::instance::Slot;
use super::world::Annotator;

/// The run's annotators, for one worker.
pub struct AnnotatorChain(pub(crate) Chain<Annotator>);

impl AnnotatorChain {
    /// True when there are no annotators (uploads get no headers, tier, metadata or tags
    /// from plugins).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The annotation of each local source file in `entries` (in order), every annotator's
    /// answer merged. A fail-closed annotator's failure (a trap, a wrong count, an invalid
    /// metadata key or tag) is returned as an error; a fail-open annotator's failure drops
    /// its contribution to this batch and is counted in
    /// [`PluginHost::tolerated_failures`](super::PluginHost::tolerated_failures).
    ///
    /// Call it from a thread that may block (a pipeline thread or `spawn_blocking`).
    pub fn annotate(&mut self, entries: &[Entry]) -> Result<Vec<Annotation>, PluginError> {
        let mut out: Vec<Annotation> = entries.iter().map(|_| empty_annotation()).collect();
        if entries.is_empty() {
            return Ok(out);
        }
        let consequence = format!(
            "the {} files of the batch get no annotation from it",
            entries.len()
        );
        let ask = |slot: &mut Slot<Annotator>, packer: &mut Packer| ask(slot, packer, entries);
        self.0.each(&consequence, ask, |_, annotations| {
            for (merged, a) in out.iter_mut().zip(annotations) {
                merge(merged, a);
            }
        })?;
        Ok(out)
    }
}

/// One annotator's annotations for a batch of local source files, each checked.
fn ask(
    slot: &mut Slot<Annotator>,
    packer: &mut Packer,
    entries: &[Entry],
) -> Result<Vec<Annotation>, PluginError> {
    let annotations = slot.ask(Side::Source, entries, |slot| {
        let columns = slot.pack(packer, entries.iter())?;
        slot.call(|w, store| w.annotate(store, columns))
    })?;
    for (entry, a) in entries.iter().zip(&annotations) {
        validate(a).map_err(|reason| PluginError::BadAnnotation {
            plugin: slot.name().to_string(),
            path: entry.path.clone(),
            reason,
        })?;
    }
    Ok(annotations)
}
