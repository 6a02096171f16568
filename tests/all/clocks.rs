//! File systems that keep coarse modification times: a loop-mounted ext2 with 128-byte
//! inodes keeps whole seconds (and no time past 2038). Needs root (to mount): see
//! [`required`].

use blobsync_tests::*;

#[test]
fn whole_second_file_systems_round_trip_without_copying_again() {
    let Some(mount) = required(
        "clocks::whole_second_file_systems_round_trip_without_copying_again",
        Mount::ext2_coarse(),
    ) else {
        return;
    };
    // The mount really keeps whole seconds.
    let probe = write(mount.path(), "probe", b"x");
    set_mtime(&probe, 1_700_000_001, 123_456_789);
    assert_eq!(
        mtime_ns(&probe) % 1_000_000_000,
        0,
        "not a whole-second file system"
    );
    std::fs::remove_file(&probe).unwrap();

    let az = azurite();
    let container = unique_container("coarse");
    // Files with nanosecond times, uploaded from a nanosecond file system.
    let fine = tempfile::tempdir().unwrap();
    for (i, name) in ["a.txt", "dir/b.txt", "c.bin"].iter().enumerate() {
        let p = write(fine.path(), name, format!("content {i}").as_bytes());
        set_mtime(&p, 1_700_000_100 + i as u64, 123_456_789);
    }
    blobsync(&["sync", s(fine.path()), &az.url(&container)]).ok();

    let local = mount.path().join("restore");
    let first = blobsync_json(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(first.total("copied"), 3);
    assert_eq!(first.done("download"), ["a.txt", "c.bin", "dir/b.txt"]);
    let second = blobsync_json(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(
        second.total("copied"),
        0,
        "download again: {}",
        second.dump()
    );
    assert_eq!(second.total("up_to_date"), 3);
    // And back up from the coarse file system: nothing differs either.
    let up = blobsync_json(&["sync", s(&local), &az.url(&container)]).ok();
    assert_eq!(up.total("copied"), 0, "upload again: {}", up.dump());

    // A real change is still seen.
    let changed = write(&local, "a.txt", b"changed content");
    set_mtime(&changed, 1_700_000_500, 0);
    let run = blobsync_json(&["sync", s(&local), &az.url(&container)]).ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["a.txt"]);
}

#[test]
fn a_time_past_2038_on_a_file_system_that_ends_there_is_downloaded_once() {
    let Some(mount) = required(
        "clocks::a_time_past_2038_on_a_file_system_that_ends_there_is_downloaded_once",
        Mount::ext2_coarse(),
    ) else {
        return;
    };
    let az = azurite();
    let container = unique_container("y2038");
    let src = tempfile::tempdir().unwrap();
    let p = write(src.path(), "future.txt", b"from 2040");
    set_mtime(&p, 2_209_000_000, 0);
    blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    let local = mount.path().join("restore");
    let first = blobsync_json(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(first.total("copied"), 1);
    assert_eq!(
        mtime_ns(&local.join("future.txt")),
        i32::MAX as i64 * 1_000_000_000,
        "the file system keeps its last second"
    );
    let second = blobsync_json(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(second.total("copied"), 0, "not downloaded again");
    assert_eq!(second.total("up_to_date"), 1);
}
