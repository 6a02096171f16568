//! `--delete-destination`: after the copies, never for filtered paths, never after a
//! listing error, bounded by `--max-delete`, interactive only on a terminal.

use blobsync_tests::*;

fn setup(container: &str, extra_remote: &[&str]) -> tempfile::TempDir {
    let az = azurite();
    let blobs = Blobs::new(az);
    blobs.create_container(container);
    for name in extra_remote {
        blobs.put(container, name, b"only at the destination", &[]);
    }
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "keep/a.txt", b"a");
    write(src.path(), "keep/b.txt", b"b");
    src
}

#[test]
fn upload_deletes_blobs_missing_at_the_source_but_not_filtered_ones() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("updelete");
    let src = setup(&container, &["gone.txt", "old/dir/x.txt", "scratch.tmp"]);
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--exclude-pattern",
        "*.tmp",
    ])
    .ok();
    assert_eq!(run.total("copied"), 2);
    assert_eq!(run.done("upload"), ["keep/a.txt", "keep/b.txt"]);
    assert_eq!(run.total("deleted"), 2);
    assert_eq!(run.done("delete"), ["gone.txt", "old/dir/x.txt"]);
    assert_eq!(
        run.reason("delete", "gone.txt").as_deref(),
        Some("not at the source"),
        "{}",
        run.dump()
    );
    assert_eq!(
        blobs.names(&container),
        ["keep/a.txt", "keep/b.txt", "scratch.tmp"],
        "the excluded blob stays"
    );
}

#[test]
fn download_deletes_local_files_missing_at_the_source() {
    let az = azurite();
    let container = unique_container("dldelete");
    let src = setup(&container, &[]);
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let dst = tempfile::tempdir().unwrap();
    write(dst.path(), "stale/file.txt", b"stale");
    write(dst.path(), "keep/a.txt", b"old a");
    let run = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--delete-destination",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(run.done("delete"), ["stale/file.txt"]);
    assert_eq!(files(dst.path()), ["keep/a.txt", "keep/b.txt"]);
}

#[test]
fn max_delete_refuses_and_says_so() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("maxdelete");
    let src = setup(&container, &["x1", "x2", "x3"]);
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--max-delete",
        "2",
    ]);
    assert_eq!(run.code, 7, "refused by a guard: {}", run.stderr);
    assert!(
        run.stderr
            .contains("would be deleted, more than --max-delete 2; nothing was deleted"),
        "{}",
        run.stderr
    );
    assert_eq!(
        blobs.names(&container),
        ["keep/a.txt", "keep/b.txt", "x1", "x2", "x3"],
        "copies happened, deletes did not"
    );
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--max-delete",
        "3",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 3);
    assert_eq!(run.done("delete"), ["x1", "x2", "x3"]);
}

#[test]
fn a_listing_error_disables_deletes() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("listerr");
    let src = setup(&container, &["remote-only.txt"]);
    // A link to nothing, followed: its path cannot be listed.
    std::os::unix::fs::symlink("/nonexistent/target", src.path().join("dangling")).unwrap();
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--follow-symlinks",
    ])
    .code(1);
    assert_eq!(run.failed("list"), ["dangling"]);
    assert!(
        run.mentions("nothing was deleted because some paths could not be listed"),
        "{}",
        run.dump()
    );
    assert_eq!(run.total("deleted"), 0);
    assert!(
        blobs
            .names(&container)
            .contains(&"remote-only.txt".to_string())
    );
}

#[test]
fn a_failed_delete_counts_as_a_failure() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("faildelete");
    let src = setup(&container, &["leased.txt", "free.txt"]);
    blobs.lease(&container, "leased.txt");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .code(1);
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(run.done("delete"), ["free.txt"]);
    assert_eq!(run.total("failed"), 1);
    assert_eq!(run.failed("delete"), ["leased.txt"], "{}", run.dump());
}

#[test]
fn prompt_without_a_terminal_is_a_usage_error() {
    let az = azurite();
    let container = unique_container("prompt-notty");
    let src = setup(&container, &["x"]);
    let started = std::time::Instant::now();
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=prompt",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs a terminal"), "{}", run.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "never waits on stdin"
    );
}

#[test]
fn prompt_on_a_terminal_asks_per_file() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("prompt-tty");
    let src = setup(&container, &["p1", "p2", "p3", "p4"]);
    // No for p1, yes for p2, then "yes for all" for the rest.
    let run = blobsync_with_terminal(
        &[
            "sync",
            s(src.path()),
            &az.url(&container),
            "--delete-destination=prompt",
        ],
        "n\ny\na\n",
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr
            .matches("[Y] Yes  [N] No  [A] Yes for all  [L] No for all")
            .count(),
        3,
        "{}",
        run.stderr
    );
    assert_eq!(blobs.names(&container), ["keep/a.txt", "keep/b.txt", "p1"]);
}

