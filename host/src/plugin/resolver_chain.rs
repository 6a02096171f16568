//! The run's resolver plugins ([`ResolverChain`]), which a two-way sync asks about its
//! conflicts in batches: the first resolver with an opinion on a conflict (an answer
//! other than `policy`) settles it; where none has one, `--conflict-resolve` and
//! `--conflict-loser` do.

use super::chain::Chain;
use super::error::PluginError;
use super::instance::Slot;
use super::world::Resolver;
pub use super::world::{
    Choice, Resolution, TwoWayConflict as Conflict, TwoWayFacts as ConflictFacts,
};

/// The run's resolvers.
pub struct ResolverChain(pub(crate) Chain<Resolver>);

impl ResolverChain {
    /// True when there are no resolvers (the flags settle every conflict).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each conflict's resolution, in order: the first resolver's answer other than
    /// `policy` (its reason prefixed with the resolver's name), else `policy`. A
    /// fail-closed resolver's failure (a trap, a wrong count) is returned; a fail-open
    /// one's leaves the batch to the next resolver, and is counted.
    ///
    /// Call it from a thread that may block (`spawn_blocking`).
    pub fn resolve(&mut self, conflicts: &[Conflict]) -> Result<Vec<Resolution>, PluginError> {
        let mut out: Vec<Resolution> = conflicts
            .iter()
            .map(|_| Resolution {
                choice: Choice::Policy,
                reason: String::new(),
            })
            .collect();
        if conflicts.is_empty() {
            return Ok(out);
        }
        let consequence = format!(
            "its opinion on the {} conflicts of the batch is not asked",
            conflicts.len()
        );
        let ask = |slot: &mut Slot<Resolver>, _: &mut _| ask(slot, conflicts);
        self.0.each(&consequence, ask, |slot, answers| {
            for (settled, answer) in out.iter_mut().zip(answers) {
                let open = matches!(settled.choice, Choice::Policy);
                if open && !matches!(answer.choice, Choice::Policy) {
                    settled.choice = answer.choice;
                    settled.reason = format!("{}: {}", slot.name(), answer.reason);
                }
            }
        })?;
        Ok(out)
    }
}

/// One resolver's answers for a batch, one per conflict.
fn ask(slot: &mut Slot<Resolver>, conflicts: &[Conflict]) -> Result<Vec<Resolution>, PluginError> {
    let answers = slot.call(|w, store| w.resolve(store, conflicts))?;
    slot.check_count(conflicts.len(), answers.len())?;
    Ok(answers)
}
