//! Access tiers, archive and snapshots: what real accounts have and the emulator models.

use blobsync_tests::*;

/// A container with `a.txt`, `b.txt` (archived) and `c.txt`.
fn container_with_an_archived_blob(prefix: &str) -> (Blobs, String) {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container(prefix);
    blobs.create_container(&container);
    for name in ["a.txt", "b.txt", "c.txt"] {
        blobs.put(&container, name, name.as_bytes(), &[]);
    }
    blobs.set_tier(&container, "b.txt", "Archive");
    assert_eq!(blobs.tier(&container, "b.txt"), "Archive");
    (blobs, container)
}

#[test]
fn a_download_skips_an_archived_blob_and_counts_it_apart() {
    let az = azurite();
    let (_blobs, container) = container_with_an_archived_blob("archived");
    let dst = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let run = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
        assert_eq!(run.total("archived"), 1, "{}", run.dump());
        assert_eq!(run.total("failed"), 0);
    }
    assert_eq!(files(dst.path()), ["a.txt", "c.txt"]);

    let verbose = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
    let why = verbose
        .of_type("skipped")
        .find(|e| e["path"] == "b.txt")
        .and_then(|e| e["reason"].as_str())
        .unwrap_or_default();
    assert!(
        why.starts_with("archived: rehydrate it first"),
        "{}",
        verbose.dump()
    );

    let fail = blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--archived=fail",
    ]);
    assert_eq!(fail.code, 1, "{}", fail.stderr);
    assert!(
        fail.stderr.contains("b.txt") && fail.stderr.contains("is archived"),
        "{}",
        fail.stderr
    );
}

#[test]
fn rehydrate_asks_for_archived_blobs_to_come_back_and_a_later_run_copies_them() {
    let az = azurite();
    let (blobs, container) = container_with_an_archived_blob("rehydrate");
    let dst = tempfile::tempdir().unwrap();
    let dry = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--archived=rehydrate:High",
        "--dry-run",
    ])
    .ok();
    let rehydrations: Vec<_> = dry
        .of_type("dry-run")
        .filter(|e| e["action"] == "rehydrate")
        .collect();
    assert_eq!(rehydrations.len(), 1, "{}", dry.dump());
    assert!(
        rehydrations[0]["source"]
            .as_str()
            .unwrap_or_default()
            .ends_with("b.txt")
            && rehydrations[0]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("High priority"),
        "{}",
        dry.dump()
    );
    assert_eq!(
        blobs.tier(&container, "b.txt"),
        "Archive",
        "a dry run changes nothing"
    );

    let run = blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--archived=rehydrate:High",
    ])
    .ok();
    assert_eq!(run.count("Rehydration requested:"), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("rehydrate: b.txt (archived: rehydration to Hot requested"),
        "reported without -v: {}",
        run.stdout
    );
    assert!(!dst.path().join("b.txt").exists());
    // The emulator brings it back at once; the service takes hours.
    assert_eq!(blobs.tier(&container, "b.txt"), "Hot");
    let later = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(later.total("copied"), 1, "{}", later.dump());
    assert_eq!(later.done("download"), ["b.txt"]);
    assert_eq!(std::fs::read(dst.path().join("b.txt")).unwrap(), b"b.txt");
}

#[test]
fn an_archived_destination_is_replaced_only_with_overwrite_archived() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("overarch");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "backup.tar", b"version one");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    blobs.set_tier(&container, "backup.tar", "Archive");
    blobs.snapshot(&container, "backup.tar");
    write(src.path(), "backup.tar", b"version two, longer");

    let refused = blobsync(&["sync", s(src.path()), &az.url(&container)]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("backup.tar")
            && refused
                .stderr
                .contains("archived and cannot be overwritten")
            && refused.stderr.contains("--overwrite-archived"),
        "{}",
        refused.stderr
    );
    assert_eq!(blobs.tier(&container, "backup.tar"), "Archive");

    let dry = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--overwrite-archived",
        "--dry-run",
    ])
    .ok();
    assert!(
        dry.of_type("dry-run").any(|e| e["action"] == "copy"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the destination is archived: it is deleted"))),
        "{}",
        dry.dump()
    );

    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--overwrite-archived",
    ])
    .ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["backup.tar"]);
    assert_eq!(blobs.get(&container, "backup.tar"), b"version two, longer");
    assert_ne!(blobs.tier(&container, "backup.tar"), "Archive");
    assert_eq!(
        blobs.snapshot_count(&container),
        0,
        "deleted with its snapshot"
    );
}

