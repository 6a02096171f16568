//! Two-way sync against Azurite: a local folder and a container kept in step both ways,
//! conflicts kept on both sides, the guards, the lock, and runs that find nothing to do.

use std::path::Path;

use blobsync_tests::*;

/// The container's blobs, without blobsync's own below `.blobsync/`.
fn data(blobs: &Blobs, container: &str) -> Vec<String> {
    let mut names = blobs.names(container);
    names.retain(|n| !n.starts_with(".blobsync/"));
    names
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

/// An empty local folder and an empty container, never synced.
fn unsynced(name: &str) -> (tempfile::TempDir, String, Blobs) {
    let blobs = Blobs::new(azurite());
    let container = unique_container(name);
    blobs.create_container(&container);
    (tempfile::tempdir().unwrap(), container, blobs)
}

/// A local folder and a container, synced once.
fn synced(name: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, String, Blobs) {
    let az = azurite();
    let (dir, container, blobs) = unsynced(name);
    for (i, (path, content)) in files.iter().enumerate() {
        let file = write(dir.path(), path, content.as_bytes());
        set_mtime(&file, 1_700_000_000 + i as u64, 0);
    }
    let url = az.url(&container);
    let first = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        first.total("copied"),
        files.len() as u64,
        "{}",
        first.dump()
    );
    (dir, container, blobs)
}

#[test]
fn changes_on_either_side_reach_the_other_and_a_rerun_does_nothing() {
    let (dir, container, blobs) =
        synced("bi-both", &[("a.txt", "a"), ("b.txt", "b"), ("c.txt", "c")]);
    let url = azurite().url(&container);
    let file = write(dir.path(), "a.txt", b"a, changed here");
    set_mtime(&file, 1_800_000_000, 0);
    blobs.put(&container, "b.txt", b"b, changed there", &[]);
    blobs.put(&container, "new/from-container.txt", b"new", &[]);
    std::fs::remove_file(dir.path().join("c.txt")).unwrap();
    let run = blobsync_json(&["bisync", s(dir.path()), &url, "--max-changes", "50%"]).ok();
    assert_eq!(run.done("upload"), ["a.txt"], "{}", run.dump());
    assert_eq!(run.done("download"), ["b.txt", "new/from-container.txt"]);
    assert_eq!(run.done("delete"), ["c.txt"]);
    assert_eq!(blobs.get(&container, "a.txt"), b"a, changed here");
    assert_eq!(read(dir.path(), "b.txt"), "b, changed there");
    assert_eq!(read(dir.path(), "new/from-container.txt"), "new");
    assert_eq!(
        data(&blobs, &container),
        ["a.txt", "b.txt", "new/from-container.txt"]
    );
    let again = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        again.total("copied") + again.total("deleted"),
        0,
        "{}",
        again.dump()
    );
    assert_eq!(again.total("up_to_date"), 3, "every path is up to date");
}

#[test]
fn a_conflict_keeps_both_versions_on_both_sides() {
    let (dir, container, blobs) = synced("bi-conflict", &[("doc.txt", "original")]);
    let url = azurite().url(&container);
    let file = write(dir.path(), "doc.txt", b"the local edit");
    set_mtime(&file, 1_700_000_100, 0);
    // The container's edit comes later (its Last-Modified is now): it wins.
    blobs.put(&container, "doc.txt", b"the container's edit", &[]);
    let run = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    let kept = "doc.conflict-path1-20231114T221500.txt";
    assert_eq!(
        read(dir.path(), "doc.txt"),
        "the container's edit",
        "{}",
        run.dump()
    );
    assert_eq!(read(dir.path(), kept), "the local edit");
    assert_eq!(blobs.get(&container, kept), b"the local edit");
    assert_eq!(data(&blobs, &container), [kept, "doc.txt"]);
    let conflicts: Vec<_> = run.of_type("conflict").collect();
    assert_eq!(conflicts.len(), 1, "{}", run.dump());
    let c = conflicts[0];
    assert_eq!(
        (&c["path"], &c["winner"]),
        (&"doc.txt".into(), &"path2".into())
    );
    assert_eq!(c["kept_as"], kept);
    assert_eq!(
        (&c["path1"]["size"], &c["path2"]["size"]),
        (&14.into(), &20.into())
    );
    // path1 is the local folder: uploads go path1 → path2, downloads back. Three copies:
    // the loser to the container as its conflict copy, the winner down, the copy back.
    assert_eq!(run.of_type("transfer").count(), 3, "{}", run.dump());
    for t in run.of_type("transfer") {
        let want = if t["action"] == "upload" {
            "path1-to-path2"
        } else {
            "path2-to-path1"
        };
        assert_eq!(t["direction"], want, "{t}");
    }
    let again = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        again.total("copied") + again.total("deleted"),
        0,
        "{}",
        again.dump()
    );
}

