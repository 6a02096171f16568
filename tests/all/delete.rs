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
