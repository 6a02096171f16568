//! The plan's unit tests.

use super::*;

fn item(path: &str, size: u64, mtime: i64, md5: Option<u8>) -> Item {
    Item {
        md5: md5.map(|b| [b; 16]),
        ..Item::new(path, size, mtime)
    }
}

fn triple(known: Option<(&Item, &Item)>, one: Option<&Item>, two: Option<&Item>) -> Triple {
    let path = one.or(two).map_or("gone", |i| i.path.as_str()).to_string();
    Triple {
        known: known.map(|(a, b)| Known {
            path: path.clone(),
            path1: Facts::of(a),
            path2: Facts::of(b),
        }),
        one: one.cloned(),
        two: two.cloned(),
        path,
    }
}

fn paths(copies: &Spool<Copy>) -> Vec<(String, String)> {
    copies
        .held()
        .iter()
        .map(|c| (c.item.path.clone(), c.to.clone()))
        .collect()
}

#[test]
fn one_sided_changes_become_copies_and_deletes() {
    let (a, a2) = (item("a", 1, 1, Some(1)), item("a", 2, 2, Some(2)));
    let b = item("b", 1, 1, Some(1));
    let mut plan = Plan::default();
    let options = PlanOptions::default();
    assert!(
        plan.add(&options, triple(Some((&a, &a)), Some(&a2), Some(&a)))
            .is_none()
    );
    plan.add(&options, triple(Some((&b, &b)), Some(&b), None));
    plan.add(&options, triple(None, None, Some(&item("c", 1, 1, None))));
    plan.add(&options, triple(Some((&b, &b)), None, None));
    assert_eq!(paths(&plan.rounds[0]), [("a".into(), "a".into())]);
    assert_eq!(paths(&plan.rounds[1]), [("c".into(), "c".into())]);
    assert_eq!(
        plan.deletes[0].len(),
        1,
        "b deleted on path2: deleted on path1 too"
    );
    assert_eq!(plan.forget, ["gone"]);
    assert_eq!(plan.losses, [1, 0], "a change replaces, it does not lose");
    assert_eq!(plan.known, [3, 3]);
}

#[test]
fn equal_changes_settle_and_unhashed_ones_come_back() {
    let was = item("a", 1, 1, Some(1));
    let now = item("a", 5, 9, Some(5));
    let mut plan = Plan::default();
    let options = PlanOptions::default();
    assert!(
        plan.add(&options, triple(Some((&was, &was)), Some(&now), Some(&now)))
            .is_none()
    );
    assert_eq!(plan.settled.len(), 1);
    let unhashed = item("a", 5, 9, None);
    let back = plan.add(&options, triple(None, Some(&now), Some(&unhashed)));
    let mut back = back.expect("needs an MD5");
    back.two.as_mut().unwrap().md5 = Some([6; 16]);
    plan.add_hashed(&options, back);
    assert_eq!(plan.conflicts.len(), 1, "same size, different MD5s");
    assert_eq!(plan.conflicts[0].winner, Which::Path1, "a tie");
    assert_eq!((plan.rounds[1].len(), plan.rounds[2].len()), (1, 2));
}

#[test]
fn a_conflict_keeps_the_loser_on_both_sides_under_its_conflict_name() {
    let was = item("doc.txt", 1, 1, Some(1));
    let newer1 = item("doc.txt", 2, 2_000_000_000, Some(2));
    let older2 = item("doc.txt", 3, 1_000_000_000, Some(3));
    let mut plan = Plan::default();
    let t = triple(Some((&was, &was)), Some(&newer1), Some(&older2));
    plan.add(&PlanOptions::default(), t);
    let name = "doc.conflict-path2-19700101T000001.txt".to_string();
    assert_eq!(plan.conflicts[0].kept_as.as_deref(), Some(name.as_str()));
    assert_eq!(plan.conflicts[0].winner, Which::Path1);
    // path2's version goes to path1 under the conflict name first, then path1's
    // version replaces it on path2 and the kept copy goes back to path2.
    assert!(plan.rounds[0].is_empty());
    assert_eq!(paths(&plan.rounds[1]), [("doc.txt".into(), name.clone())]);
    assert_eq!(plan.rounds[1].held()[0].from, Which::Path2);
    assert_eq!(
        paths(&plan.rounds[2]),
        [
            (name.clone(), name.clone()),
            ("doc.txt".into(), "doc.txt".into())
        ]
    );
    assert_eq!(plan.rounds[2].held()[1].replaces.as_ref().unwrap().size, 3);
    assert_eq!(plan.losses, [0, 0], "the loser is kept");
}

#[test]
fn a_conflict_copy_made_by_a_run_cut_short_is_not_made_again() {
    let was = item("doc.txt", 1, 1, Some(1));
    let newer1 = item("doc.txt", 2, 2_000_000_000, Some(2));
    let older2 = item("doc.txt", 3, 1_000_000_000, Some(3));
    let name = "doc.conflict-path2-19700101T000001.txt";
    // The killed run put path2's version on path1 under its conflict name, and
    // went no further.
    let copy = item(name, 3, 1_000_000_000, Some(3));
    for order in [[0, 1], [1, 0]] {
        let mut plan = Plan::default();
        let options = PlanOptions::default();
        let triples = [
            triple(Some((&was, &was)), Some(&newer1), Some(&older2)),
            triple(None, Some(&copy), None),
        ];
        for i in order {
            plan.add(&options, triples[i].clone());
        }
        plan.finish();
        let all: Vec<(String, String, Which)> = plan
            .rounds
            .iter()
            .flat_map(|r| r.held())
            .map(|c| (c.item.path.clone(), c.to.clone(), c.from))
            .collect();
        assert_eq!(
            all,
            [
                (name.to_string(), name.to_string(), Which::Path1),
                ("doc.txt".to_string(), "doc.txt".to_string(), Which::Path1),
            ],
            "the copy goes on to path2, the winner replaces path2's version"
        );
        assert_eq!(plan.conflicts[0].kept_as.as_deref(), Some(name));
    }
}

#[test]
fn guards_refuse_an_empty_side_and_large_losses() {
    let a = item("a", 1, 1, Some(1));
    let b = item("b", 1, 1, Some(1));
    let mut plan = Plan::default();
    let options = PlanOptions::default();
    plan.add(&options, triple(Some((&a, &a)), None, Some(&a)));
    plan.add(&options, triple(Some((&b, &b)), None, Some(&b)));
    let why = plan.refusal(0.5).unwrap();
    assert!(why.starts_with("path1 lists nothing"), "{why}");
    let mut plan = Plan::default();
    plan.add(&options, triple(Some((&a, &a)), Some(&a), None));
    plan.add(&options, triple(Some((&b, &b)), Some(&b), None));
    let why = plan.refusal(0.5).unwrap();
    assert!(why.starts_with("path2 lists nothing"), "{why}");
    let c = item("c", 1, 1, Some(1));
    let mut plan = Plan::default();
    plan.add(&options, triple(Some((&a, &a)), None, Some(&a)));
    plan.add(&options, triple(Some((&b, &b)), Some(&b), Some(&b)));
    plan.add(&options, triple(Some((&c, &c)), Some(&c), Some(&c)));
    assert_eq!(plan.refusal(0.5), None, "one of three");
    assert!(
        plan.refusal(0.3)
            .unwrap()
            .contains("path2 would lose 1 of its 3")
    );
}
