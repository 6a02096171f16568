//! Backup-grade safety: `--max-changes` refuses a run that would overwrite or delete too
//! much, before anything is written.

use blobsync_tests::*;

#[test]
fn max_changes_refuses_a_mass_overwrite_and_changes_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("maxchanges");
    let src = tempfile::tempdir().unwrap();
    for i in 0..200 {
        write(
            src.path(),
            &format!("f{i:03}.txt"),
            format!("v1 {i}").as_bytes(),
        );
    }
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    // Half the files "encrypted" (rewritten), and a new one.
    for i in 0..100 {
        let p = write(
            src.path(),
            &format!("f{i:03}.txt"),
            format!("ENCRYPTED {i}").as_bytes(),
        );
        set_mtime(&p, 1_800_000_000, 0);
    }
    write(src.path(), "new.txt", b"new");
    let refused = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "10%",
    ]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("would overwrite 100 and delete 0")
            && refused.stderr.contains("10% of the 200 files")
            && refused.stderr.contains("nothing was changed")
            && refused.stderr.contains("f000.txt"),
        "{}",
        refused.stderr
    );
    assert_eq!(blobs.get(&container, "f000.txt"), b"v1 0");
    assert!(!blobs.names(&container).contains(&"new.txt".to_string()));

    // Deletes count too; a dry run says the same.
    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    let empty = tempfile::tempdir().unwrap();
    let wipe = blobsync(&[
        "sync",
        s(empty.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--max-changes",
        "150",
        "--dry-run",
    ]);
    assert_eq!(wipe.code, 1, "{}", wipe.stderr);
    assert!(wipe.stderr.contains("delete 200"), "{}", wipe.stderr);
    assert_eq!(blobs.names(&container).len(), 200);

    let allowed = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "60%",
    ])
    .ok();
    assert_eq!(allowed.count("Copied:"), 101);

    let bad = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "150%",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--max-changes"), "{}", bad.stderr);
}

#[test]
fn max_transfer_and_max_duration_cut_a_run_short_and_the_next_continues() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("cutoff");
    let src = tempfile::tempdir().unwrap();
    for i in 0..10 {
        write(src.path(), &format!("part{i}.bin"), &vec![i as u8; 1 << 20]);
    }
    let cut = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-transfer",
        "3M",
        "--concurrency",
        "1",
    ]);
    assert_eq!(cut.code, 8, "{}\n{}", cut.stdout, cut.stderr);
    assert!(
        cut.stderr.contains("--max-transfer 3.00 MiB reached"),
        "{}",
        cut.stderr
    );
    assert!(cut.stdout.contains("CutOff"), "{}", cut.stdout);
    assert_eq!(cut.count("Copied:"), 3);
    assert_eq!(blobs.names(&container).len(), 3);

    // 1 MiB/s for 7 MiB, stopped after 2 s.
    let slow = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-duration",
        "2s",
        "--cap-mbps",
        "8",
        "--concurrency",
        "1",
    ]);
    assert_eq!(slow.code, 10, "{}\n{}", slow.stdout, slow.stderr);
    assert!(
        slow.stderr.contains("--max-duration 2s reached"),
        "{}",
        slow.stderr
    );
    let after_slow = blobs.names(&container).len();
    assert!((3..10).contains(&after_slow), "{after_slow} blobs");

    let rest = blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(rest.count("Copied:"), 10 - after_slow as u64);
    assert_eq!(blobs.names(&container).len(), 10);

    let bad = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-transfer",
        "lots",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
