//! Per path: each side's change since the last run, and what follows from the two.
//! One-sided changes propagate; a delete against a change keeps the change; changes on
//! both sides are compared, and only different content is a conflict. Without state (a
//! first run, a lost database) every path found on both sides is compared the same way,
//! so differing files become conflicts, never silent overwrites.

use super::Which;
use super::facts::{Facts, Known};
use crate::endpoint::Item;

/// How one side's entry changed since the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not there, and not there before.
    Absent,
    /// The same as at the last run.
    Unchanged,
    /// There, and not known from the last run.
    New,
    /// Different content since the last run.
    Changed,
    /// Gone since the last run.
    Deleted,
}

/// One side's change: `known` is its facts at the last run, `now` its listed entry.
pub fn change(known: Option<&Facts>, now: Option<&Item>) -> Change {
    match (known, now) {
        (None, None) => Change::Absent,
        (None, Some(_)) => Change::New,
        (Some(_), None) => Change::Deleted,
        (Some(known), Some(now)) if known.changed_in(&Facts::of(now)) => Change::Changed,
        (Some(_), Some(_)) => Change::Unchanged,
    }
}

/// What happens to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    Nothing,
    /// Deleted on both sides: the state forgets it.
    Forget,
    /// Copy one side's entry over the other's.
    Copy { from: Which, reason: Reason },
    /// Delete the entry on one side.
    Delete { on: Which, reason: Reason },
    /// Changed on both sides (or found on both without state): the same content is
    /// settled quietly, different content is a conflict ([`settle`]).
    Compare { reason: String },
}

/// What follows for one path from its state and both sides' entries.
pub fn decide(known: Option<&Known>, one: Option<&Item>, two: Option<&Item>) -> Action {
    use Change::*;
    let c1 = change(known.map(|k| &k.path1), one);
    let c2 = change(known.map(|k| &k.path2), two);
    let copy = |from: Which, reason: Reason| Action::Copy { from, reason };
    match (c1, c2) {
        // (A state always holds both sides: Absent never meets Unchanged.)
        (Unchanged | Absent, Unchanged | Absent) => Action::Nothing,
        (Absent | Deleted, Absent | Deleted) if known.is_some() => Action::Forget,
        (Absent | Deleted, Absent | Deleted) => Action::Nothing,
        (New | Changed, New | Changed) => Action::Compare {
            reason: if known.is_some() {
                "changed on both sides since the last run".into()
            } else {
                "on both sides, never synced".into()
            },
        },
        (New | Changed, Unchanged | Absent) => copy(Which::Path1, since(c1, Which::Path1)),
        (Unchanged | Absent, New | Changed) => copy(Which::Path2, since(c2, Which::Path2)),
        (Deleted, Unchanged) => Action::Delete {
            on: Which::Path2,
            reason: since(Deleted, Which::Path1),
        },
        (Unchanged, Deleted) => Action::Delete {
            on: Which::Path1,
            reason: since(Deleted, Which::Path2),
        },
        (New | Changed, Deleted) => copy(Which::Path1, kept(Which::Path1)),
        (Deleted, New | Changed) => copy(Which::Path2, kept(Which::Path2)),
    }
}

/// Why an action: one of a few fixed reasons (held by many planned items, so not
/// allocated for each), or for a conflict one of its own.
pub type Reason = std::borrow::Cow<'static, str>;

fn since(change: Change, side: Which) -> Reason {
    Reason::Borrowed(match (change, side) {
        (Change::New, Which::Path1) => "new on path1 since the last run",
        (Change::New, Which::Path2) => "new on path2 since the last run",
        (Change::Changed, Which::Path1) => "changed on path1 since the last run",
        (Change::Changed, Which::Path2) => "changed on path2 since the last run",
        (_, Which::Path1) => "deleted on path1 since the last run",
        (_, Which::Path2) => "deleted on path2 since the last run",
    })
}