#[test]
fn a_wiped_container_is_refused_and_nothing_local_is_deleted() {
    let (dir, container, blobs) = synced("bi-wiped", &[("a", "1"), ("b", "2")]);
    let url = azurite().url(&container);
    blobs.delete(&container, "a");
    blobs.delete(&container, "b");
    let run = blobsync_json(&["bisync", s(dir.path()), &url]).code(7);
    assert!(run.mentions("path2 lists nothing"), "{}", run.dump());
    assert_eq!(read(dir.path(), "a"), "1");
    assert_eq!(read(dir.path(), "b"), "2");
}

#[test]
fn a_lock_held_elsewhere_ends_the_run_with_75_and_changes_nothing() {
    let (dir, container, blobs) = synced("bi-lock", &[("a", "1")]);
    let url = azurite().url(&container);
    let lock = blobs
        .names(&container)
        .into_iter()
        .find(|n| n.starts_with(".blobsync/locks/bisync-"))
        .expect("the first run made its lock blob");
    blobs.lease_as_another_machine(&container, &lock);
    write(dir.path(), "b", b"2");
    let run = blobsync_json(&["bisync", s(dir.path()), &url]).code(75);
    assert!(run.mentions("another two-way sync"), "{}", run.dump());
    assert!(run.mentions("on elsewhere, process 1"), "{}", run.dump());
    assert_eq!(data(&blobs, &container), ["a"]);
}

#[test]
fn a_dry_run_shows_each_action_with_its_reason() {
    let (dir, container, blobs) = synced("bi-dry", &[("a", "1"), ("b", "2")]);
    let url = azurite().url(&container);
    let file = write(dir.path(), "a", b"1, changed");
    set_mtime(&file, 1_800_000_000, 0);
    blobs.delete(&container, "b");
    let run = blobsync_json(&["bisync", s(dir.path()), &url, "--dry-run"]).ok();
    let copies: Vec<String> = run
        .of_type("dry-run")
        .map(|e| format!("{} {}", e["action"], e["reason"]))
        .collect();
    assert!(
        copies.contains(&"\"copy\" \"changed on path1 since the last run\"".to_string()),
        "{copies:?}"
    );
    assert!(
        copies.contains(&"\"remove\" \"deleted on path2 since the last run\"".to_string()),
        "{copies:?}"
    );
    assert_eq!(read(dir.path(), "b"), "2", "nothing changed");
}

