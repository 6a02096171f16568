//! Blob → local: content, modification times, MD5 checks, names that cannot be local
//! paths, and a download killed half-way.

use blobsync_tests::*;

fn uploaded_tree(container: &str) -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    write(src.path(), "dir/b.json", b"{\"b\":true}");
    write(
        src.path(),
        "dir/deeper/c.bin",
        &bytes(3, 3 * 1024 * 1024 + 17),
    );
    write(src.path(), "empty", b"");
    for (i, p) in ["a.txt", "dir/b.json", "dir/deeper/c.bin", "empty"]
        .iter()
        .enumerate()
    {
        set_mtime(&src.path().join(p), 1_650_000_000 + i as u64, 987_654_321);
    }
    blobsync(&["sync", s(src.path()), &azurite().url(container)]).ok();
    src
}

#[test]
fn a_download_restores_content_and_times_and_a_round_trip_transfers_nothing() {
    let az = azurite();
    let container = unique_container("download");
    let src = uploaded_tree(&container);
    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("new/folder");
    let run = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(&target),
        "--block-size-mb",
        "1",
    ])
    .ok();
    assert_eq!(run.total("copied"), 4);
    assert_eq!(
        run.done("download"),
        ["a.txt", "dir/b.json", "dir/deeper/c.bin", "empty"]
    );
    assert_eq!(
        files(&target),
        files(src.path()),
        "no temporary files are left"
    );
    for f in files(src.path()) {
        assert_eq!(
            std::fs::read(target.join(&f)).unwrap(),
            std::fs::read(src.path().join(&f)).unwrap(),
            "{f}"
        );
        assert_eq!(
            mtime_ns(&target.join(&f)),
            mtime_ns(&src.path().join(&f)),
            "mtime of {f}"
        );
    }
    let run = blobsync_json(&["sync", &az.url(&container), s(&target)]).ok();
    assert_eq!(run.total("copied"), 0);
    // local → blob from the downloaded copy: nothing differs.
    let run = blobsync_json(&["sync", s(&target), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 0);
    assert_eq!(run.total("up_to_date"), 4);
}

#[test]
fn a_blob_written_by_another_tool_gets_its_last_modified_time() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("foreigndl");
    blobs.create_container(&container);
    blobs.put(&container, "plain.txt", b"from another tool", &[]);
    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    let mtime = mtime_ns(&dst.path().join("plain.txt"));
    assert_eq!(mtime % 1_000_000_000, 0, "Last-Modified has whole seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!((now - mtime).abs() < 120 * 1_000_000_000, "close to now");
    let run = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(
        run.total("copied"),
        0,
        "the second download finds it up to date"
    );
}

#[test]
fn check_md5_policies() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("checkmd5");
    blobs.create_container(&container);
    blobs.put(&container, "bad.txt", b"the data", &[]);
    blobs.set_content_md5(&container, "bad.txt", &[0u8; 16]);
    blobs.put_without_md5(&container, "nomd5.txt", b"no stored hash");

    let dst = tempfile::tempdir().unwrap();
    let run = blobsync(&["sync", &az.url(&container), s(dst.path())]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.txt")
            && run.stderr.contains("differs from the blob's Content-MD5"),
        "{}",
        run.stderr
    );
    assert_eq!(
        files(dst.path()),
        ["nomd5.txt"],
        "the mismatching file was not written"
    );

    let run = blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--check-md5",
        "FailIfDifferentOrMissing",
    ]);
    assert_eq!(run.code, 1);
    let dst2 = tempfile::tempdir().unwrap();
    let run = blobsync(&[
        "sync",
        &az.url(&container),
        s(dst2.path()),
        "--check-md5",
        "FailIfDifferentOrMissing",
    ]);
    assert!(
        run.stderr.contains("nomd5.txt") && run.stderr.contains("has no Content-MD5"),
        "{}",
        run.stderr
    );
    assert!(files(dst2.path()).is_empty());

    for policy in ["LogOnly", "NoCheck"] {
        let d = tempfile::tempdir().unwrap();
        blobsync(&[
            "sync",
            &az.url(&container),
            s(d.path()),
            "--check-md5",
            policy,
        ])
        .ok();
        assert_eq!(
            std::fs::read(d.path().join("bad.txt")).unwrap(),
            b"the data",
            "{policy}"
        );
    }
}

