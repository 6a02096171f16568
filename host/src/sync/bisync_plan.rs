//! The two-way plan stage: both filtered listings merged as `sync` merges them
//! ([`super::plan::merge`], path1 on the source's side), the state of the last run read
//! alongside in the same order, and each path planned ([`crate::bisync::plan`]); pairs
//! changed on both sides whose content decides are given their MD5s in batches by the
//! hash service ([`super::hashing`]).

use super::RunError;
use super::context::RunContext;
use super::hashing::Hashing;
use super::observer::Side;
use super::plan::Pairs;
use crate::bisync::Which;
use crate::bisync::conflict::Decision;
use crate::bisync::plan::{Plan, PlanOptions, Triple};
use crate::endpoint::{Item, ListOrder};
use crate::plugin::{Choice, Conflict, ConflictFacts, Resolution, ResolverChain};
use std::sync::Arc;

use crate::bisync::decide::{Action, decide};
use crate::store::{Known, Store, StoreError};

/// Pairs hashed at once.
const HASH_BATCH: usize = 256;

/// The state's rows, read alongside the merge; the first row that cannot be read ends
/// them, and fails the run.
pub(crate) struct StateCursor<I> {
    rows: I,
    next: Option<Known>,
    error: Option<StoreError>,
}

impl<I: Iterator<Item = Result<Known, StoreError>>> StateCursor<I> {
    fn new(mut rows: I) -> Self {
        let (next, error) = match rows.next() {
            Some(Ok(known)) => (Some(known), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        StateCursor { rows, next, error }
    }

    /// The next row, if `take` wants it.
    fn next_if(&mut self, take: impl FnOnce(&Known) -> bool) -> Option<Known> {
        if !take(self.next.as_ref()?) {
            return None;
        }
        let known = self.next.take();
        match self.rows.next() {
            Some(Ok(next)) => self.next = Some(next),
            Some(Err(e)) => self.error = Some(e),
            None => {}
        }
        known
    }

    fn error(&self) -> Result<(), RunError> {
        match &self.error {
            Some(e) => Err(RunError::Internal(format!(
                "cannot read the state of the last run: {e}"
            ))),
            None => Ok(()),
        }
    }
}

/// Plans every path the merge meets, with the state beside it.
pub(crate) struct TwoWayPairs<'a, I: Iterator<Item = Result<Known, StoreError>>> {
    ctx: &'a RunContext,
    order: ListOrder,
    state: StateCursor<I>,
    options: PlanOptions,
    hashing: Hashing,
    /// Pairs waiting for their MD5s.
    pending: Vec<Triple>,
    /// Folders left alone (excluded or skipped on a side): the state below them is kept.
    kept: Vec<String>,
    /// `--check-access`: the check files' name.
    check_name: Option<String>,
    /// The resolver plugins, if any.
    resolvers: Option<ResolverChain>,
    /// Where settled paths are recorded as they are found (the database and the pair),
    /// unless this is a dry run.
    settle_into: Option<(Arc<Store>, i64)>,
    pub(crate) plan: Plan,
}

/// What the two-way plan stage is given besides the state and the hash service.
pub(crate) struct PlanStage {
    /// How conflicts are settled.
    pub(crate) options: PlanOptions,
    /// `--check-access`: the check files' name.
    pub(crate) check_name: Option<String>,
    /// The resolver plugins.
    pub(crate) resolvers: Option<ResolverChain>,
    /// Where settled paths are recorded as they are found; `None` in a dry run.
    pub(crate) settle_into: Option<(Arc<Store>, i64)>,
}

impl<'a, I: Iterator<Item = Result<Known, StoreError>>> TwoWayPairs<'a, I> {
    pub(crate) fn new(
        ctx: &'a RunContext,
        order: ListOrder,
        state: I,
        hashing: Hashing,
        stage: PlanStage,
    ) -> Self {
        let PlanStage {
            options,
            check_name,
            resolvers,
            settle_into,
        } = stage;
        let mut plan = Plan::default();
        plan.check_files = check_name.as_ref().map(|_| Default::default());
        let state = StateCursor::new(state);
        plan.first_run = state.next.is_none() && state.error.is_none();
        TwoWayPairs {
            check_name,
            resolvers: resolvers.filter(|r| !r.is_empty()),
            settle_into,
            ctx,
            order,
            state,
            options,
            hashing,
            pending: Vec::new(),
            kept: Vec::new(),
            plan,
        }
    }