#[test]
fn a_bad_max_changes_is_a_usage_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let url = azurite().url(&unique_container("bi-usage"));
    let run = blobsync(&["bisync", s(dir.path()), &url, "--max-changes", "150"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--max-changes"), "{}", run.stderr);
}

#[test]
fn with_backup_locations_every_replaced_or_deleted_version_is_kept_on_its_side() {
    let (dir, container, blobs) = synced(
        "bi-backup",
        &[
            ("doc.txt", "original"),
            ("gone.txt", "old"),
            ("up.txt", "up"),
        ],
    );
    let url = azurite().url(&container);
    let kept2 = unique_container("bi-backup-kept");
    let kept1 = tempfile::tempdir_in(dir.path().parent().unwrap()).unwrap();
    // A conflict the local side wins (its time is later), a local delete, and a
    // container-side change that replaces a local file.
    let file = write(dir.path(), "doc.txt", b"the local edit");
    set_mtime(&file, 4_000_000_000, 0);
    blobs.put(&container, "doc.txt", b"the container's edit", &[]);
    std::fs::remove_file(dir.path().join("gone.txt")).unwrap();
    blobs.put(&container, "up.txt", b"up, changed there", &[]);
    let backups = [
        "--conflict-loser",
        "backup",
        "--backup-dir1",
        s(kept1.path()),
        "--backup-dir2",
        &azurite().url(&kept2),
        "--max-changes",
        "100",
    ];
    let mut args = vec!["bisync", s(dir.path()), &url];
    args.extend(backups);
    let run = blobsync_json(&args).ok();
    assert_eq!(blobs.get(&container, "doc.txt"), b"the local edit");
    assert_eq!(read(dir.path(), "up.txt"), "up, changed there");
    assert_eq!(
        data(&blobs, &container),
        ["doc.txt", "up.txt"],
        "{}",
        run.dump()
    );
    assert_eq!(
        blobs.get(&kept2, "doc.txt"),
        b"the container's edit",
        "the loser is kept: {}",
        run.dump()
    );
    assert_eq!(
        blobs.get(&kept2, "gone.txt"),
        b"old",
        "the deleted blob is kept"
    );
    assert_eq!(
        read(kept1.path(), "up.txt"),
        "up",
        "the replaced file is kept"
    );
    assert!(
        !dir.path()
            .join("doc.conflict-path2-20231114T221320.txt")
            .exists()
            && data(&blobs, &container)
                .iter()
                .all(|n| !n.contains(".conflict-")),
        "no conflict copies"
    );

    let half = [
        "--conflict-loser",
        "backup",
        "--backup-dir1",
        s(kept1.path()),
    ];
    let mut args = vec!["bisync", s(dir.path()), &url];
    args.extend(half);
    let refused = blobsync_json(&args).code(2);
    assert!(
        refused.mentions("give --backup-dir2"),
        "path2 can lose a conflict too: {}",
        refused.dump()
    );
}

#[test]
fn a_path_out_of_the_filters_scope_is_left_alone_and_keeps_its_state() {
    let (dir, container, blobs) = synced("bi-scope", &[("a.txt", "a"), ("b.log", "b")]);
    let url = azurite().url(&container);
    std::fs::remove_file(dir.path().join("b.log")).unwrap();
    let file = write(dir.path(), "a.txt", b"a, changed");
    set_mtime(&file, 1_800_000_000, 0);
    let out = ["--exclude-pattern", "*.log"];
    let mut args = vec!["bisync", s(dir.path()), &url];
    args.extend(out);
    let run = blobsync_json(&args).ok();
    assert_eq!(run.done("upload"), ["a.txt"], "{}", run.dump());
    assert_eq!(run.done("delete"), Vec::<String>::new(), "left alone");
    assert_eq!(data(&blobs, &container), ["a.txt", "b.log"]);
    // Back in scope, its state says it was deleted on path1 since: the delete follows.
    let back = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(back.done("delete"), ["b.log"], "{}", back.dump());
    assert_eq!(data(&blobs, &container), ["a.txt"]);
}

#[test]
fn check_access_refuses_a_side_without_the_check_file() {
    let (dir, container, blobs) = synced(
        "bi-access",
        &[("BLOBSYNC_TEST", ""), ("sub/BLOBSYNC_TEST", ""), ("a", "1")],
    );
    let url = azurite().url(&container);
    write(dir.path(), "b", b"2");
    let run = blobsync_json(&["bisync", s(dir.path()), &url, "--check-access"]).ok();
    assert_eq!(run.done("upload"), ["b"], "{}", run.dump());
    blobs.delete(&container, "sub/BLOBSYNC_TEST");
    write(dir.path(), "c", b"3");
    let refused = blobsync_json(&["bisync", s(dir.path()), &url, "--check-access"]).code(7);
    assert!(
        refused.mentions("sub/BLOBSYNC_TEST is on path1 only"),
        "{}",
        refused.dump()
    );
    blobs.delete(&container, "BLOBSYNC_TEST");
    let refused = blobsync_json(&["bisync", s(dir.path()), &url, "--check-access"]).code(7);
    assert!(
        refused.mentions("path2 holds no BLOBSYNC_TEST"),
        "{}",
        refused.dump()
    );
    assert_eq!(data(&blobs, &container), ["a", "b"], "nothing was changed");
    assert!(dir.path().join("sub/BLOBSYNC_TEST").exists());
}

#[test]
fn renames_are_moved_on_the_other_side_not_copied_again() {
    let files = [
        ("a.bin", "alpha"),
        ("b.bin", "beta"),
        ("c.bin", "gamma"),
        ("d.bin", "delta"),
    ];
    let (dir, container, blobs) = synced("bi-renames", &files);
    let url = azurite().url(&container);
    // Three of four renamed locally: more than --max-changes would allow as deletes.
    for (from, to) in [
        ("a.bin", "moved/a.bin"),
        ("b.bin", "b2.bin"),
        ("c.bin", "c2.bin"),
    ] {
        std::fs::create_dir_all(dir.path().join("moved")).unwrap();
        std::fs::rename(dir.path().join(from), dir.path().join(to)).unwrap();
    }
    let run = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(run.done("upload"), Vec::<String>::new(), "{}", run.dump());
    assert_eq!(run.done("copy"), ["b2.bin", "c2.bin", "moved/a.bin"]);
    assert_eq!(run.done("delete"), ["a.bin", "b.bin", "c.bin"]);
    assert_eq!(
        data(&blobs, &container),
        ["b2.bin", "c2.bin", "d.bin", "moved/a.bin"]
    );
    assert_eq!(blobs.get(&container, "moved/a.bin"), b"alpha");
    // The other way: renamed in the container, moved in the folder.
    blobs.put(&container, "d2.bin", b"delta", &[]);
    blobs.delete(&container, "d.bin");
    let back = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        back.done("download"),
        Vec::<String>::new(),
        "{}",
        back.dump()
    );
    assert_eq!(back.done("copy"), ["d2.bin"]);
    assert_eq!(read(dir.path(), "d2.bin"), "delta");
    assert!(!dir.path().join("d.bin").exists());
    let again = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        again.total("copied") + again.total("deleted"),
        0,
        "{}",
        again.dump()
    );
    // Without tracking, a rename is a delete and a new file.
    std::fs::rename(dir.path().join("d2.bin"), dir.path().join("d3.bin")).unwrap();
    let plain = blobsync_json(&["bisync", s(dir.path()), &url, "--track-renames=false"]).ok();
    assert_eq!(plain.done("upload"), ["d3.bin"], "{}", plain.dump());
    assert_eq!(plain.done("delete"), ["d2.bin"]);
}

