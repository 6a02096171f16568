//! The plan of one two-way run, from each path as the state and both sides have it
//! ([`Triple`]): the
//! copies in three rounds of alternating direction (a conflict's losing version is read
//! before the winner replaces it), the deletes on each side, the paths whose state is
//! settled or forgotten without a transfer, and the counts the guards weigh.

use super::Which;
use super::conflict::{Decision, Loser, Resolve, conflict_name, is_conflict_name};
use super::decide::{Action, Reason, Settled, decide, settle};
use super::facts::{Facts, Known};
use super::renames::{Move, Renames};
use super::spool::Spool;
use crate::endpoint::Item;

/// One path, as the state and each side have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triple {
    pub path: String,
    pub known: Option<Known>,
    pub one: Option<Item>,
    pub two: Option<Item>,
}

/// How conflicts are settled.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Which version keeps the name.
    pub resolve: Resolve,
    /// What becomes of the other.
    pub loser: Loser,
    /// A path deleted and a new one with the same size and MD5 on one side is a rename,
    /// moved on the other side (`--track-renames`).
    pub track_renames: bool,
    /// Resolver plugins settle conflicts first: they wait in [`Plan::undecided`].
    pub resolvers: bool,
}

/// One copy from one side to the other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Copy {
    /// The side copied from.
    pub from: Which,
    /// The entry copied, as listed (or as written earlier in the run).
    pub item: Item,
    /// Its path on the other side.
    pub to: String,
    /// The entry it replaces there, as listed: the write is conditional on it.
    pub replaces: Option<Box<Item>>,
    /// Why.
    pub reason: Reason,
    /// Record the path's state once the copy is done (not for the first half of a
    /// conflict copy, whose other half records it).
    pub record: bool,
    /// Its source was written earlier in the run (the second half of a conflict copy):
    /// it is listed again before it is read.
    pub relist: bool,
    /// New on its side and not on the other: possibly a rename's new name.
    pub first: bool,
}

/// One delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// The side it is deleted on.
    pub on: Which,
    /// The entry, as listed: the delete is conditional on it.
    pub item: Item,
    /// Why.
    pub reason: Reason,
}

/// A conflict, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub path: String,
    /// Both sides' entries.
    pub path1: Item,
    pub path2: Item,
    /// The side whose version keeps the name.
    pub winner: Which,
    /// What differs, and how it was settled.
    pub reason: String,
    /// Where the losing version is kept, when it is renamed.
    pub kept_as: Option<String>,
}

/// The plan of one run.
#[derive(Debug, Default)]
pub struct Plan {
    /// Copies in rounds: path1 → path2, then path2 → path1, then path1 → path2. Most are
    /// written to a temporary file past the first few thousand; those the planner may
    /// still change (a conflict's, a possible rename's new name) stay in memory.
    pub rounds: [Spool<Copy>; 3],
    /// There is no state (a first run): no copy can be a rename's new name.
    pub first_run: bool,
    /// Deletes on each side (path1, path2).
    pub deletes: [Vec<Delete>; 2],
    /// Entries moved within each side (path1, path2): renames on the other side.
    pub moves: [Vec<Move>; 2],
    /// Possible renames (`--track-renames`).
    renames: Renames,
    /// Conflicts waiting for the resolver plugins, with why they are conflicts.
    undecided: Vec<(Triple, String)>,
    /// Paths whose state is recorded without a transfer (the same content on both).
    pub settled: Vec<Known>,
    /// Paths on neither side any more: their state goes.
    pub forget: Vec<String>,
    pub conflicts: Vec<Conflict>,
    /// Paths the state knew on each side, and entries each side would lose (deleted,
    /// or a conflict's loser with `--conflict-loser=delete`), for the guards.
    pub known: [u64; 2],
    pub losses: [u64; 2],
    /// Entries listed on each side.
    pub listed: [u64; 2],
    /// The conflict copies found on each side (path1, path2) — few — so that a conflict
    /// whose copy a run that was cut short already made is not copied again
    /// ([`Plan::finish`]).
    found_copies: std::collections::HashMap<String, [bool; 2]>,
    /// `--check-access`: the check files found on each side (paths), when asked for.
    pub check_files: Option<[Vec<String>; 2]>,
}

