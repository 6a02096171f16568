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
