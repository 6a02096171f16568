//! Scoped runs: `--include-path` and `--files-from` list only the named paths (prefix
//! listings on the blob side), sync them, and delete only inside them.

use blobsync_tests::*;

/// A container with 300 blobs outside the scope, and the scoped ones.
fn crowded(prefix: &str) -> String {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container(prefix);
    blobs.create_container(&container);
    for i in 0..300 {
        blobs.put(
            &container,
            &format!("elsewhere/a-rather-long-folder-name/file-number-{i:04}.txt"),
            b"x",
            &[],
        );
    }
    blobs.put(&container, "docs/stale.txt", b"gone at the source", &[]);
    blobs.put(&container, "other/stale.txt", b"outside the scope", &[]);
    container
}

#[test]
fn include_path_lists_only_the_named_prefixes_and_deletes_inside_them() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = crowded("scoped");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "docs/a.txt", b"a");
    write(src.path(), "docs/sub/b.txt", b"b");
    write(src.path(), "keep/x.txt", b"x");
    write(src.path(), "keep/y.txt", b"not named");
    write(src.path(), "unnamed.txt", b"not named");

    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &through,
        "--include-path",
        "docs;keep/x.txt",
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(run.total("copied"), 3, "{}", run.dump());
    assert_eq!(
        run.done("upload"),
        ["docs/a.txt", "docs/sub/b.txt", "keep/x.txt"]
    );
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(run.done("delete"), ["docs/stale.txt"]);
    let stats = proxy.stats();
    assert_eq!(
        stats.count("GET list"),
        2,
        "one listing per scope: {stats:?}"
    );
    assert!(
        stats.response_body_bytes < 20_000,
        "a full listing of the 300 other blobs would be far more: {} bytes",
        stats.response_body_bytes
    );
    let names = blobs.names(&container);
    for present in [
        "docs/a.txt",
        "docs/sub/b.txt",
        "keep/x.txt",
        "other/stale.txt",
    ] {
        assert!(names.contains(&present.to_string()), "{present}");
    }
    for absent in ["docs/stale.txt", "keep/y.txt", "unnamed.txt"] {
        assert!(!names.contains(&absent.to_string()), "{absent}");
    }
}

#[test]
fn files_from_scopes_a_download_too() {
    let az = azurite();
    let container = crowded("filesfrom");
    let dst = tempfile::tempdir().unwrap();
    write(
        dst.path(),
        "docs/local-only.txt",
        b"deleted: inside the scope",
    );
    write(dst.path(), "mine.txt", b"kept: outside the scope");
    let list = dst.path().join("../scope-list.txt");
    std::fs::write(&list, "# what to restore\ndocs/\n\nother/stale.txt\n").unwrap();
    let run = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--files-from",
        s(&list),
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("download"), ["docs/stale.txt", "other/stale.txt"]);
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(run.done("delete"), ["docs/local-only.txt"]);
    assert_eq!(
        files(dst.path()),
        ["docs/stale.txt", "mine.txt", "other/stale.txt"]
    );
    let _ = std::fs::remove_file(&list);

    let bad = blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--include-path",
        "../etc",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--include-path"), "{}", bad.stderr);
}
