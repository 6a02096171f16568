//! Two-way runs on in-memory containers: what each run copies, deletes and keeps, and
//! that a second run finds nothing to do.

use std::sync::Arc;

use super::testing::{Collect, runtime, upload_config};
use super::{
    DeleteMode, Direction, Location, RunOutcome, RunRequest, Status, Stop, TwoWayConfig,
    TwoWaySession,
};
use crate::bisync::plan::PlanOptions;
use crate::endpoint::azure::BlobLocation;
use crate::endpoint::{EndpointKind, MemoryEndpoint};
use crate::store::Store;

/// Two containers and a database.
struct Pair {
    one: MemoryEndpoint,
    two: MemoryEndpoint,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    Pair {
        one: MemoryEndpoint::new(EndpointKind::Blob),
        two: MemoryEndpoint::new(EndpointKind::Blob),
        store: Arc::new(Store::open(&dir.path().join("db")).unwrap()),
        _dir: dir,
    }
}

fn config() -> TwoWayConfig {
    let mut sync = upload_config(DeleteMode::False);
    let blob = |c: &str| {
        Location::Blob(
            BlobLocation::parse(&format!("http://127.0.0.1:1/devstoreaccount1/{c}")).unwrap(),
        )
    };
    sync.source = blob("one");
    sync.destination = blob("two");
    sync.direction = Direction::Copy;
    TwoWayConfig {
        sync,
        plan: PlanOptions::default(),
        max_share: 0.5,
        resync: false,
        backup1: None,
        check_access: None,
        state_in_container: false,
    }
}

impl Pair {
    fn run_with(&self, config: TwoWayConfig) -> (RunOutcome, Arc<Collect>) {
        let session = TwoWaySession::with_endpoints(
            config,
            Arc::new(self.one.clone()),
            Arc::new(self.two.clone()),
            self.store.clone(),
        )
        .unwrap();
        let collect = Arc::new(Collect::default());
        let rt = runtime();
        let request = RunRequest {
            job_id: "test".into(),
            scopes: Vec::new(),
        };
        let outcome = rt.block_on(session.run(request, &Stop::new(), collect.clone()));
        (outcome, collect)
    }

    fn run(&self) -> (RunOutcome, Arc<Collect>) {
        self.run_with(config())
    }

    /// Both sides hold the same paths with the same content.
    fn assert_same(&self) {
        assert_eq!(self.one.paths(), self.two.paths());
        for path in self.one.paths() {
            assert_eq!(self.one.get(&path), self.two.get(&path), "{path}");
        }
    }

    fn content(&self, side: &MemoryEndpoint, path: &str) -> String {
        String::from_utf8(side.get(path).expect(path).to_vec()).unwrap()
    }
}

const SECOND: i64 = 1_000_000_000;

#[test]
fn a_first_run_joins_both_trees_and_the_next_finds_nothing_to_do() {
    let p = pair();
    p.one.insert("a.txt", b"A", SECOND);
    p.one.insert("both.txt", b"same", SECOND);
    p.two.insert("both.txt", b"same", 2 * SECOND);
    p.two.insert("dir/c.txt", b"C", SECOND);
    p.one.insert("skip.tmp", b"filtered", SECOND);
    let (outcome, lines) = p.run();
    assert_eq!(outcome.status, Status::Completed, "{:?}", lines.lines());
    assert_eq!(outcome.totals.copied, 2, "{:?}", lines.lines());
    assert_eq!(p.two.paths(), ["a.txt", "both.txt", "dir/c.txt"]);
    assert_eq!(
        p.one.paths(),
        ["a.txt", "both.txt", "dir/c.txt", "skip.tmp"]
    );
    let (again, lines) = p.run();
    assert_eq!(again.status, Status::Completed);
    assert_eq!(
        again.totals.copied + again.totals.deleted,
        0,
        "{:?}",
        lines.lines()
    );
}

