//! Content headers on upload: guessed types, the extra type map, and what other tools set.

use blobsync_tests::*;

#[test]
fn content_types_are_guessed_from_the_extension_and_the_extra_map() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("types");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "index.html", b"<p>hi</p>");
    write(src.path(), "notes.MD", b"# notes");
    write(src.path(), "blob.unknownext", b"?");
    let map = src.path().join("../types.json");
    std::fs::write(&map, r#"{"MIMETypeMapping": {".md": "text/markdown"}}"#).unwrap();
    let run = blobsync_command(&["sync", s(src.path()), &az.url(&container)])
        .env("AZCOPY_CONTENT_TYPE_MAP", &map)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let content_type = |name: &str| blobs.head(&container, name)["content-type"].clone();
    assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
    assert_eq!(
        content_type("notes.MD"),
        "text/markdown",
        "the map wins, any case"
    );
    assert_eq!(content_type("blob.unknownext"), "application/octet-stream");

    let plain = unique_container("noguess");
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&plain),
        "--no-guess-mime-type",
    ])
    .ok();
    assert_eq!(
        blobs.head(&plain, "index.html")["content-type"],
        "application/octet-stream",
        "the service's default"
    );

    std::fs::write(&map, "{ not json").unwrap();
    let bad = blobsync_command(&["sync", s(src.path()), &az.url(&unique_container("badmap"))])
        .env("AZCOPY_CONTENT_TYPE_MAP", &map)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("AZCOPY_CONTENT_TYPE_MAP") && stderr.contains("types.json"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&map);
}

#[test]
fn a_re_upload_keeps_headers_other_tools_set() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("keephdr");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "page.html", b"v1");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let mtime = blobs.list(&container)[0].metadata["mtime"].clone();
    blobs.put_with(
        &container,
        "page.html",
        b"v1",
        &[
            ("x-ms-blob-content-type", "text/html; charset=utf-8"),
            ("x-ms-blob-cache-control", "max-age=600"),
            ("x-ms-meta-mtime", &mtime),
        ],
    );
    write(src.path(), "page.html", b"version two");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let head = blobs.head(&container, "page.html");
    assert_eq!(blobs.get(&container, "page.html"), b"version two");
    assert_eq!(head["cache-control"], "max-age=600");
    assert_eq!(head["content-type"], "text/html; charset=utf-8");
}