#[test]
fn folders_left_empty_by_deletes_are_removed_from_a_local_destination() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("prune");
    blobs.create_container(&container);
    blobs.put(&container, "keep/a.txt", b"a", &[]);
    let dst = tempfile::tempdir().unwrap();
    write(dst.path(), "old/deep/gone.txt", b"not at the source");
    write(dst.path(), "keep/stale.txt", b"not at the source");
    std::fs::create_dir_all(dst.path().join("mine/empty")).unwrap();
    let run = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 2);
    assert_eq!(run.done("delete"), ["keep/stale.txt", "old/deep/gone.txt"]);
    assert!(!dst.path().join("old").exists(), "emptied folders go");
    assert!(dst.path().join("keep/a.txt").exists());
    assert!(
        dst.path().join("mine/empty").is_dir(),
        "a folder no delete emptied stays"
    );
}

#[test]
fn an_empty_source_does_not_empty_the_destination_unless_told_to() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("emptysrc");
    let src = setup(&container, &["a", "b"]);
    let empty = tempfile::tempdir().unwrap();
    let before = blobs.list(&container);
    let refused = blobsync_json(&[
        "sync",
        s(empty.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .code(7);
    assert!(
        refused.mentions("--allow-empty-source"),
        "{}",
        refused.dump()
    );
    assert_eq!(refused.total("deleted"), 0);
    assert_eq!(blobs.list(&container), before, "nothing was deleted");
    let allowed = blobsync_json(&[
        "sync",
        s(empty.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--allow-empty-source",
    ])
    .ok();
    assert_eq!(allowed.total("deleted"), before.len() as u64);
    drop(src);
}

#[test]
fn deletes_go_in_batches_and_a_blob_changed_meanwhile_is_kept() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("batchdelete");
    let src = tempfile::tempdir().unwrap();
    for i in 0..601 {
        write(src.path(), &format!("d{}/f{i:04}.txt", i % 7), b"x");
    }
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    for i in 1..601 {
        std::fs::remove_file(src.path().join(format!("d{}/f{i:04}.txt", i % 7))).unwrap();
    }
    // Every batch reaches the service two seconds late; another client rewrites one of
    // the blobs in between, after blobsync listed it.
    let proxy = FaultProxy::start(az.port);
    let url = format!("{}/devstoreaccount1/{container}", proxy.url());
    let delay = Fault::DelayBefore {
        duration: std::time::Duration::from_secs(2),
    };
    proxy.add(Rule::new(Match::any().method("POST").query("comp=batch"), delay).always());
    let child = blobsync_json_command(&["sync", s(src.path()), &url, "--delete-destination=true"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(std::time::Duration::from_secs(30), || proxy.stats().faults
            >= 1),
        "a batch was sent"
    );
    blobs.put(&container, "d1/f0001.txt", b"rewritten meanwhile", &[]);
    let run = Outcome::of(child.wait_with_output().unwrap().into());
    let stats = proxy.stats();
    assert!(
        stats.count("POST batch") <= 10,
        "600 deletes in at most 10 requests: {:?}",
        stats.by_kind
    );
    assert!(stats.count("DELETE blob") <= 2, "{:?}", stats.by_kind);
    assert_eq!(run.total("deleted"), 599, "{}", run.dump());
    assert_eq!(
        blobs.names(&container),
        ["d0/f0000.txt", "d1/f0001.txt"],
        "the rewritten blob was not deleted"
    );
    assert_eq!(
        blobs.get(&container, "d1/f0001.txt"),
        b"rewritten meanwhile"
    );
}

#[test]
fn batched_deletes_work_under_a_container_sas_and_an_account_sas() {
    let az = azurite();
    let blobs = Blobs::new(az);
    for account in [false, true] {
        let container = unique_container("sasdelete");
        let src = tempfile::tempdir().unwrap();
        for i in 0..40 {
            write(src.path(), &format!("f{i:02}.txt"), b"x");
        }
        blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
        for i in 1..40 {
            std::fs::remove_file(src.path().join(format!("f{i:02}.txt"))).unwrap();
        }
        let sas = if account {
            account_sas()
        } else {
            container_sas(&container, "racwdl")
        };
        let url = format!("{}?{sas}", az.url(&container));
        let run = blobsync_json(&["sync", s(src.path()), &url, "--delete-destination=true"]).ok();
        assert_eq!(run.total("deleted"), 39, "{}", run.dump());
        assert_eq!(
            blobs.names(&container),
            ["f00.txt"],
            "account SAS: {account}"
        );
    }
}
