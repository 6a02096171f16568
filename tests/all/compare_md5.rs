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
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 0, "size + mtime cannot see the change");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
    ])
    .ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["doc.txt"]);
    assert!(
        run.reason("upload", "doc.txt")
            .is_some_and(|r| r.starts_with("MD5 differs")),
        "{}",
        run.dump()
    );
    assert_eq!(blobs.get(&container, "doc.txt"), b"version two");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash",
        "md5",
    ])
    .ok();
    assert_eq!(run.total("copied"), 0);
    assert_eq!(run.total("up_to_date"), 2);
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
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
    ])
    .ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["a.bin"]);
    assert!(
        run.reason("upload", "a.bin")
            .is_some_and(|r| r.contains("destination blob has no Content-MD5")),
        "{}",
        run.dump()
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

/// A container holding what another tool uploaded without Content-MD5: `same.txt` (as the
/// local file), `other.txt` (same size, other bytes), with a Content-Type of its own.
fn without_md5(prefix: &str) -> (Blobs, String, tempfile::TempDir) {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container(prefix);
    blobs.create_container(&container);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "same.txt", b"identical content");
    write(src.path(), "other.txt", b"local version!!");
    blobs.put_without_md5(&container, "same.txt", b"identical content");
    blobs.put_without_md5(&container, "other.txt", b"remote version!");
    for name in ["same.txt", "other.txt"] {
        assert_eq!(blobs.head(&container, name).get("content-md5"), None);
    }
    (blobs, container, src)
}

#[test]
fn missing_md5_download_hashes_the_blob_once_and_stores_its_md5() {
    let (blobs, container, src) = without_md5("md5dl");
    let url = azurite().url(&container);
    let args = [
        "sync",
        s(src.path()),
        &url,
        "--compare-hash=MD5",
        "--missing-md5=download",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let run = blobsync_json(&dry).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    let copies = run.planned("copy");
    assert!(
        copies.len() == 1 && copies[0].ends_with("other.txt"),
        "{}",
        run.dump()
    );
    assert_eq!(
        blobs.head(&container, "same.txt").get("content-md5"),
        None,
        "a dry run stores nothing"
    );

    let run = blobsync_json(&args).ok();
    assert_eq!(
        run.total("copied"),
        1,
        "only the differing one: {}",
        run.dump()
    );
    assert_eq!(run.done("upload"), ["other.txt"]);
    assert_eq!(run.total("updated"), 1, "{}", run.dump());
    assert_eq!(run.done("update"), ["same.txt"]);
    assert_eq!(blobs.get(&container, "other.txt"), b"local version!!");
    let head = blobs.head(&container, "same.txt");
    use base64::Engine;
    use md5::Digest;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(b"identical content"));
    assert_eq!(head["content-md5"], expected);
    assert_eq!(blobs.get(&container, "same.txt"), b"identical content");

    // Stored: the next run has nothing to read, store or copy.
    let run = blobsync_json(&args).ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    assert_eq!(run.total("updated"), 0, "{}", run.dump());
    assert_eq!(run.total("up_to_date"), 2);
}

#[test]
fn missing_md5_download_stores_the_md5_of_a_source_blob_too() {
    let (blobs, container, _) = without_md5("md5dlsrc");
    let dst = tempfile::tempdir().unwrap();
    write(dst.path(), "same.txt", b"identical content");
    let url = azurite().url(&container);
    let run = blobsync_json(&[
        "sync",
        &url,
        s(dst.path()),
        "--compare-hash=MD5",
        "--missing-md5=download",
    ])
    .ok();
    assert_eq!(run.total("copied"), 1, "other.txt only: {}", run.dump());
    assert_eq!(run.done("download"), ["other.txt"]);
    assert!(
        blobs
            .head(&container, "same.txt")
            .contains_key("content-md5")
    );
}

#[test]
fn missing_md5_copy_is_azcopys_behaviour_and_needs_compare_hash() {
    let (_, container, src) = without_md5("md5copy");
    let url = azurite().url(&container);
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &url,
        "--compare-hash=MD5",
        "--missing-md5=copy",
    ])
    .ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("upload"), ["other.txt", "same.txt"]);
    let run = blobsync(&["sync", s(src.path()), &url, "--missing-md5=download"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--compare-hash=MD5"), "{}", run.stderr);
}
