//! `--compare-hash=MD5`: content comparison through the md5-compare plugin.

use blobsync_tests::*;

#[test]
fn md5_compare_catches_a_change_that_keeps_size_and_mtime() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("md5");
    let src = tempfile::tempdir().unwrap();
    let p = write(src.path(), "doc.txt", b"version one");
    write(src.path(), "same.txt", b"unchanged");
    set_mtime(&p, 1_700_000_000, 0);
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
    ])
    .ok();

    // Same size and the same modification time, different bytes.
    let p = write(src.path(), "doc.txt", b"version two");
    set_mtime(&p, 1_700_000_000, 0);
    let run = blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(
        run.count("Copied:"),
        0,
        "size + mtime cannot see the change"
    );
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
        "-v",
    ])
    .ok();
    assert_eq!(run.count("Copied:"), 1);
    assert!(
        run.stdout.contains("upload: doc.txt (MD5 differs"),
        "{}",
        run.stdout
    );
    assert_eq!(blobs.get(&container, "doc.txt"), b"version two");
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash",
        "md5",
    ])
    .ok();
    assert_eq!(run.count("Copied:"), 0);
    assert_eq!(run.count("Up to date (skipped):"), 2);
}

#[test]
fn a_blob_without_content_md5_counts_as_different() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("nomd5");
    blobs.create_container(&container);
    blobs.put_without_md5(&container, "a.bin", b"identical content");
    assert_eq!(
        blobs.list(&container)[0].md5,
        "",
        "the fixture blob has no Content-MD5"
    );
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.bin", b"identical content");
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
        "-v",
    ])
    .ok();
    assert_eq!(run.count("Copied:"), 1);
    assert!(
        run.stdout.contains("destination blob has no Content-MD5"),
        "{}",
        run.stdout
    );
    assert_eq!(blobs.list(&container)[0].md5, md5_hex(b"identical content"));
}

#[test]
fn put_md5_false_is_refused_with_md5_compare() {
    let src = tempfile::tempdir().unwrap();
    let run = blobsync(&[
        "sync",
        s(src.path()),
        "http://127.0.0.1:1/devstoreaccount1/cont1",
        "--compare-hash=MD5",
        "--put-md5=false",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--put-md5"), "{}", run.stderr);
}
