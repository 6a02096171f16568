//! Files that change while they upload, and processes killed mid-transfer: nothing partial
//! is ever visible, and the next run converges.

use std::io::Write as _;
use std::time::Duration;

use blobsync_tests::*;

#[test]
fn a_file_that_changes_while_uploading_fails_and_uploads_next_time() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("changing");
    let src = tempfile::tempdir().unwrap();
    let path = write(src.path(), "growing.log", &bytes(5, 12 * 1024 * 1024));
    write(src.path(), "stable.txt", b"stable");
    // 16 Mbit/s: about six seconds for the 12 MiB file in 1 MiB blocks. With 8 MiB of
    // buffers, reading cannot run more than 8 blocks ahead of the upload, so the file is
    // still being read when it changes.
    let child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "16",
        "--block-size-mb",
        "1",
        "--buffer-mb",
        "8",
    ]);
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"appended while uploading\n")
        .unwrap();
    let run: Run = child.wait_with_output().unwrap().into();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("growing.log") && run.stderr.contains("changed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        blobs.names(&container),
        ["stable.txt"],
        "the changed file is not half-uploaded"
    );
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["growing.log"]);
    assert_eq!(
        blobs.get(&container, "growing.log"),
        std::fs::read(&path).unwrap()
    );
}

#[test]
fn a_killed_upload_leaves_no_partial_blob_and_the_next_run_completes() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("killup");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(9, 6 * 1024 * 1024);
    write(src.path(), "big.bin", &data);
    let mut child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "8",
        "--block-size-mb",
        "1",
    ]);
    assert!(
        wait_for(Duration::from_secs(20), || blobs
            .container_exists(&container)),
        "the upload started"
    );
    std::thread::sleep(Duration::from_millis(2000));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        blobs.names(&container).is_empty(),
        "staged blocks are not a blob"
    );
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let listed = blobs.list(&container);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].md5, md5_hex(&data));
}

#[test]
fn cap_mbps_limits_the_bandwidth() {
    let az = azurite();
    let container = unique_container("cap");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "two-mib.bin", &bytes(1, 2 * 1024 * 1024));
    let started = std::time::Instant::now();
    // 2 MiB at 8 Mbit/s (1 MB/s, with one second of burst) needs at least one second.
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "8",
        "--block-size-mb",
        "1",
    ])
    .ok();
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "0",
    ]);
    assert_eq!(run.code, 2);
}

/// A 96 MiB upload killed half way: the next run finds the blocks the first staged (their
/// IDs come from each block's position and content) and sends only the missing ones.
#[test]
fn a_killed_large_upload_resends_at_most_60_percent_of_its_blocks() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("resumeup");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(96, 96 << 20);
    write(src.path(), "big.bin", &data);
    let args = ["--block-size-mb", "4", "--concurrency", "4"];
    let mut child = spawn_blobsync(
        &[
            &[
                "sync",
                s(src.path()),
                &az.url(&container),
                "--cap-mbps",
                "160",
            ][..],
            &args,
        ]
        .concat(),
    );
    assert!(
        wait_for(Duration::from_secs(60), || {
            blobs.container_exists(&container)
                && uncommitted_blocks(az, &container, "big.bin") >= 12
        }),
        "half the blocks were staged"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(blobs.names(&container).is_empty(), "nothing committed");

    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    blobsync(&[&["sync", s(src.path()), &through][..], &args].concat()).ok();
    let sent = proxy.stats().request_body_bytes;
    assert!(
        sent <= (96 << 20) * 6 / 10,
        "the rerun sent {sent} bytes of 96 MiB"
    );
    assert_eq!(blobs.get(&container, "big.bin"), data);
    assert_eq!(blobs.list(&container)[0].md5, md5_hex(&data));
    assert_eq!(committed_blocks(az, &container, "big.bin"), 24);
}

/// A download killed half way is continued from the blocks its temporary file holds.
#[test]
fn a_killed_download_is_continued_not_started_again() {
    let az = azurite();
    let container = unique_container("resumedl");
    let src = tempfile::tempdir().unwrap();
    let data = bytes(24, 24 << 20);
    write(src.path(), "big.bin", &data);
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();

    let dst = tempfile::tempdir().unwrap();
    let mut child = spawn_blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--cap-mbps",
        "64",
        "--block-size-mb",
        "1",
    ]);
    let progress = || {
        files(dst.path())
            .into_iter()
            .find(|f| f.contains(".progress"))
            .and_then(|f| std::fs::read_to_string(dst.path().join(f)).ok())
            .map_or(0, |t| t.lines().count())
    };
    assert!(
        wait_for(Duration::from_secs(60), || progress() >= 10),
        "the download got going"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let done = progress();

    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    let run = blobsync_json(&["sync", &through, s(dst.path()), "--block-size-mb", "1"]).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("download"), ["big.bin"]);
    let fetched = proxy.stats().response_body_bytes;
    assert!(
        fetched <= (24 << 20) - (done as u64 - 2) * (1 << 20),
        "{done} blocks were done; the rerun fetched {fetched} bytes"
    );
    assert_eq!(std::fs::read(dst.path().join("big.bin")).unwrap(), data);
    assert_eq!(files(dst.path()), ["big.bin"], "nothing temporary is left");
}