/// A run as a new pod would make it: a database of its own, empty at first.
fn in_pod(data: &Path, args: &[&str]) -> Outcome {
    let mut command = blobsync_json_command(args);
    command.env("BLOBSYNC_DATA_DIR", data);
    Outcome::of(command.output().expect("run blobsync").into())
}

#[test]
fn the_state_kept_in_the_container_outlives_the_database() {
    let (dir, container, blobs) = unsynced("bi-pod");
    let url = azurite().url(&container);
    for (i, name) in ["a.txt", "b.txt", "c.txt"].iter().enumerate() {
        set_mtime(
            &write(dir.path(), name, name.as_bytes()),
            1_700_000_000 + i as u64,
            0,
        );
    }
    let args = ["bisync", s(dir.path()), &url, "--state-in-container"];
    let pods: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = in_pod(pods[0].path(), &args).ok();
    assert_eq!(first.total("copied"), 3, "{}", first.dump());
    assert!(
        blobs
            .names(&container)
            .iter()
            .any(|n| n.starts_with(".blobsync/state/")),
        "the state is in the container"
    );
    // Changes on both sides, then a new pod with an empty database: the state read
    // from the container makes them one-sided changes, not conflicts.
    set_mtime(&write(dir.path(), "a.txt", b"a, changed"), 1_800_000_000, 0);
    blobs.delete(&container, "b.txt");
    let second = in_pod(pods[1].path(), &args).ok();
    assert_eq!(second.done("upload"), ["a.txt"], "{}", second.dump());
    assert_eq!(second.done("delete"), ["b.txt"]);
    assert_eq!(second.of_type("conflict").count(), 0);
    assert_eq!(data(&blobs, &container), ["a.txt", "c.txt"]);
    assert!(!dir.path().join("b.txt").exists());
    let third = in_pod(pods[2].path(), &args).ok();
    assert_eq!(
        third.total("copied") + third.total("deleted"),
        0,
        "{}",
        third.dump()
    );
    // Without the container's state, a new database is a first run.
    let lost = in_pod(tempfile::tempdir().unwrap().path(), &args[..3]).ok();
    assert_eq!(
        lost.total("copied") + lost.total("deleted"),
        0,
        "{}",
        lost.dump()
    );
}

