//! `--dry-run` prints what would happen, with reasons, and changes nothing at all.

use blobsync_tests::*;

#[test]
fn a_dry_run_upload_prints_copies_and_creates_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("dry");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "one.txt", b"1");
    write(src.path(), "sub/two.txt", b"22");
    let run = blobsync(&["sync", s(src.path()), &az.url(&container), "--dry-run"]).ok();
    let url = az.url(&container);
    assert!(
        run.stdout.contains(&format!(
            "DRYRUN: copy {} to {url}/one.txt (not at the destination)",
            src.path().join("one.txt").display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("to {url}/sub/two.txt")),
        "{}",
        run.stdout
    );
    assert_eq!(run.count("Would copy:"), 2);
    assert!(
        !blobs.container_exists(&container),
        "not even the container is created"
    );
}

#[test]
fn a_dry_run_with_deletes_prints_removes_and_deletes_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("drydel");
    blobs.create_container(&container);
    blobs.put(&container, "obsolete.txt", b"old", &[]);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "new.txt", b"new");
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--dry-run",
        "--delete-destination=true",
    ])
    .ok();
    assert!(
        run.stdout.contains(&format!(
            "DRYRUN: remove {}/obsolete.txt (not at the source)",
            az.url(&container)
        )),
        "{}",
        run.stdout
    );
    assert_eq!(run.count("Would delete:"), 1);
    assert_eq!(blobs.names(&container), ["obsolete.txt"]);
}

#[test]
fn a_dry_run_download_writes_nothing_locally() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("drydl");
    blobs.create_container(&container);
    blobs.put(&container, "a.txt", b"a", &[]);
    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("not-yet");
    let run = blobsync(&["sync", &az.url(&container), s(&target), "--dry-run"]).ok();
    assert_eq!(run.count("Would copy:"), 1);
    assert!(!target.exists());
}