fn kept(changed: Which) -> Reason {
    Reason::Borrowed(match changed {
        Which::Path1 => "changed on path1 and deleted on path2: the change is kept",
        Which::Path2 => "changed on path2 and deleted on path1: the change is kept",
    })
}

/// Whether two entries found changed on both sides hold the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The same content: nothing to copy, the state records both.
    Equal,
    /// Different content: a conflict, and why.
    Different(String),
    /// Same size, and a side lacks its MD5: hash it, then settle again.
    NeedsMd5,
}

/// Settles a pair changed on both sides by content.
pub fn settle(one: &Item, two: &Item) -> Settled {
    if one.size != two.size {
        return Settled::Different(format!("sizes {} / {}", one.size, two.size));
    }
    match (one.md5, two.md5) {
        (Some(a), Some(b)) if a == b => Settled::Equal,
        (Some(_), Some(_)) => Settled::Different("same size, different MD5s".into()),
        _ => Settled::NeedsMd5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(size: u64, mtime: i64, md5: u8) -> Item {
        Item {
            md5: Some([md5; 16]),
            ..Item::new("p", size, mtime)
        }
    }

    fn known(one: &Item, two: &Item) -> Known {
        Known {
            path: "p".into(),
            path1: Facts::of(one),
            path2: Facts::of(two),
        }
    }

    fn from(action: &Action) -> Option<Which> {
        match action {
            Action::Copy { from, .. } => Some(*from),
            _ => None,
        }
    }

    #[test]
    fn one_sided_changes_propagate() {
        let (a, b) = (item(3, 10, 1), item(3, 10, 1));
        let k = known(&a, &b);
        let changed = item(4, 20, 2);
        assert_eq!(decide(Some(&k), Some(&a), Some(&b)), Action::Nothing);
        assert_eq!(
            from(&decide(Some(&k), Some(&changed), Some(&b))),
            Some(Which::Path1)
        );
        assert_eq!(
            from(&decide(Some(&k), Some(&a), Some(&changed))),
            Some(Which::Path2)
        );
        assert!(matches!(
            decide(Some(&k), None, Some(&b)),
            Action::Delete { on: Which::Path2, reason } if reason == "deleted on path1 since the last run"
        ));
        assert!(matches!(
            decide(Some(&k), Some(&a), None),
            Action::Delete {
                on: Which::Path1,
                ..
            }
        ));
        assert_eq!(decide(Some(&k), None, None), Action::Forget);
        assert_eq!(from(&decide(None, Some(&a), None)), Some(Which::Path1));
        assert_eq!(from(&decide(None, None, Some(&b))), Some(Which::Path2));
    }

    #[test]
    fn a_delete_against_a_change_keeps_the_change() {
        let (a, b) = (item(3, 10, 1), item(3, 10, 1));
        let k = known(&a, &b);
        let changed = item(4, 20, 2);
        let action = decide(Some(&k), None, Some(&changed));
        assert_eq!(from(&action), Some(Which::Path2), "{action:?}");
        assert_eq!(
            from(&decide(Some(&k), Some(&changed), None)),
            Some(Which::Path1)
        );
    }

    #[test]
    fn changes_on_both_sides_and_first_meetings_are_compared() {
        let (a, b) = (item(3, 10, 1), item(3, 10, 1));
        let k = known(&a, &b);
        let (x, y) = (item(4, 20, 2), item(5, 30, 3));
        assert!(matches!(
            decide(Some(&k), Some(&x), Some(&y)),
            Action::Compare { .. }
        ));
        assert!(matches!(
            decide(None, Some(&a), Some(&b)),
            Action::Compare { .. }
        ));
        assert_eq!(settle(&x, &x.clone()), Settled::Equal);
        assert_eq!(settle(&x, &y), Settled::Different("sizes 4 / 5".into()));
        assert_eq!(
            settle(&item(4, 1, 1), &item(4, 1, 2)),
            Settled::Different("same size, different MD5s".into())
        );
        let unhashed = Item::new("p", 4, 20);
        assert_eq!(settle(&x, &unhashed), Settled::NeedsMd5);
    }
}
