//! `blobsync check`: both sides listed through the same filters and comparator; every
//! difference printed; exit 0 when they match, 1 when they differ.

use blobsync_tests::*;

#[test]
fn check_reports_each_difference_and_exits_by_the_result() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("check");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "same.txt", b"same");
    write(src.path(), "ledger.csv", b"2024,alice,100\n");
    write(src.path(), "skip.tmp", b"excluded");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();

    let same = blobsync_json(&["check", s(src.path()), &az.url(&container)]).code(0);
    assert_eq!(same.total("up_to_date"), 3);
    assert_eq!(same.status(), "Completed");

    // One byte changed, same size and time: only content comparison sees it.
    let ledger = src.path().join("ledger.csv");
    let mtime = mtime_ns(&ledger);
    std::fs::write(&ledger, b"2024,alice,900\n").unwrap();
    set_mtime(
        &ledger,
        (mtime / 1_000_000_000) as u64,
        (mtime % 1_000_000_000) as u32,
    );
    let by_time = blobsync(&["check", s(src.path()), &az.url(&container)]);
    assert_eq!(by_time.code, 0, "size and time match: {}", by_time.stdout);
    let by_content = blobsync_json(&[
        "check",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
        "--download",
    ])
    .code(1);
    let differing = by_content.differences("differs");
    assert!(
        differing.len() == 1 && differing[0].ends_with("ledger.csv"),
        "{}",
        by_content.dump()
    );
    assert_eq!(by_content.total("differ"), 1);

    // Only at one side; --one-way leaves out what is only at the destination.
    write(src.path(), "new.txt", b"new");
    blobs.put(&container, "extra.txt", b"only in the container", &[]);
    let both = blobsync_json(&[
        "check",
        s(src.path()),
        &az.url(&container),
        "--exclude-pattern",
        "*.tmp",
    ])
    .code(1);
    let at_source = both.differences("only-at-source");
    assert!(
        at_source.len() == 1 && at_source[0].ends_with("new.txt"),
        "{}",
        both.dump()
    );
    let at_destination = both.differences("only-at-destination");
    assert!(
        at_destination.len() == 1 && at_destination[0].ends_with("extra.txt"),
        "{}",
        both.dump()
    );
    assert_eq!(both.total("excluded"), 2, "{}", both.dump());
    let one_way = blobsync_json(&["check", s(src.path()), &az.url(&container), "--one-way"]);
    assert_eq!(one_way.total("only_at_destination"), 0);
    assert_eq!(one_way.total("only_at_source"), 1);
    assert!(one_way.differences("only-at-destination").is_empty());
    assert_eq!(one_way.differences("only-at-source").len(), 1);

    // JSON: one object per difference, and the summary; nothing changed.
    let json = blobsync(&[
        "check",
        s(src.path()),
        &az.url(&container),
        "--output-type",
        "json",
    ]);
    let lines = json_lines(&json.stdout);
    let kinds: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "difference")
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"only-at-source") && kinds.contains(&"only-at-destination"));
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(summary["status"], "Differences");
    assert_eq!(summary["exit_code"], 1);
    assert!(!blobs.names(&container).contains(&"new.txt".to_string()));
    assert!(blobs.names(&container).contains(&"extra.txt".to_string()));

    let refused = blobsync(&[
        "check",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
    ]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}