#[test]
fn a_blob_with_snapshots_is_deleted_with_them_unless_told_to_fail() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("snaps");
    blobs.create_container(&container);
    for name in ["old.txt", "kept.txt"] {
        blobs.put(&container, name, b"x", &[]);
        blobs.snapshot(&container, name);
        blobs.snapshot(&container, name);
    }
    assert_eq!(blobs.snapshot_count(&container), 4);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "kept.txt", b"x");

    let fail = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--delete-snapshots=fail",
    ]);
    assert_eq!(fail.code, 1, "{}", fail.stderr);
    assert!(
        fail.stderr.contains("old.txt has snapshots")
            && fail.stderr.contains("--delete-snapshots=include"),
        "{}",
        fail.stderr
    );
    assert!(blobs.names(&container).contains(&"old.txt".to_string()));

    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 1, "{}", run.dump());
    assert_eq!(run.done("delete"), ["old.txt"]);
    assert_eq!(blobs.names(&container), ["kept.txt"]);
    assert_eq!(
        blobs.snapshot_count(&container),
        2,
        "kept.txt's snapshots stay"
    );
}

/// Folder stubs (`hdi_isfolder=true`) as ADLS Gen2 and azcopy write them.
fn container_with_folder_stubs(prefix: &str) -> (Blobs, String) {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container(prefix);
    blobs.create_container(&container);
    blobs.put(&container, "photos", b"", &[("hdi_isfolder", "true")]);
    blobs.put(&container, "photos/cat.jpg", b"meow", &[]);
    blobs.put(&container, "empty", b"", &[("hdi_isfolder", "true")]);
    blobs.put(&container, "notes.txt", b"n", &[]);
    (blobs, container)
}

#[test]
fn folder_stubs_are_neither_files_nor_collisions() {
    let az = azurite();
    let (blobs, container) = container_with_folder_stubs("stubs");
    let dst = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let run = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
        assert_eq!(run.total("failed"), 0, "{}", run.dump());
        assert_eq!(run.total("source_files"), 2);
    }
    assert_eq!(files(dst.path()), ["notes.txt", "photos/cat.jpg"]);
    assert!(!dst.path().join("empty").exists());
    // An upload with deletes leaves the stubs alone.
    blobsync(&[
        "sync",
        s(dst.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .ok();
    assert!(blobs.names(&container).contains(&"empty".to_string()));
}

#[test]
fn include_directory_stub_syncs_stubs_as_folders_both_ways() {
    let az = azurite();
    let (blobs, container) = container_with_folder_stubs("withstubs");
    let dst = tempfile::tempdir().unwrap();
    let run = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--include-directory-stub",
    ])
    .ok();
    assert_eq!(run.total("failed"), 0, "{}", run.dump());
    assert!(
        dst.path().join("empty").is_dir(),
        "the empty folder is made"
    );
    assert!(dst.path().join("photos").is_dir());
    assert_eq!(files(dst.path()), ["notes.txt", "photos/cat.jpg"]);
    let again = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--include-directory-stub",
    ])
    .ok();
    assert_eq!(again.total("copied"), 0, "{}", again.dump());

    // Upload: a new empty local folder becomes a stub blob.
    let other = unique_container("stubsup");
    std::fs::create_dir(dst.path().join("new-empty")).unwrap();
    blobsync(&[
        "sync",
        s(dst.path()),
        &az.url(&other),
        "--include-directory-stub",
    ])
    .ok();
    let listed = blobs.list(&other);
    let stub = listed
        .iter()
        .find(|b| b.name == "new-empty")
        .expect("a stub blob");
    assert_eq!(stub.size, 0);
    assert_eq!(
        stub.metadata.get("hdi_isfolder").map(String::as_str),
        Some("true")
    );
    let noop = blobsync_json(&[
        "sync",
        s(dst.path()),
        &az.url(&other),
        "--include-directory-stub",
    ])
    .ok();
    assert_eq!(noop.total("copied"), 0, "{}", noop.dump());
}

#[test]
fn up_to_date_blobs_move_to_another_tier_in_batches() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("retier");
    let src = tempfile::tempdir().unwrap();
    for i in 0..60 {
        write(src.path(), &format!("f{i:02}.txt"), b"x");
    }
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let proxy = FaultProxy::start(az.port);
    let url = format!("{}/devstoreaccount1/{container}", proxy.url());
    let run = blobsync_json(&["sync", s(src.path()), &url, "--block-blob-tier", "Cool"]).ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    assert_eq!(run.total("updated"), 60, "{}", run.dump());
    let stats = proxy.stats();
    assert!(stats.count("POST batch") >= 1, "{:?}", stats.by_kind);
    assert!(
        stats.count("PUT tier") < 10,
        "most tier changes went in batches: {:?}",
        stats.by_kind
    );
    for name in ["f00.txt", "f31.txt", "f59.txt"] {
        assert_eq!(blobs.tier(&container, name), "Cool", "{name}");
    }
}