#[test]
fn rounds_larger_than_memory_holds_are_read_back_whole_from_their_file() {
    let p = pair();
    // More copies than a round keeps in memory, both on a first run and as changes.
    let n = 6000;
    for i in 0..n {
        p.one
            .insert(&format!("f{i:05}"), format!("{i}").as_bytes(), SECOND);
    }
    let (first, lines) = p.run();
    assert_eq!(first.status, Status::Completed, "{:?}", lines.lines());
    assert_eq!(first.totals.copied, n);
    p.assert_same();
    for i in 0..n {
        p.two.insert(
            &format!("f{i:05}"),
            format!("{i}, changed").as_bytes(),
            5 * SECOND,
        );
    }
    let (second, lines) = p.run();
    assert_eq!(second.status, Status::Completed, "{:?}", lines.lines());
    assert_eq!(second.totals.copied, n);
    assert_eq!(p.content(&p.one, "f05999"), "5999, changed");
    p.assert_same();
    let (again, _) = p.run();
    assert_eq!(again.totals.copied + again.totals.deleted, 0);
}

#[test]
fn one_sided_changes_and_deletes_propagate_both_ways() {
    let p = pair();
    for name in ["a", "b", "c", "d"] {
        p.one.insert(name, name.as_bytes(), SECOND);
    }
    p.run();
    p.one.insert("a", b"a, changed on path1", 5 * SECOND);
    p.two.insert("b", b"b, changed on path2", 5 * SECOND);
    p.two.remove("c");
    let (outcome, lines) = p.run();
    assert_eq!(outcome.status, Status::Completed, "{:?}", lines.lines());
    assert_eq!((outcome.totals.copied, outcome.totals.deleted), (2, 1));
    assert_eq!(p.content(&p.two, "a"), "a, changed on path1");
    assert_eq!(p.content(&p.one, "b"), "b, changed on path2");
    assert_eq!(p.one.paths(), ["a", "b", "d"]);
    p.assert_same();
    let (again, _) = p.run();
    assert_eq!(again.totals.copied + again.totals.deleted, 0);
}

#[test]
fn a_conflict_keeps_both_versions_on_both_sides() {
    let p = pair();
    p.one.insert("doc.txt", b"original", SECOND);
    p.run();
    p.one.insert("doc.txt", b"path1's edit", 20 * SECOND);
    p.two.insert("doc.txt", b"path2's longer edit", 10 * SECOND);
    let (outcome, lines) = p.run();
    assert_eq!(outcome.status, Status::Completed, "{:?}", lines.lines());
    let kept = "doc.conflict-path2-19700101T000010.txt";
    assert_eq!(p.one.paths(), [kept, "doc.txt"]);
    p.assert_same();
    assert_eq!(p.content(&p.two, "doc.txt"), "path1's edit", "newer wins");
    assert_eq!(p.content(&p.one, kept), "path2's longer edit");
    let (again, lines) = p.run();
    assert_eq!(
        again.totals.copied + again.totals.deleted,
        0,
        "{:?}",
        lines.lines()
    );
}

#[test]
fn the_same_change_on_both_sides_is_settled_without_a_copy() {
    let p = pair();
    p.one.insert("a", b"old", SECOND);
    p.run();
    p.one.insert("a", b"new", 3 * SECOND);
    p.two.insert("a", b"new", 4 * SECOND);
    let (outcome, _) = p.run();
    assert_eq!(outcome.totals.copied, 0);
    assert_eq!(outcome.totals.up_to_date, 1);
    p.assert_same();
}

#[test]
fn a_side_that_would_lose_most_of_its_entries_refuses_the_run() {
    let p = pair();
    for name in ["a", "b", "c"] {
        p.one.insert(name, b"x", SECOND);
    }
    p.run();
    p.one.remove("a");
    p.one.remove("b");
    let (outcome, _) = p.run();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.exit_code(), 7);
    assert_eq!(p.two.paths(), ["a", "b", "c"], "nothing deleted");
    let mut generous = config();
    generous.max_share = 1.0;
    let (outcome, _) = p.run_with(generous);
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(p.two.paths(), ["c"]);
}