/// Which side wins a conflict, why, and the options its loser is kept by: as a resolver
/// plugin decided, else as `--conflict-resolve` picks.
fn ruling(
    options: &PlanOptions,
    decision: Decision,
    one: &Item,
    two: &Item,
) -> (Which, String, PlanOptions) {
    let policy = || options.resolve.winner(one, two);
    let (winner, why, loser) = match decision {
        Decision::Wins(side, why) => (side, why, options.loser),
        Decision::KeepBoth(said) => {
            let (winner, why) = policy();
            (winner, format!("{said}; {why}, both kept"), Loser::Rename)
        }
        Decision::Policy => {
            let (winner, why) = policy();
            (winner, why, options.loser)
        }
    };
    (winner, why, PlanOptions { loser, ..*options })
}

fn at(side: Which) -> usize {
    match side {
        Which::Path1 => 0,
        Which::Path2 => 1,
    }
}

fn pick<T>(side: Which, one: T, two: T) -> T {
    match side {
        Which::Path1 => one,
        Which::Path2 => two,
    }
}

impl Plan {
    /// Plans one path. A pair changed on both sides whose MD5s are needed to settle it
    /// comes back: hash what it lacks, and plan it again.
    pub fn add(&mut self, options: &PlanOptions, t: Triple) -> Option<Triple> {
        if t.known.is_some() {
            self.known[0] += 1;
            self.known[1] += 1;
        }
        self.listed[0] += t.one.is_some() as u64;
        self.listed[1] += t.two.is_some() as u64;
        if is_conflict_name(&t.path) && (t.one.is_some() || t.two.is_some()) {
            self.found_copies
                .insert(t.path.clone(), [t.one.is_some(), t.two.is_some()]);
        }
        match decide(t.known.as_ref(), t.one.as_ref(), t.two.as_ref()) {
            Action::Nothing => {}
            Action::Forget => self.forget.push(t.path),
            Action::Copy { from, reason } => self.copy(t, from, reason),
            Action::Delete { on, reason } => {
                if options.track_renames
                    && let Some(known) = &t.known
                {
                    let was = pick(on.other(), &known.path1, &known.path2);
                    self.renames.deleted(on.other(), &t.path, was.size, was.md5);
                }
                let item = pick(on, t.one, t.two).expect("a delete has its entry");
                self.losses[at(on)] += 1;
                self.deletes[at(on)].push(Delete { on, item, reason });
            }
            Action::Compare { reason } => return self.compare(options, t, reason),
        }
        None
    }

    /// Plans a pair changed on both sides again, now that both MD5s are known (or could
    /// not be had: then it is a conflict).
    pub fn add_hashed(&mut self, options: &PlanOptions, t: Triple) {
        if self
            .compare(options, t, "changed on both sides".into())
            .is_some()
        {
            unreachable!("a hashed pair is settled or a conflict");
        }
    }

    fn copy(&mut self, t: Triple, from: Which, reason: Reason) {
        let (item, replaces) = match from {
            Which::Path1 => (t.one, t.two),
            Which::Path2 => (t.two, t.one),
        };
        let item = item.expect("a copy has its source");
        let first = t.known.is_none() && replaces.is_none();
        let copy = Copy {
            from,
            to: t.path,
            item,
            replaces: replaces.map(Box::new),
            reason,
            record: true,
            relist: false,
            first,
        };
        // A new entry may be a rename's new name (paired in `finish`): kept at hand.
        if first && !self.first_run {
            self.rounds[at(from)].hold(copy);
        } else {
            self.rounds[at(from)].push(copy);
        }
    }