    /// One path of the merge: first the state's paths before it (on neither side now).
    fn path(&mut self, path: String, one: Option<Item>, two: Option<Item>) -> Result<(), RunError> {
        self.pass_state_before(Some(&path));
        let order = self.order;
        let known = self.state.next_if(|k| order.cmp(&k.path, &path).is_eq());
        self.note_check_files(&path, [one.is_some(), two.is_some()]);
        // A folder stub stands for a folder: it is not data.
        let file = |i: Option<Item>| i.filter(|i| !i.is_folder_stub());
        self.add(Triple {
            path,
            known,
            one: file(one),
            two: file(two),
        });
        if self.pending.len() >= HASH_BATCH {
            self.hash();
        }
        if self.plan.undecided() >= HASH_BATCH {
            self.resolve()?;
        }
        self.state.error()
    }

    /// The state's paths before `path` (all that are left, without one), on neither side
    /// now: gone from both, unless below a folder left alone.
    fn pass_state_before(&mut self, path: Option<&str>) {
        let order = self.order;
        while let Some(known) = self
            .state
            .next_if(|k| path.is_none_or(|p| order.less(&k.path, p)))
        {
            if self
                .kept
                .iter()
                .any(|folder| known.path.starts_with(folder.as_str()))
            {
                continue;
            }
            self.add(Triple {
                path: known.path.clone(),
                known: Some(known),
                one: None,
                two: None,
            });
        }
    }

    /// Asks the resolver plugins about the conflicts waiting for them, and plans each as
    /// they decided.
    fn resolve(&mut self) -> Result<(), RunError> {
        let undecided = self.plan.take_undecided();
        if undecided.is_empty() {
            return Ok(());
        }
        let conflicts: Vec<Conflict> = undecided.iter().map(|(t, _)| conflict_of(t)).collect();
        let resolutions = match &mut self.resolvers {
            Some(chain) => chain.resolve(&conflicts)?,
            None => Vec::new(),
        };
        let mut resolutions = resolutions.into_iter();
        for (t, reason) in undecided {
            let decision = resolutions.next().map_or(Decision::Policy, decision_of);
            self.plan.decided(&self.options, t, reason, decision);
        }
        Ok(())
    }

    /// Notes where `--check-access`'s files are.
    fn note_check_files(&mut self, path: &str, on: [bool; 2]) {
        let (Some(name), Some(found)) = (&self.check_name, &mut self.plan.check_files) else {
            return;
        };
        if path.rsplit('/').next() == Some(name.as_str()) {
            for (side, there) in on.into_iter().enumerate() {
                if there {
                    found[side].push(path.to_string());
                }
            }
        }
    }

    fn add(&mut self, t: Triple) {
        let (one, two) = (t.one.as_ref(), t.two.as_ref());
        if one.is_some() && two.is_some() && decide(t.known.as_ref(), one, two) == Action::Nothing {
            self.ctx
                .up_to_date(&t.path, "unchanged on both sides since the last run");
        }
        if let Some(t) = self.plan.add(&self.options, t) {
            self.pending.push(t);
        }
        self.record_settled();
    }

    /// Records the paths found to hold the same content on both sides at once (not in a
    /// dry run), instead of keeping them all in the plan until it is carried out: a first
    /// run over two trees already alike settles every path.
    fn record_settled(&mut self) {
        let Some((store, pair)) = &self.settle_into else {
            return;
        };
        for known in self.plan.settled.drain(..) {
            store.bisync_record(*pair, self.order.sort_key(&known.path), &known);
            self.ctx
                .up_to_date(&known.path, "the same content on both sides");
        }
    }