#[test]
fn a_dry_run_changes_nothing_and_records_nothing() {
    let p = pair();
    p.one.insert("a", b"A", SECOND);
    let mut dry = config();
    dry.sync.dry_run = true;
    let (outcome, _) = p.run_with(dry);
    assert_eq!(outcome.totals.copied, 1, "reported as planned");
    assert!(p.two.paths().is_empty());
    let (outcome, _) = p.run();
    assert_eq!(outcome.totals.copied, 1, "the dry run recorded no state");
}

#[test]
fn a_pair_another_run_holds_is_left_alone_with_exit_75() {
    use crate::endpoint::{Endpoint, Lock};
    let p = pair();
    p.one.insert("a", b"A", SECOND);
    let config = config();
    let name = super::bisync_lock::lock_name(
        &config.sync.source.display(),
        &config.sync.destination.display(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Ok(Lock::Held(held)) = rt.block_on(p.two.lock(&name, "a run on another machine")) else {
        panic!("the lock was free")
    };
    let (outcome, _) = p.run();
    assert_eq!(outcome.exit_code(), 75);
    let why = outcome.error.unwrap().to_string();
    assert!(why.contains("a run on another machine"), "{why}");
    assert!(p.two.paths().is_empty(), "nothing was copied");
    rt.block_on(held.release());
    let (outcome, _) = p.run();
    assert_eq!(outcome.status, Status::Completed);
}

#[test]
fn the_reserved_prefix_is_never_synced() {
    let p = pair();
    p.one.insert(".blobsync/state/x", b"blobsync's own", SECOND);
    p.one.insert(".blobsyncer/x", b"data", SECOND);
    let (outcome, _) = p.run();
    assert_eq!(outcome.totals.copied, 1);
    assert_eq!(p.two.paths(), [".blobsyncer/x"]);
}

#[test]
fn resync_adopts_both_trees_afresh_without_losing_a_version() {
    let p = pair();
    p.one.insert("a", b"A", SECOND);
    p.run();
    // Both sides change a while the state is lost (as after a new pod).
    p.one.insert("a", b"A from path1", 5 * SECOND);
    p.two.insert("a", b"A from path2, longer", 6 * SECOND);
    p.two.insert("b", b"B", SECOND);
    let mut resync = config();
    resync.resync = true;
    let (outcome, _) = p.run_with(resync);
    assert_eq!(outcome.status, Status::Completed);
    p.assert_same();
    assert_eq!(p.content(&p.one, "a"), "A from path2, longer", "newer wins");
    assert_eq!(
        p.one.paths().len(),
        3,
        "a, b and the kept loser: {:?}",
        p.one.paths()
    );
}

#[test]
fn a_path_out_of_the_filters_scope_on_one_side_is_left_alone_and_keeps_its_state() {
    use crate::plugin::{PluginKind, PluginSpec};
    let p = pair();
    p.one.insert("grows.txt", b"abc", SECOND);
    p.run();
    p.one.insert("grows.txt", b"abcdefghij", 5 * SECOND);
    let mut small_only = config();
    small_only.sync.plugins.filters = vec![PluginSpec::builtin(
        PluginKind::Filter,
        "glob-filter",
        vec![("max-size".into(), "5".into())],
        "test",
    )];
    let (outcome, lines) = p.run_with(small_only);
    assert_eq!(outcome.status, Status::Completed, "{:?}", lines.lines());
    assert_eq!(
        outcome.totals.copied + outcome.totals.deleted,
        0,
        "left alone"
    );
    assert_eq!(p.content(&p.two, "grows.txt"), "abc");
    // Back in scope: changed on path1 since the state, not a conflict.
    let (outcome, lines) = p.run();
    assert_eq!(
        outcome.totals.copied,
        1,
        "{:?} {:?}",
        outcome,
        lines.lines()
    );
    assert_eq!(p.content(&p.two, "grows.txt"), "abcdefghij");
    assert_eq!(p.two.paths(), ["grows.txt"], "no conflict copy");
}