#[test]
fn a_write_by_another_client_between_listing_and_write_is_never_overwritten() {
    let (dir, container, blobs) = unsynced("bi-race");
    let proxy = FaultProxy::start(azurite().port);
    let url = format!("{}/devstoreaccount1/{container}", proxy.url());
    set_mtime(&write(dir.path(), "doc.txt", b"original"), 1_700_000_000, 0);
    blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    set_mtime(
        &write(dir.path(), "doc.txt", b"the local edit"),
        1_800_000_000,
        0,
    );
    set_mtime(&write(dir.path(), "new.txt", b"new here"), 1_800_000_000, 0);
    // The uploads reach the service two seconds late; another client writes both blobs
    // in between, after blobsync listed them (changed, and absent).
    for path in ["/doc.txt", "/new.txt"] {
        let delay = Fault::DelayBefore {
            duration: std::time::Duration::from_secs(2),
        };
        proxy.add(Rule::new(Match::any().method("PUT").path(path), delay).times(1));
    }
    let child = spawn_blobsync(&["bisync", s(dir.path()), &url, "--output-type", "json"]);
    assert!(
        wait_for(std::time::Duration::from_secs(20), || proxy.stats().faults
            >= 2),
        "both uploads were held"
    );
    blobs.put(&container, "doc.txt", b"the other client's edit", &[]);
    blobs.put(&container, "new.txt", b"new there", &[]);
    let raced = Outcome::of(child.wait_with_output().unwrap().into()).code(1);
    assert_eq!(raced.total("failed"), 2, "{}", raced.dump());
    assert_eq!(blobs.get(&container, "doc.txt"), b"the other client's edit");
    assert_eq!(blobs.get(&container, "new.txt"), b"new there");
    // The next run finds both changed on both sides: conflicts, every version kept.
    let next = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(next.of_type("conflict").count(), 2, "{}", next.dump());
    let names = data(&blobs, &container);
    assert_eq!(names.len(), 4, "{names:?}");
    let mut versions: Vec<Vec<u8>> = names.iter().map(|n| blobs.get(&container, n)).collect();
    versions.sort();
    let mut want: Vec<Vec<u8>> = [
        "new here",
        "new there",
        "the local edit",
        "the other client's edit",
    ]
    .map(|v| v.as_bytes().to_vec())
    .to_vec();
    want.sort();
    assert_eq!(versions, want);
    for name in &names {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            blobs.get(&container, name)
        );
    }
}

