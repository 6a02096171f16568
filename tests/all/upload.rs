//! Local → blob sync: what is uploaded, how, and that reruns transfer only what changed.

use blobsync_tests::*;

const T0: u64 = 1_700_000_000;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "index.html", b"<h1>hello</h1>");
    write(root, "data/report.json", b"{\"a\":1}");
    write(root, "data/nested/deep/numbers.csv", b"1,2,3\n");
    write(root, "names/with space & symbols %#+.txt", b"odd name");
    write(root, "names/ünïcödé/日本語.md", b"unicode");
    write(root, "empty.bin", b"");
    for (i, p) in [
        "index.html",
        "data/report.json",
        "data/nested/deep/numbers.csv",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(&root.join(p), T0 + i as u64, 123_456_789);
    }
    dir
}

#[test]
fn first_sync_uploads_everything_with_md5_mtime_and_content_type() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("first");
    let src = tree();
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 6, "{}", run.dump());
    assert_eq!(
        run.done("upload"),
        [
            "data/nested/deep/numbers.csv",
            "data/report.json",
            "empty.bin",
            "index.html",
            "names/with space & symbols %#+.txt",
            "names/ünïcödé/日本語.md",
        ]
    );
    assert_eq!(run.total("failed"), 0);
    assert!(
        blobs.container_exists(&container),
        "the missing container is created"
    );

    let listed = blobs.list(&container);
    let names: Vec<&str> = listed.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "data/nested/deep/numbers.csv",
            "data/report.json",
            "empty.bin",
            "index.html",
            "names/with space & symbols %#+.txt",
            "names/ünïcödé/日本語.md",
        ]
    );
    for b in &listed {
        let local = std::fs::read(src.path().join(&b.name)).unwrap();
        assert_eq!(b.md5, md5_hex(&local), "Content-MD5 of {}", b.name);
        assert_eq!(
            blobs.get(&container, &b.name),
            local,
            "content of {}",
            b.name
        );
        let stored = b
            .metadata
            .get("mtime")
            .unwrap_or_else(|| panic!("no mtime on {}", b.name));
        let parsed = blobsync_plugin::parse_rfc3339_ns(stored).unwrap();
        assert_eq!(
            parsed,
            mtime_ns(&src.path().join(&b.name)),
            "stored mtime of {}",
            b.name
        );
    }
    let ct = |n: &str| {
        listed
            .iter()
            .find(|b| b.name == n)
            .unwrap()
            .content_type
            .clone()
    };
    assert_eq!(ct("index.html"), "text/html; charset=utf-8");
    assert_eq!(ct("data/report.json"), "application/json");
    assert_eq!(ct("empty.bin"), "application/octet-stream");
}

#[test]
fn a_rerun_with_nothing_changed_transfers_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("noop");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let before = blobs.list(&container);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    assert_eq!(run.total("up_to_date"), 6);
    assert_eq!(
        blobs.list(&container),
        before,
        "no blob was rewritten (ETags unchanged)"
    );
}

#[test]
fn one_changed_file_is_the_only_transfer() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("onechange");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let before = blobs.list(&container);
    // Same size, new content and time.
    let p = write(src.path(), "data/report.json", b"{\"a\":2}");
    set_mtime(&p, T0 + 100, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["data/report.json"]);
    assert!(
        run.reason("upload", "data/report.json")
            .unwrap_or_default()
            .starts_with("modification time differs"),
        "{}",
        run.dump()
    );
    let after = blobs.list(&container);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.etag == a.etag, b.name != "data/report.json", "{}", b.name);
    }
    assert_eq!(blobs.get(&container, "data/report.json"), b"{\"a\":2}");
}

#[test]
fn a_size_change_with_an_older_mtime_is_transferred() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("older");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    // A different size, and a modification time older than the uploaded one: azcopy
    // would skip this file forever.
    let p = write(src.path(), "index.html", b"<h1>restored older version</h1>");
    set_mtime(&p, T0 - 86_400, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["index.html"]);
    assert!(
        run.reason("upload", "index.html")
            .unwrap_or_default()
            .starts_with("size differs"),
        "{}",
        run.dump()
    );
    assert_eq!(
        blobs.get(&container, "index.html"),
        b"<h1>restored older version</h1>"
    );
}

#[test]
fn an_older_file_of_the_same_size_is_transferred_when_the_blob_stores_its_mtime() {
    let az = azurite();
    let container = unique_container("oldersame");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let p = write(src.path(), "index.html", b"<h1>HELLO</h1>");
    set_mtime(&p, T0 - 86_400, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["index.html"]);
}

#[test]
fn a_large_file_is_uploaded_in_blocks_with_the_whole_file_md5() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("blocks");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(7, 5 * 1024 * 1024 + 12_345);
    write(src.path(), "big/video.bin", &data);
    write(src.path(), "small.txt", b"small");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--block-size-mb",
        "1",
    ])
    .ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("upload"), ["big/video.bin", "small.txt"]);
    let listed = blobs.list(&container);
    let big = listed.iter().find(|b| b.name == "big/video.bin").unwrap();
    assert_eq!(big.size, data.len() as u64);
    assert_eq!(
        big.md5,
        md5_hex(&data),
        "Put Block List carries the whole-file MD5"
    );
    assert_eq!(
        committed_blocks(az, &container, "big/video.bin"),
        6,
        "5 MiB + a bit in 1 MiB blocks"
    );
    assert_eq!(blobs.get(&container, "big/video.bin"), data);
    // A rerun leaves it alone.
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--block-size-mb",
        "1",
    ])
    .ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
}

