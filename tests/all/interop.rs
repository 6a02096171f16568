//! Interoperation with the real azcopy (10.32.2): containers written by either tool are
//! in sync for the other under MD5 comparison.

use blobsync_tests::*;

fn tree() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "small.txt", b"small file");
    write(src.path(), "nested/dir/data.json", b"{\"k\":\"v\"}");
    // Above azcopy's 8 MiB single-request limit: uploaded in blocks by both tools.
    write(
        src.path(),
        "big/archive.bin",
        &bytes(21, 9 * 1024 * 1024 + 3),
    );
    src
}

fn azcopy_transfers(run: &Run) -> u64 {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Total Number of Copy Transfers: "))
        .unwrap_or_else(|| {
            panic!(
                "no transfer count in azcopy's output:\n{}\n{}",
                run.stdout, run.stderr
            )
        })
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_container_written_by_azcopy_put_md5_is_in_sync_for_blobsync_md5() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("from-azcopy");
    blobs.create_container(&container);
    let src = tree();
    let run = azcopy(&[
        "sync",
        s(src.path()),
        &az.sas_url(&container, "racwdl"),
        "--from-to",
        "LocalBlob",
        "--put-md5",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(azcopy_transfers(&run), 3);
    assert!(
        blobs.list(&container).iter().all(|b| !b.md5.is_empty()),
        "azcopy stored MD5s"
    );

    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--compare-hash=MD5",
    ])
    .ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    assert_eq!(run.total("up_to_date"), 3);
}

#[test]
fn a_container_written_by_blobsync_is_in_sync_for_azcopy_md5() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("from-blobsync");
    let src = tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let before = blobs.list(&container);
    let run = azcopy(&[
        "sync",
        s(src.path()),
        &az.sas_url(&container, "racwdl"),
        "--from-to",
        "LocalBlob",
        "--compare-hash=MD5",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(azcopy_transfers(&run), 0, "{}", run.stdout);
    assert_eq!(blobs.list(&container), before, "azcopy rewrote nothing");
}