    fn compare(&mut self, options: &PlanOptions, t: Triple, why: String) -> Option<Triple> {
        let (Some(one), Some(two)) = (&t.one, &t.two) else {
            unreachable!("compared pairs are on both sides")
        };
        match settle(one, two) {
            Settled::Equal => {
                self.settled.push(Known {
                    path: t.path,
                    path1: Facts::of(one),
                    path2: Facts::of(two),
                });
                None
            }
            Settled::NeedsMd5 if one.md5.is_none() || two.md5.is_none() => Some(t),
            Settled::NeedsMd5 => unreachable!("both MD5s are known"),
            Settled::Different(what) => {
                let reason = format!("conflict: {why} ({what})");
                if options.resolvers {
                    self.undecided.push((t, reason));
                } else {
                    self.decided(options, t, reason, Decision::Policy);
                }
                None
            }
        }
    }

    /// How many conflicts wait for the resolver plugins.
    pub fn undecided(&self) -> usize {
        self.undecided.len()
    }

    /// The conflicts waiting for the resolver plugins, with why each is one.
    pub fn take_undecided(&mut self) -> Vec<(Triple, String)> {
        std::mem::take(&mut self.undecided)
    }

    /// Plans a conflict as `decision` settles it (a resolver plugin's, or the policy).
    pub fn decided(
        &mut self,
        options: &PlanOptions,
        t: Triple,
        reason: String,
        decision: Decision,
    ) {
        let (one, two) = (t.one.expect("path1"), t.two.expect("path2"));
        let (winner, why, options) = ruling(options, decision, &one, &two);
        let options = &options;
        let loser = winner.other();
        let reason = match options.loser {
            Loser::Backup => format!(
                "{reason}, {why}; the losing version is kept in --backup-dir{}",
                if loser == Which::Path1 { 1 } else { 2 }
            ),
            _ => format!("{reason}, {why}"),
        };
        let (won, lost) = pick(
            winner,
            (one.clone(), two.clone()),
            (two.clone(), one.clone()),
        );
        // A loser kept under its conflict name is not lost.
        self.losses[at(loser)] += (options.loser == Loser::Delete) as u64;
        let kept_as = (options.loser == Loser::Rename)
            .then(|| conflict_name(&t.path, loser, lost.preserved_mtime_ns()));
        if let Some(name) = &kept_as {
            // The losing version goes to the winner's side under its conflict name
            // (before the winner replaces it), then back to its own side.
            let first = if loser == Which::Path1 { 0 } else { 1 };
            self.rounds[first].hold(Copy {
                from: loser,
                item: lost.clone(),
                to: name.clone(),
                replaces: None,
                reason: format!("{reason}: the losing version is kept as {name}").into(),
                record: false,
                relist: false,
                first: false,
            });
            let written = Item {
                path: name.clone(),
                ..Item::default()
            };
            self.rounds[first + 1].hold(Copy {
                from: winner,
                item: written,
                to: name.clone(),
                replaces: None,
                reason: format!("{reason}: the losing version is kept as {name}").into(),
                record: true,
                relist: true,
                first: false,
            });
        }
        // The winner replaces the loser after the loser was read.
        let round = if loser == Which::Path1 { 1 } else { 2 };
        self.rounds[round].hold(Copy {
            from: winner,
            item: won,
            to: t.path.clone(),
            replaces: Some(Box::new(lost)),
            reason: reason.clone().into(),
            record: true,
            relist: false,
            first: false,
        });
        self.conflicts.push(Conflict {
            path: t.path,
            path1: one,
            path2: two,
            winner,
            reason,
            kept_as,
        });
    }

    /// Completes the plan once every path was planned: a conflict copy that a run cut
    /// short already made (on one side or both) is not made again — the path it is
    /// found at was planned like any other (copied to the side that lacks it, or settled
    /// where both hold it).
    pub fn finish(&mut self) {
        for side in [Which::Path1, Which::Path2] {
            self.pair_renames(side);
        }
        if self.found_copies.is_empty() {
            return;
        }
        let made: std::collections::HashSet<&str> = self
            .conflicts
            .iter()
            .filter_map(|c| c.kept_as.as_deref())
            .filter(|name| self.found_copies.contains_key(*name))
            .collect();
        if made.is_empty() {
            return;
        }
        for round in &mut self.rounds {
            // The conflict's own halves of the copy: to its name, not from the same
            // path on the other side (that one is the path's own plan).
            round
                .held_mut()
                .retain(|c| !(made.contains(c.to.as_str()) && (c.relist || c.item.path != c.to)));
        }
    }

