//! Awkward names in both directions, symbolic links, and case-only collisions.

use blobsync_tests::*;

#[test]
fn awkward_and_very_long_names_round_trip_both_ways() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("names");
    let src = tempfile::tempdir().unwrap();
    let long_dir = vec!["segment-".repeat(20); 5].join("/");
    let names = [
        "spaces in name.txt".to_string(),
        "percent %25 %zz.txt".to_string(),
        "hash #1 and plus + sign.txt".to_string(),
        "quotes 'single' \"double\".txt".to_string(),
        "ünïcødé/日本語/emoji 🚀.md".to_string(),
        "semi;colon,comma=equals&amp.txt".to_string(),
        format!("{long_dir}/{}.bin", "n".repeat(200)),
    ];
    assert!(names[6].len() > 1000, "{}", names[6].len());
    for (i, n) in names.iter().enumerate() {
        write(src.path(), n, format!("content {i}").as_bytes());
    }
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let mut expected = names.to_vec();
    expected.sort();
    assert_eq!(blobs.names(&container), expected);
    for n in &names {
        assert_eq!(
            blobs.get(&container, n),
            std::fs::read(src.path().join(n)).unwrap(),
            "{n}"
        );
    }
    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(files(dst.path()), files(src.path()));
    let run = blobsync_json(&["sync", s(dst.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 0);
}

#[test]
fn symbolic_links_are_skipped_and_counted_or_followed_with_loop_detection() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("links");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "real/file.txt", b"real");
    std::os::unix::fs::symlink(
        src.path().join("real/file.txt"),
        src.path().join("link-to-file.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(src.path().join("real"), src.path().join("link-to-dir")).unwrap();
    std::os::unix::fs::symlink(src.path(), src.path().join("real/loop")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", src.path().join("dangling")).unwrap();

    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("symlinks_skipped"), 4);
    assert_eq!(blobs.names(&container), ["real/file.txt"]);

    let container2 = unique_container("links-follow");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container2),
        "--follow-symlinks",
    ]);
    assert_eq!(run.code, 1, "the dangling link is an error: {}", run.dump());
    assert!(
        run.mentions("broken symbolic link"),
        "{}\n{}",
        run.dump(),
        run.stderr
    );
    assert_eq!(
        blobs.names(&container2),
        ["link-to-dir/file.txt", "link-to-file.txt", "real/file.txt"],
        "links followed once; loops cut"
    );
    assert!(
        run.total("symlinks_skipped") >= 1,
        "the loops are skipped: {}",
        run.dump()
    );
}

#[test]
fn case_only_collisions_are_warned_about() {
    let az = azurite();
    let container = unique_container("case");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "Docs/Readme.md", b"1");
    write(src.path(), "docs/README.md", b"2");
    write(src.path(), "Photo.JPG", b"3");
    write(src.path(), "photo.jpg", b"4");
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 4, "a container holds both");
    assert_eq!(
        run.warnings(),
        [
            "\"docs/\" and \"Docs/\" differ only in letter case; they would collide on a \
             case-insensitive file system (Windows, macOS)",
            "\"photo.jpg\" and \"Photo.JPG\" differ only in letter case; they would collide \
             on a case-insensitive file system (Windows, macOS)"
        ]
    );
}

/// Names Azure lists out of UTF-8 byte order, and names it would rewrite: a no-op rerun
/// transfers nothing, deletes work, and downloads restore the names exactly.
#[test]
fn names_out_of_byte_order_and_names_the_service_rewrites_sync_cleanly() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("order");
    let src = tempfile::tempdir().unwrap();
    let names = [
        "a！.txt",
        "a😀.txt",
        "a.txt",
        "a-b",
        "a/x",
        "a\\b.txt",
        "trail.",
        "ctl\u{1}.txt",
        "full＼width.txt",
    ];
    for name in names {
        write(src.path(), name, name.as_bytes());
    }
    write(src.path(), "gone.txt", b"deleted later");
    let first = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(
        first.total("copied"),
        names.len() as u64 + 1,
        "{}",
        first.dump()
    );
    let mut stored = blobs.names(&container);
    stored.sort();
    let mut expected = vec![
        "a！.txt",
        "a😀.txt",
        "a.txt",
        "a-b",
        "a/x",
        "a＼b.txt",
        "trail．",
        "ctl␁.txt",
        "full‛＼width.txt",
        "gone.txt",
    ];
    expected.sort();
    assert_eq!(stored, expected, "stored in rclone's encoding");
    assert_eq!(blobs.get(&container, "a＼b.txt"), b"a\\b.txt");

    std::fs::remove_file(src.path().join("gone.txt")).unwrap();
    let second = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .ok();
    assert!(
        !second.mentions("not in name order"),
        "{}\n{}",
        second.dump(),
        second.stderr
    );
    assert_eq!(second.total("copied"), 0, "{}", second.dump());
    assert_eq!(second.total("deleted"), 1, "{}", second.dump());
    assert_eq!(second.done("delete"), ["gone.txt"]);
    assert_eq!(second.total("up_to_date"), names.len() as u64);

    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(
        files(dst.path()),
        files(src.path()),
        "names restored exactly"
    );
    let back = blobsync_json(&["sync", &az.url(&container), s(dst.path())]).ok();
    assert_eq!(back.total("copied"), 0, "{}", back.dump());
}

/// `--name-encoding none` stores names as they are, and reports the ones the service
/// would rewrite; names over the service's limits are reported, not retried as failures.
#[test]
fn names_that_cannot_be_stored_are_reported_once_per_run_and_not_failures() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("unstorable");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "fine.txt", b"ok");
    write(src.path(), "back\\slash.txt", b"rewritten without encoding");
    // Five folders of 250 characters: a name of more than 1,024.
    let deep = format!("{}/file.txt", vec!["d".repeat(250); 5].join("/"));
    write(src.path(), &deep, b"too long a name");
    for attempt in 0..2 {
        let run = blobsync_json(&[
            "sync",
            s(src.path()),
            &az.url(&container),
            "--name-encoding",
            "none",
            "--delete-destination=true",
        ]);
        assert_eq!(
            run.code,
            0,
            "attempt {attempt}: {}\n{}",
            run.dump(),
            run.stderr
        );
        assert_eq!(run.total("unsyncable"), 2, "{}", run.dump());
        let unsyncable = run.unsyncable();
        let paths: Vec<&str> = unsyncable.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["back\\slash.txt", deep.as_str()],
            "attempt {attempt}"
        );
        assert!(
            unsyncable[0]
                .1
                .starts_with("not syncable with --name-encoding none"),
            "{unsyncable:?}"
        );
        assert!(
            unsyncable[1].1.contains("Azure allows 1024"),
            "{unsyncable:?}"
        );
    }
    assert_eq!(blobs.names(&container), ["fine.txt"]);
}