    /// Hashes the pending pairs and plans them again; a pair that cannot be hashed is
    /// reported as failed and left as it is (its state too).
    fn hash(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let mut states = Vec::with_capacity(pending.len());
        let mut pairs = Vec::with_capacity(pending.len());
        for t in pending {
            let (Some(one), Some(two)) = (t.one, t.two) else {
                unreachable!("only pairs wait for MD5s")
            };
            states.push((t.path, t.known));
            pairs.push((one, two));
        }
        let before: Vec<String> = pairs.iter().map(|(one, _)| one.path.clone()).collect();
        self.hashing.hash(self.ctx, &mut pairs);
        let mut pairs = pairs.into_iter().peekable();
        for ((path, known), listed) in states.into_iter().zip(before) {
            // Pairs that failed left the batch; the others kept their order.
            let Some((one, two)) = pairs.next_if(|(one, _)| one.path == listed) else {
                continue;
            };
            self.plan.add_hashed(
                &self.options,
                Triple {
                    path,
                    known,
                    one: Some(one),
                    two: Some(two),
                },
            );
        }
        self.record_settled();
    }
}

impl<I: Iterator<Item = Result<Known, StoreError>>> TwoWayPairs<'_, I> {
    /// The plan, once the merge ended: `complete` when both listings were read to their
    /// end, else the state's paths past where the merge stopped are left as they are,
    /// and nothing is deleted or forgotten (a listing that failed is not a delete).
    pub(crate) fn into_plan(mut self, complete: bool) -> Result<Plan, RunError> {
        if complete {
            self.pass_state_before(None);
        }
        self.hash();
        self.resolve()?;
        self.state.error()?;
        for (which, side) in [
            (Which::Path1, Side::Source),
            (Which::Path2, Side::Destination),
        ] {
            let unhashed = self.plan.unhashed_renames(which);
            if !unhashed.is_empty() {
                self.hashing.hash_local(self.ctx, side, unhashed);
            }
        }
        self.plan.finish();
        if !complete {
            self.plan.deletes = Default::default();
            self.plan.forget.clear();
        }
        Ok(self.plan)
    }
}

impl<I: Iterator<Item = Result<Known, StoreError>>> Pairs for TwoWayPairs<'_, I> {
    fn only_at_source(&mut self, item: Item) -> Result<(), RunError> {
        self.path(item.path.clone(), Some(item), None)
    }

    fn both(&mut self, source: Item, destination: Item) -> Result<(), RunError> {
        self.path(source.path.clone(), Some(source), Some(destination))
    }

    fn only_at_destination(&mut self, item: Item) {
        // Its state error, if any, is reported by the next path or at the end.
        let _ = self.path(item.path.clone(), None, Some(item));
    }

    fn finish(&mut self) -> Result<(), RunError> {
        Ok(())
    }

    fn left_alone(&mut self, path: &str) {
        // Its state stays as it is: neither side changes while it is out of scope.
        self.pass_state_before(Some(path));
        let order = self.order;
        let _ = self.state.next_if(|k| order.cmp(&k.path, path).is_eq());
        if path.ends_with('/') {
            self.kept.push(path.to_string());
        }
    }
}

/// A conflict as the resolver plugins see it.
fn conflict_of(t: &Triple) -> Conflict {
    let md5 = |m: Option<[u8; 16]>| m.map(|m| m.to_vec());
    let now = |i: &Option<Item>| {
        let i = i.as_ref().expect("a conflict is on both sides");
        ConflictFacts {
            size: i.size,
            mtime_ns: i.preserved_mtime_ns(),
            md5: md5(i.md5),
        }
    };
    let last = |f: &crate::store::Facts| ConflictFacts {
        size: f.size,
        mtime_ns: f.mtime_ns,
        md5: md5(f.md5),
    };
    Conflict {
        path: t.path.clone(),
        last_path1: t.known.as_ref().map(|k| last(&k.path1)),
        last_path2: t.known.as_ref().map(|k| last(&k.path2)),
        path1: now(&t.one),
        path2: now(&t.two),
    }
}

/// What a resolver's answer means for the plan.
fn decision_of(r: Resolution) -> Decision {
    match r.choice {
        Choice::Path1 => Decision::Wins(Which::Path1, r.reason),
        Choice::Path2 => Decision::Wins(Which::Path2, r.reason),
        Choice::KeepBoth => Decision::KeepBoth(r.reason),
        Choice::Policy => Decision::Policy,
    }
}