#[test]
fn blob_names_that_cannot_be_local_paths_are_reported_not_skipped() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("badnames");
    blobs.create_container(&container);
    blobs.put(&container, "ok.txt", b"fine", &[]);
    blobs.put(&container, "a//double.txt", b"empty segment", &[]);
    // A file and a folder of the same name cannot both exist locally.
    blobs.put(&container, "clash", b"a file", &[]);
    blobs.put(
        &container,
        "clash/inside.txt",
        b"needs clash/ to be a folder",
        &[],
    );
    let dst = tempfile::tempdir().unwrap();
    for attempt in 0..2 {
        // Names the folder cannot hold are not syncable, the same way on every run; the
        // rest is synced.
        let run = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
        let unsyncable = run.unsyncable();
        let paths: Vec<&str> = unsyncable.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["a//double.txt", "clash/inside.txt"],
            "attempt {attempt}"
        );
        assert!(
            unsyncable[0].1.contains("cannot be a local path"),
            "{unsyncable:?}"
        );
        assert!(unsyncable[1].1.contains("\"clash\""), "{unsyncable:?}");
        assert_eq!(run.total("failed"), 0);
        assert_eq!(run.total("unsyncable"), 2);
    }
    assert_eq!(std::fs::read(dst.path().join("clash")).unwrap(), b"a file");
    assert!(dst.path().join("ok.txt").exists());
    assert!(!dst.path().join("a").exists());
}

#[test]
fn a_killed_download_leaves_no_partial_file_and_the_next_run_completes() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("killdl");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(11, 6 * 1024 * 1024);
    write(src.path(), "big.bin", &data);
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(blobs.list(&container)[0].md5, md5_hex(&data));

    let dst = tempfile::tempdir().unwrap();
    // 8 Mbit/s: about six seconds for 6 MiB, in 1 MiB blocks.
    let mut child = spawn_blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--cap-mbps",
        "8",
        "--block-size-mb",
        "1",
    ]);
    let started = wait_for(std::time::Duration::from_secs(20), || {
        !files(dst.path()).is_empty()
    });
    assert!(started, "the download started");
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !dst.path().join("big.bin").exists(),
        "no partial file under the real name"
    );
    let leftovers = files(dst.path());
    assert!(
        !leftovers.is_empty(),
        "the temporary file is kept to be continued"
    );
    assert!(
        leftovers
            .iter()
            .all(|f| f.starts_with(".blobsync-partial/")),
        "only temporary files, in blobsync's own folder: {leftovers:?}"
    );

    let run = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("download"), ["big.bin"]);
    assert_eq!(
        files(dst.path()),
        ["big.bin"],
        "the temporary files were used up"
    );
    assert_eq!(
        md5_hex(&std::fs::read(dst.path().join("big.bin")).unwrap()),
        md5_hex(&data)
    );
}

#[test]
fn a_missing_source_container_is_an_error_and_deletes_nothing() {
    let az = azurite();
    let dst = tempfile::tempdir().unwrap();
    write(dst.path(), "precious.txt", b"keep me");
    let run = blobsync(&[
        "sync",
        &az.url(&unique_container("absent")),
        s(dst.path()),
        "--delete-destination=true",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // Says which side, names the container, and that nothing happened.
    assert!(
        run.stderr.contains("the source: the container")
            && run
                .stderr
                .contains("does not exist; nothing was copied or deleted"),
        "{}",
        run.stderr
    );
    assert_eq!(files(dst.path()), ["precious.txt"]);
}

/// A blob whose content no longer matches its Content-MD5 (a faulty client wrote it) is
/// found by a download, and the next upload from the original replaces it even though
/// size and time still match.
#[test]
fn a_damaged_blob_found_by_a_download_is_replaced_by_the_next_upload() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("damaged");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "ledger.csv", b"2024,alice,100\n");
    write(src.path(), "fine.txt", b"untouched");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let listed = blobs.list(&container);
    let original = listed.iter().find(|b| b.name == "ledger.csv").unwrap();
    let md5 = hex::decode(&original.md5).unwrap();
    let mtime = original.metadata["mtime"].clone();
    // Same size, one byte flipped, the original's MD5 and time kept.
    blobs.put(
        &container,
        "ledger.csv",
        b"2024,alice,900\n",
        &[("mtime", &mtime)],
    );
    blobs.set_content_md5(&container, "ledger.csv", &md5);

    let unchanged = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(
        unchanged.total("copied"),
        0,
        "size and time match: nothing to see yet"
    );

    let dst = tempfile::tempdir().unwrap();
    let down = blobsync(&["sync", &az.url(&container), s(dst.path())]);
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(
        down.stderr.contains("ledger.csv") && down.stderr.contains("the blob is damaged"),
        "{}",
        down.stderr
    );
    assert!(!dst.path().join("ledger.csv").exists());

    let repair = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(repair.total("copied"), 1, "{}", repair.dump());
    assert_eq!(repair.done("upload"), ["ledger.csv"]);
    assert!(
        repair
            .reason("upload", "ledger.csv")
            .is_some_and(|r| r.contains("a download found it damaged")),
        "{}",
        repair.dump()
    );
    assert_eq!(blobs.get(&container, "ledger.csv"), b"2024,alice,100\n");
    let again = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(again.total("copied"), 0, "repaired once");
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(
        std::fs::read(dst.path().join("ledger.csv")).unwrap(),
        b"2024,alice,100\n"
    );
}