#[test]
fn equal_changes_settle_a_change_beats_a_delete_and_deletes_on_both_are_forgotten() {
    let files = [
        ("same.txt", "1"),
        ("kept.txt", "2"),
        ("gone.txt", "3"),
        ("x.txt", "4"),
    ];
    let (dir, container, blobs) = synced("bi-cases", &files);
    let url = azurite().url(&container);
    // The same edit on both sides.
    set_mtime(
        &write(dir.path(), "same.txt", b"edited alike"),
        1_800_000_000,
        0,
    );
    blobs.put(&container, "same.txt", b"edited alike", &[]);
    // Changed here, deleted there: the change is kept.
    set_mtime(
        &write(dir.path(), "kept.txt", b"changed here"),
        1_800_000_000,
        0,
    );
    blobs.delete(&container, "kept.txt");
    // Deleted on both sides.
    std::fs::remove_file(dir.path().join("gone.txt")).unwrap();
    blobs.delete(&container, "gone.txt");
    let run = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(run.done("upload"), ["kept.txt"], "{}", run.dump());
    assert_eq!(run.done("download"), Vec::<String>::new());
    assert_eq!(run.done("delete"), Vec::<String>::new());
    assert_eq!(run.of_type("conflict").count(), 0);
    assert_eq!(blobs.get(&container, "kept.txt"), b"changed here");
    assert_eq!(data(&blobs, &container), ["kept.txt", "same.txt", "x.txt"]);
    let again = blobsync_json(&["bisync", s(dir.path()), &url]).ok();
    assert_eq!(
        again.total("copied") + again.total("deleted"),
        0,
        "{}",
        again.dump()
    );
}

#[test]
fn two_trees_never_synced_or_a_lost_state_make_conflicts_not_overwrites() {
    let (dir, container, blobs) = unsynced("bi-first");
    let url = azurite().url(&container);
    set_mtime(
        &write(dir.path(), "both-same.txt", b"same"),
        1_700_000_000,
        0,
    );
    set_mtime(
        &write(dir.path(), "both-differ.txt", b"local"),
        1_700_000_000,
        0,
    );
    set_mtime(
        &write(dir.path(), "only-here.txt", b"here"),
        1_700_000_000,
        0,
    );
    blobs.put(&container, "both-same.txt", b"same", &[]);
    blobs.put(&container, "both-differ.txt", b"in the container", &[]);
    blobs.put(&container, "only-there.txt", b"there", &[]);
    // A first run with a database of its own (a lost state behaves the same).
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = blobsync_json_command(&["bisync", s(dir.path()), &url]);
    command.env("BLOBSYNC_DATA_DIR", data_dir.path());
    let run = Outcome::of(command.output().unwrap().into()).ok();
    let conflicts: Vec<_> = run.of_type("conflict").collect();
    assert_eq!(conflicts.len(), 1, "{}", run.dump());
    assert_eq!(conflicts[0]["path"], "both-differ.txt");
    let names = data(&blobs, &container);
    assert_eq!(names.len(), 5, "{names:?}");
    for name in &names {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            blobs.get(&container, name)
        );
    }
    let differ: Vec<Vec<u8>> = names
        .iter()
        .filter(|n| n.starts_with("both-differ"))
        .map(|n| blobs.get(&container, n))
        .collect();
    assert!(differ.contains(&b"local".to_vec()) && differ.contains(&b"in the container".to_vec()));
}