    /// The new entries on `side` that could be a rename's new name but lack the MD5 that
    /// would tell: hash them, then [`Plan::finish`].
    pub fn unhashed_renames(&mut self, side: Which) -> Vec<&mut Item> {
        let sizes = self.renames.sizes(side);
        if sizes.is_empty() {
            return Vec::new();
        }
        self.rounds[at(side)]
            .held_mut()
            .iter_mut()
            .filter(|c| c.first && c.item.md5.is_none() && sizes.contains(&c.item.size))
            .map(|c| &mut c.item)
            .collect()
    }

    /// Turns each rename on `side` (a delete there and a new entry of the same size and
    /// MD5) from a copy and a delete on the other side into a move there.
    fn pair_renames(&mut self, side: Which) {
        let other = side.other();
        let new = self.rounds[at(side)]
            .held()
            .iter()
            .filter(|c| c.first)
            .map(|c| (c.to.as_str(), c.item.size, c.item.md5));
        for (old, new) in self.renames.matches(side, new) {
            let copies = self.rounds[at(side)].held_mut();
            let deletes = &mut self.deletes[at(other)];
            let (Some(c), Some(d)) = (
                copies.iter().position(|c| c.first && c.to == new),
                deletes.iter().position(|d| d.item.path == old),
            ) else {
                continue;
            };
            let copy = copies.remove(c);
            let delete = deletes.remove(d);
            self.losses[at(other)] -= 1;
            self.moves[at(other)].push(Move {
                on: other,
                item: delete.item,
                to: new,
                renamed: copy.item,
                reason: format!("renamed on {} from {old}", side.name()),
            });
        }
    }

    /// Why `--check-access` refuses the run, if it does: a side without the check file,
    /// or the two sides holding it at different paths (a wrong or half-mounted folder).
    pub fn access_refusal(&self, name: &str) -> Option<String> {
        let [one, two] = self.check_files.as_ref()?;
        for (side, found) in [(Which::Path1, one), (Which::Path2, two)] {
            if found.is_empty() {
                return Some(format!(
                    "--check-access: {} holds no {name} file; nothing was changed. Put one \
                     on both sides (the same relative path) once both are right",
                    side.name()
                ));
            }
        }
        if one != two {
            let only = |a: &[String], b: &[String]| {
                a.iter()
                    .find(|p| !b.contains(p))
                    .cloned()
                    .unwrap_or_default()
            };
            let (side, path) = match only(one, two) {
                p if !p.is_empty() => (Which::Path1, p),
                _ => (Which::Path2, only(two, one)),
            };
            return Some(format!(
                "--check-access: {path} is on {} only (the {name} files must be at the same \
                 paths on both sides); nothing was changed",
                side.name()
            ));
        }
        None
    }

    /// Why the plan may not run, if it may not: a side that lists nothing although the
    /// state knows entries there (an unmounted disk, a wiped container), or a side
    /// where more than `max_share` of the entries the state knows would be deleted.
    pub fn refusal(&self, max_share: f64) -> Option<String> {
        let sides = [Which::Path1, Which::Path2];
        for side in sides {
            let (known, listed) = (self.known[at(side)], self.listed[at(side)]);
            if known > 0 && listed == 0 {
                return Some(format!(
                    "{} lists nothing, but held {known} entries at the last run: is it \
                     mounted, or the right container? Nothing was changed",
                    side.name()
                ));
            }
        }
        for side in sides {
            let (known, lost) = (self.known[at(side)], self.losses[at(side)]);
            if known > 0 && lost as f64 > max_share * known as f64 {
                return Some(format!(
                    "{} would lose {lost} of its {known} entries (deleted), \
                     more than --max-changes {:.0}%; nothing was changed. Check the \
                     other side, then run again with a higher --max-changes",
                    side.name(),
                    max_share * 100.0
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
