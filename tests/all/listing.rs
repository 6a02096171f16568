//! Listing a container in parallel ranges (`--list-parallelism`): the ranges come back in
//! the order one flat listing gives (names chosen to sort differently in byte and UTF-16
//! order, folders beside files of the same stem), so no-op reruns copy nothing and
//! deletes still happen; the split is seen in the requests that reach the service.

use blobsync_tests::*;

/// Files at the top beside folders, with stems that sort around `/`.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "a!",
        "a-b.txt",
        "a.txt",
        "a/x.txt",
        "a/deep/er/y.txt",
        "a0/z.txt",
        "b/1.txt",
        "b/2.txt",
        "c\u{FF01}.txt",
        "c\u{1F600}.txt",
        "d/only.txt",
        "e.txt",
        "f/g/h.txt",
        "zz/last.txt",
    ] {
        write(dir.path(), name, name.as_bytes());
    }
    for i in 0..40 {
        write(dir.path(), &format!("many/{i:03}.txt"), b"x");
    }
    dir
}

#[test]
fn parallel_ranges_list_in_order_and_deletes_still_happen() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("ranges");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());

    for parallelism in ["1", "3", "16"] {
        proxy.reset_stats();
        let run = blobsync_json(&[
            "sync",
            s(src.path()),
            &through,
            "--list-parallelism",
            parallelism,
        ])
        .ok();
        assert_eq!(run.total("copied"), 0, "{parallelism}: {}", run.dump());
        assert_eq!(run.total("up_to_date"), 54);
        assert!(!run.mentions("not in"), "{}\n{}", run.dump(), run.stderr);
        let lists = proxy.stats().by_kind.get("GET list").copied().unwrap_or(0);
        if parallelism == "1" {
            assert_eq!(lists, 1, "one flat listing");
        } else {
            // The delimiter listing, then one listing per top-level folder.
            assert_eq!(lists, 1 + 7, "{parallelism}: split by folder");
        }
    }

    // A download through the split listing, then deletes on both sides.
    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &through, s(dst.path()), "--list-parallelism", "4"]).ok();
    assert_eq!(files(dst.path()).len(), 54);
    std::fs::remove_file(src.path().join("a/deep/er/y.txt")).unwrap();
    std::fs::remove_file(src.path().join("a-b.txt")).unwrap();
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &through,
        "--delete-destination=true",
        "--list-parallelism",
        "4",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 2, "{}\n{}", run.dump(), run.stderr);
    assert_eq!(run.done("delete"), ["a-b.txt", "a/deep/er/y.txt"]);
    let names = blobs.names(&container);
    assert!(!names.contains(&"a/deep/er/y.txt".to_string()));
    assert!(!names.contains(&"a-b.txt".to_string()));
    assert_eq!(names.len(), 52);
}

#[test]
fn list_parallelism_is_checked() {
    let src = tree();
    let url = azurite().url(&unique_container("lpbad"));
    for bad in ["0", "65", "many"] {
        let run = blobsync(&["sync", s(src.path()), &url, "--list-parallelism", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("--list-parallelism"), "{}", run.stderr);
    }
}