#[test]
fn a_resolver_plugin_settles_conflicts_before_the_flags() {
    let files = [("content/page.md", "draft"), ("notes.txt", "a")];
    let (dir, container, blobs) = synced("bi-resolver", &files);
    let url = azurite().url(&container);
    // Both changed on both sides, the folder's edits later than the container's: by
    // --conflict-resolve newer the folder would win both.
    set_mtime(
        &write(dir.path(), "content/page.md", b"folder edit"),
        4_000_000_000,
        0,
    );
    blobs.put(&container, "content/page.md", b"cms edit", &[]);
    set_mtime(
        &write(dir.path(), "notes.txt", b"folder notes"),
        4_000_000_000,
        0,
    );
    blobs.put(&container, "notes.txt", b"cms notes", &[]);
    let manifest = repo_root().join("examples/cms-resolver.toml");
    let run = blobsync_json(&["bisync", s(dir.path()), &url, "--plugins", s(&manifest)]).ok();
    let winner = |path: &str| {
        let c = run
            .of_type("conflict")
            .find(|c| c["path"] == path)
            .unwrap_or_else(|| panic!("no conflict for {path}: {}", run.dump()));
        (
            c["winner"].as_str().unwrap().to_string(),
            c["reason"].to_string(),
        )
    };
    let (page, why) = winner("content/page.md");
    assert_eq!(page, "path2", "the CMS owns content/");
    assert!(why.contains("cms: path2 owns content/"), "{why}");
    let (notes, why) = winner("notes.txt");
    assert_eq!(notes, "path1", "the newer elsewhere");
    assert!(why.contains("cms: path1's is newer"), "{why}");
    assert_eq!(blobs.get(&container, "content/page.md"), b"cms edit");
    assert_eq!(read(dir.path(), "content/page.md"), "cms edit");
    assert_eq!(blobs.get(&container, "notes.txt"), b"folder notes");
    let names = data(&blobs, &container);
    assert_eq!(names.len(), 4, "both losers kept: {names:?}");
    for name in &names {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            blobs.get(&container, name)
        );
    }
}

#[test]
fn a_two_way_hook_hears_each_direction_and_each_conflict() {
    let files = [("up.txt", "1"), ("down.txt", "2"), ("both.txt", "3")];
    let (dir, container, blobs) = synced("bi-hook", &files);
    let url = azurite().url(&container);
    write(dir.path(), "up.txt", b"local change");
    blobs.put(&container, "down.txt", b"container change", &[]);
    set_mtime(&write(dir.path(), "both.txt", b"local"), 1_700_000_100, 0);
    blobs.put(&container, "both.txt", b"container", &[]);
    // The example audit hook (a two-way hook), writing next to a scratch manifest.
    let work = tempfile::tempdir().unwrap();
    let component = component_path("examples/plugins/dist/audit-hook.wasm");
    let manifest = std::fs::read_to_string(repo_root().join("examples/audit.toml"))
        .unwrap()
        .replace(
            "\"plugins/dist/audit-hook.wasm\"",
            &format!("{:?}", component.display().to_string()),
        );
    std::fs::write(work.path().join("audit.toml"), manifest).unwrap();
    let plugins = work.path().join("audit.toml");
    let run = blobsync_json(&["bisync", s(dir.path()), &url, "--plugins", s(&plugins)]).ok();
    let log = std::fs::read_to_string(work.path().join("audit.jsonl")).unwrap();
    let records = json_lines(&log);
    let event = |path: &str| {
        records
            .iter()
            .find(|r| r["record"] == "event" && r["path"] == path)
            .unwrap_or_else(|| panic!("no event for {path}: {log}"))
    };
    assert_eq!(event("up.txt")["direction"], "path1-to-path2", "{log}");
    assert_eq!(event("down.txt")["direction"], "path2-to-path1", "{log}");
    let conflicts: Vec<_> = records
        .iter()
        .filter(|r| r["record"] == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 1, "{log}");
    let (c, reported) = (conflicts[0], run.of_type("conflict").next().unwrap());
    assert_eq!(c["path"], "both.txt");
    assert_eq!(c["winner"], reported["winner"]);
    assert_eq!(c["kept_as"], reported["kept_as"]);
    assert_eq!(c["path1"]["size"], 5);
    assert_eq!(c["path2"]["md5"], md5_hex(b"container"));
    // Every event of the run came with a direction; the run record closes the log.
    let events = records.iter().filter(|r| r["record"] == "event");
    assert!(events.clone().all(|r| r["direction"].is_string()), "{log}");
    assert_eq!(events.count() as u64, run.total("copied"), "{log}");
    assert_eq!(records.last().unwrap()["record"], "run", "{log}");
}