#[test]
fn put_blob_size_sets_the_single_request_threshold() {
    let az = azurite();
    let container = unique_container("putblob");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "three-mib.bin", &bytes(3, 3 << 20));
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--block-size-mb",
        "1",
        "--put-blob-size-mb",
        "4",
    ])
    .ok();
    assert_eq!(
        committed_blocks(az, &container, "three-mib.bin"),
        0,
        "a single Put Blob commits no block list"
    );
}

#[test]
fn a_virtual_directory_destination_keeps_everything_under_its_prefix() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("prefix");
    blobs.create_container(&container);
    blobs.put(&container, "outside.txt", b"not ours", &[]);
    let src = tree();
    let url = format!("{}/site/v1", az.url(&container));
    blobsync(&["sync", s(src.path()), &url]).ok();
    let names = blobs.names(&container);
    assert!(
        names.contains(&"site/v1/index.html".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"outside.txt".to_string()));
    assert_eq!(
        names.iter().filter(|n| n.starts_with("site/v1/")).count(),
        6
    );
    let run = blobsync_json(&["sync", s(src.path()), &url]).ok();
    assert_eq!(
        run.total("destination_files"),
        6,
        "the listing is limited to the prefix"
    );
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
}

#[test]
fn blobs_written_by_other_tools_follow_azcopys_newer_rule() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("foreign");
    blobs.create_container(&container);
    blobs.put(&container, "a.txt", b"same", &[]);
    let src = tempfile::tempdir().unwrap();
    let p = write(src.path(), "a.txt", b"SAME");
    // Older than the blob's Last-Modified (now): no stored mtime, so azcopy's rule skips it.
    set_mtime(&p, T0, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    // Newer than the blob: copied, and now the blob carries the mtime.
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let secs = future
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    set_mtime(&p, secs, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["a.txt"]);
    assert!(blobs.list(&container)[0].metadata.contains_key("mtime"));
}

#[test]
fn a_sas_url_works_and_its_signature_is_never_printed() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("sas");
    blobs.create_container(&container);
    let url = az.sas_url(&container, "racwdl");
    let signature = sas_signature(&url);
    let src = tree();
    let raw: Run = blobsync_json_command(&["sync", s(src.path()), &url, "--log-level", "debug"])
        .output()
        .unwrap()
        .into();
    assert!(
        !raw.stdout.contains(&signature) && !raw.stderr.contains(&signature),
        "signature leaked"
    );
    let run = Outcome::of(raw).ok();
    assert_eq!(run.total("copied"), 6, "{}", run.dump());
    // A read-only SAS cannot upload: authorisation failure, exit code 3, still redacted.
    let readonly = az.sas_url(&container, "rl");
    let sig2 = sas_signature(&readonly);
    write(src.path(), "new.txt", b"new");
    let run = blobsync(&["sync", s(src.path()), &readonly]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert!(!run.stderr.contains(&sig2), "{}", run.stderr);
}

#[test]
fn an_account_key_from_the_environment_is_used_and_never_printed() {
    let az = azurite();
    let container = unique_container("key");
    let src = tree();
    let out: Run = blobsync_json_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--log-level",
        "debug",
    ])
    .env("AZURE_STORAGE_KEY", KEY)
    .output()
    .unwrap()
    .into();
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
    let out = Outcome::of(out).ok();
    assert_eq!(out.total("copied"), 6, "{}", out.dump());
    // A wrong key is an authentication failure (exit code 3), naming the URL.
    let wrong =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    let out: Run = blobsync_command(&["sync", s(src.path()), &az.url(&container)])
        .env("AZURE_STORAGE_KEY", wrong)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&container) && out.stderr.contains("403"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let src = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["sync", s(src.path()), "/tmp/elsewhere"],
            "both arguments are local paths",
        ),
        (
            vec!["sync", s(src.path()), "https://acct.blob.core.windows.net/"],
            "names no container",
        ),
        (
            vec![
                "sync",
                s(src.path()),
                "https://acct.blob.core.windows.net/$logs",
            ],
            "system container",
        ),
        (
            vec![
                "sync",
                s(src.path()),
                "http://127.0.0.1:1/devstoreaccount1/cont1",
                "--block-size-mb",
                "0",
            ],
            "--block-size-mb",
        ),
        (
            vec![
                "sync",
                s(src.path()),
                "http://127.0.0.1:1/devstoreaccount1/cont1",
                "--from-to",
                "BlobLocal",
            ],
            "--from-to",
        ),
    ] {
        let run = blobsync(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    let run = blobsync(&["sync", "--no-such-flag", "a", "b"]);
    assert_eq!(run.code, 2);
}

#[test]
fn a_missing_source_folder_is_an_error_and_changes_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("nosrc");
    blobs.create_container(&container);
    blobs.put(&container, "keep.txt", b"keep", &[]);
    let run = blobsync(&["sync", "/nonexistent/blobsync/source", &az.url(&container)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/blobsync/source"),
        "{}",
        run.stderr
    );
    assert_eq!(blobs.names(&container), ["keep.txt"]);
}

/// Regression: with `--put-blob-size-mb` below `--block-size-mb`, a file between the two
/// sizes went up as one Put Blob (the writer compared with the block size, not the
/// threshold), holding its buffer for nothing.
#[test]
fn a_file_above_put_blob_size_but_below_block_size_is_staged_in_blocks() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("shape");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(11, 2 << 20);
    write(src.path(), "two-mib.bin", &data);
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--block-size-mb",
        "4",
        "--put-blob-size-mb",
        "1",
    ])
    .ok();
    assert_eq!(
        committed_blocks(az, &container, "two-mib.bin"),
        1,
        "one staged block and a Put Block List, not a Put Blob"
    );
    assert_eq!(blobs.get(&container, "two-mib.bin"), data);
    assert_eq!(blobs.list(&container)[0].md5, md5_hex(&data));
}
