//! The safety invariants, tried as an attacker and a careless user would: overlapping
//! locations, links in and out of the destination, case-insensitive folders, names
//! another tool stored raw, names that are not UTF-8. Every test checks that a folder
//! beside the root is unchanged (content, mode, times), that the source is unchanged,
//! and that what the run says it did is what the destination holds.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use blobsync_tests::*;

fn names(blobs: &Blobs, container: &str) -> Vec<String> {
    blobs.names(container)
}

/// A new, empty container.
fn fresh(blobs: &Blobs, prefix: &str) -> String {
    let container = unique_container(prefix);
    blobs.create_container(&container);
    container
}

#[test]
fn overlapping_blob_locations_are_refused_before_anything_is_listed() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "overlap");
    blobs.put(&container, "a.txt", b"top", &[]);
    blobs.put(&container, "sub/a.txt", b"nested", &[]);
    let before = blobs.list(&container);
    let c = az.url(&container);
    let sub = format!("{c}/sub");
    // The same account spelled with another loopback host.
    let other_spelling = sub.replace("127.0.0.1", "localhost");
    for (source, destination, extra) in [
        (sub.as_str(), c.as_str(), "--delete-destination=true"),
        (c.as_str(), sub.as_str(), "--delete-destination=true"),
        (
            other_spelling.as_str(),
            c.as_str(),
            "--delete-destination=true",
        ),
        (c.as_str(), c.as_str(), "--dry-run"),
        (sub.as_str(), c.as_str(), "--dry-run"),
    ] {
        let run = blobsync_json(&["sync", source, destination, extra]).code(2);
        let errors = run.errors().join("\n");
        assert!(
            errors.contains("overlap"),
            "{source} → {destination}: {errors}"
        );
        assert!(
            errors.contains("--exclude-path") || source == destination,
            "{errors}"
        );
        assert_eq!(
            blobs.list(&container),
            before,
            "{source} → {destination}: untouched"
        );
    }
    let check = blobsync_json(&["check", &sub, &c]).code(2);
    assert!(check.errors().join("").contains("overlap"));
}

#[test]
fn an_overlap_the_filters_exclude_on_both_sides_is_allowed_and_nests_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "overlapok");
    blobs.put(&container, "a.txt", b"top", &[]);
    let c = az.url(&container);
    let sub = format!("{c}/mirror");
    for _ in 0..2 {
        blobsync_json(&["sync", &c, &sub, "--exclude-path", "mirror"]).ok();
    }
    assert_eq!(names(&blobs, &container), ["a.txt", "mirror/a.txt"]);
}

/// A container holding a link blob `lnk` to a folder outside, and a blob `lnk/pwn.txt`.
fn link_trap(blobs: &Blobs, container: &str, outside: &Path) {
    blobs.put(
        container,
        "lnk",
        outside.as_os_str().as_bytes(),
        &[("is_symlink", "true")],
    );
    blobs.put(container, "lnk/pwn.txt", b"written through a link", &[]);
    blobs.put(container, "plain.txt", b"fine", &[]);
}

#[test]
fn a_link_blob_never_carries_a_download_outside_the_folder() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "linktrap");
    let scratch = tempfile::tempdir().unwrap();
    let outside = sentinel(scratch.path());
    let before = snapshot(&outside);
    link_trap(&blobs, &container, &outside);
    let source = blobs.list(&container);
    // Transfers run concurrently: try several fresh folders so either order happens.
    for round in 0..5 {
        let dl = scratch.path().join(format!("dl{round}"));
        let run = blobsync_json(&["sync", &az.url(&container), s(&dl), "--preserve-symlinks"]).ok();
        assert_eq!(
            snapshot(&outside),
            before,
            "round {round}: nothing outside changed"
        );
        let unsyncable = run.unsyncable();
        assert_eq!(unsyncable.len(), 1, "round {round}: {unsyncable:?}");
        assert_eq!(unsyncable[0].0, "lnk/pwn.txt");
        assert!(unsyncable[0].1.contains("\"lnk\""), "{unsyncable:?}");
        assert_eq!(run.done("download"), ["lnk", "plain.txt"]);
        assert_eq!(std::fs::read_link(dl.join("lnk")).unwrap(), outside);
        assert_eq!(blobs.list(&container), source, "the source is untouched");
    }
}

#[test]
fn a_link_already_in_the_destination_is_never_written_through() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "linkindst");
    let scratch = tempfile::tempdir().unwrap();
    let outside = sentinel(scratch.path());
    blobs.put(&container, "lnk/pwn.txt", b"written through a link", &[]);
    blobs.put(&container, "victim.txt", b"replaces the link's target", &[]);
    blobs.put(
        &container,
        "plain.txt",
        b"fine",
        &[("permissions", "33279")],
    );
    let dl = scratch.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    std::os::unix::fs::symlink("../outside", dl.join("lnk")).unwrap();
    std::os::unix::fs::symlink("../outside/victim.txt", dl.join("victim.txt")).unwrap();
    let before = snapshot(&outside);
    for flags in [
        &[][..],
        &["--delete-destination=true"],
        &["--preserve-posix-properties"],
        &["--preserve-symlinks"],
    ] {
        let mut args = vec!["sync", az.url(&container).leak() as &str, s(&dl)];
        args.extend_from_slice(flags);
        let run = blobsync_json(&args).ok();
        assert_eq!(
            snapshot(&outside),
            before,
            "{flags:?}: nothing outside changed"
        );
        assert_eq!(run.total("failed"), 0, "{flags:?}");
        assert!(
            run.skipped().contains(&"lnk/pwn.txt".to_string()),
            "{flags:?}: reported as skipped: {}",
            run.dump()
        );
        assert_eq!(
            std::fs::read_link(dl.join("lnk")).unwrap(),
            Path::new("../outside")
        );
    }
}

#[test]
fn a_hard_link_to_a_file_outside_is_replaced_never_changed() {
    use std::os::unix::fs::PermissionsExt;
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "hardlink");
    let scratch = tempfile::tempdir().unwrap();
    let outside = sentinel(scratch.path());
    blobs.put(
        &container,
        "shared.txt",
        b"the blob's content",
        &[("permissions", "33279"), ("posix_owner", "0")],
    );
    let dl = scratch.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    std::fs::hard_link(outside.join("victim.txt"), dl.join("shared.txt")).unwrap();
    let before = snapshot(&outside);
    blobsync_json(&[
        "sync",
        &az.url(&container),
        s(&dl),
        "--preserve-posix-properties",
    ])
    .ok();
    assert_eq!(snapshot(&outside), before);
    assert_eq!(
        std::fs::read(dl.join("shared.txt")).unwrap(),
        b"the blob's content"
    );
    let mode = std::fs::metadata(dl.join("shared.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o777, "the new file got the stored mode");
}

#[test]
fn a_case_insensitive_destination_keeps_the_first_of_each_pair_on_every_run() {
    let Some(mount) = required(
        "safety::a_case_insensitive_destination_keeps_the_first_of_each_pair_on_every_run",
        Mount::exfat(),
    ) else {
        return;
    };
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "casefold");
    for (name, data) in [
        ("A.txt", "upper"),
        ("a.txt", "lower"),
        ("README", "caps"),
        ("Readme", "title"),
        ("Dir/x", "in Dir"),
        ("dir/y", "in dir"),
        ("ok.txt", "fine"),
    ] {
        blobs.put(&container, name, data.as_bytes(), &[]);
    }
    let source = blobs.list(&container);
    let dl = mount.path().join("dl");
    for round in 0..2 {
        let run = blobsync_json(&["sync", &az.url(&container), s(&dl)]).ok();
        let unsyncable: Vec<String> = run.unsyncable().into_iter().map(|(p, _)| p).collect();
        assert_eq!(unsyncable, ["Readme", "a.txt", "dir/y"], "round {round}");
        assert_eq!(run.total("failed"), 0, "round {round}");
        if round == 0 {
            assert_eq!(run.done("download"), ["A.txt", "Dir/x", "README", "ok.txt"]);
        } else {
            assert_eq!(run.total("copied"), 0, "the second run is a no-op");
            assert_eq!(run.total("up_to_date"), 4);
        }
    }
    assert_eq!(std::fs::read(dl.join("A.txt")).unwrap(), b"upper");
    assert_eq!(std::fs::read(dl.join("readme")).unwrap(), b"caps");
    assert_eq!(files(&dl), ["A.txt", "Dir/x", "README", "ok.txt"]);
    assert_eq!(blobs.list(&container), source);
}

#[test]
fn raw_blob_names_download_replace_and_delete_under_the_name_listed() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "rawnames");
    blobs.put(&container, "file.", b"raw trailing dot", &[]);
    blobs.put(&container, "dir./f", b"raw folder dot", &[]);
    blobs.put(&container, "a/../b", b"raw dot-dot", &[]);
    blobs.put(&container, "..", b"a name no URL can carry", &[]);
    let dl = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let run = blobsync_json(&["sync", &az.url(&container), s(dl.path())]).ok();
        let unsyncable: Vec<String> = run.unsyncable().into_iter().map(|(p, _)| p).collect();
        assert_eq!(unsyncable, ["..", "a/../b"], "round {round}");
        assert_eq!(run.total("copied"), if round == 0 { 2 } else { 0 });
    }
    assert_eq!(
        std::fs::read(dl.path().join("file.")).unwrap(),
        b"raw trailing dot"
    );
    assert_eq!(
        std::fs::read(dl.path().join("dir./f")).unwrap(),
        b"raw folder dot"
    );
    // A changed file replaces the blob it was listed as, not a new encoded name.
    let changed = write(dl.path(), "file.", b"changed here");
    set_mtime(&changed, 1_800_000_000, 0);
    let up = blobsync_json(&["sync", s(dl.path()), &az.url(&container)]).ok();
    assert_eq!(up.done("upload"), ["file."]);
    assert_eq!(blobs.get(&container, "file."), b"changed here");
    assert!(!names(&blobs, &container).contains(&"file．".to_string()));
    // Deletes address the listed names, and count only what is gone.
    std::fs::remove_file(dl.path().join("file.")).unwrap();
    let del = blobsync_json(&[
        "sync",
        s(dl.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(del.done("delete"), ["a/../b", "file."]);
    assert_eq!(del.total("deleted"), 2);
    assert_eq!(names(&blobs, &container), ["..", "dir./f"]);
}

#[test]
fn a_raw_name_beside_its_encoded_twin_is_a_collision() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "rawtwin");
    blobs.put(&container, "file.", b"raw", &[]);
    blobs.put(&container, "file．", b"encoded", &[]);
    let dl = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let run = blobsync_json(&["sync", &az.url(&container), s(dl.path())]).ok();
        let unsyncable = run.unsyncable();
        assert_eq!(unsyncable.len(), 1, "round {round}: {unsyncable:?}");
        assert_eq!(unsyncable[0].0, "file.");
        assert!(
            unsyncable[0].1.contains("listed first is synced"),
            "{unsyncable:?}"
        );
    }
    assert_eq!(std::fs::read(dl.path().join("file.")).unwrap(), b"raw");
}

#[test]
fn a_name_that_is_not_utf8_travels_as_rclone_writes_it_and_deletes_still_happen() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = fresh(&blobs, "badutf8");
    blobs.put(&container, "gone.txt", b"not at the source", &[]);
    let src = tempfile::tempdir().unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff.txt");
    std::fs::write(src.path().join(bad), b"latin-1 name").unwrap();
    write(src.path(), "ok.txt", b"fine");
    let up = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(up.total("deleted"), 1, "deletes are not disabled");
    assert_eq!(names(&blobs, &container), ["bad‛FF.txt", "ok.txt"]);
    let dl = tempfile::tempdir().unwrap();
    blobsync_json(&["sync", &az.url(&container), s(dl.path())]).ok();
    assert_eq!(std::fs::read(dl.path().join(bad)).unwrap(), b"latin-1 name");
    let again = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(again.total("copied"), 0);
    let back = blobsync_json(&["sync", &az.url(&container), s(dl.path())]).ok();
    assert_eq!(back.total("copied"), 0);
}

#[test]
fn a_download_to_exfat_keeps_its_time_after_close_and_a_rerun_copies_nothing() {
    let Some(mount) = required(
        "safety::a_download_to_exfat_keeps_its_time_after_close_and_a_rerun_copies_nothing",
        Mount::exfat(),
    ) else {
        return;
    };
    let az = azurite();
    let container = unique_container("exfattime");
    let src = tempfile::tempdir().unwrap();
    let p = write(src.path(), "old.txt", b"written long ago");
    set_mtime(&p, 1_500_000_000, 0);
    blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    let dl = mount.path().join("dl");
    blobsync_json(&["sync", &az.url(&container), s(&dl)]).ok();
    assert_eq!(mtime_ns(&dl.join("old.txt")), 1_500_000_000_000_000_000);
    let again = blobsync_json(&["sync", &az.url(&container), s(&dl)]).ok();
    assert_eq!(again.total("copied"), 0);
    assert_eq!(again.total("up_to_date"), 1);
}

#[test]
fn a_download_to_a_folder_that_cannot_size_files_completes_and_leaves_nothing_partial() {
    let Some(mount) = required(
        "safety::a_download_to_a_folder_that_cannot_size_files_completes_and_leaves_nothing_partial",
        Mount::fusefat(),
    ) else {
        return;
    };
    let az = azurite();
    let container = unique_container("fusefat");
    let src = tempfile::tempdir().unwrap();
    let big = bytes(3, 3 * 1024 * 1024 + 17);
    write(src.path(), "big.bin", &big);
    write(src.path(), "dir/small.txt", b"small");
    blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    let dl = mount.path().join("dl");
    let run = blobsync_json(&["sync", &az.url(&container), s(&dl), "--block-size-mb", "1"]).ok();
    assert_eq!(run.done("download"), ["big.bin", "dir/small.txt"]);
    assert_eq!(std::fs::read(dl.join("big.bin")).unwrap(), big);
    assert_eq!(
        files(&dl),
        ["big.bin", "dir/small.txt"],
        "nothing partial is left"
    );
    let again = blobsync_json(&["sync", &az.url(&container), s(&dl)]).ok();
    assert_eq!(again.total("copied"), 0);
}

#[test]
fn a_read_only_destination_counts_each_file_once() {
    let Some(mount) = required(
        "safety::a_read_only_destination_counts_each_file_once",
        Mount::read_only(),
    ) else {
        return;
    };
    let az = azurite();
    let container = unique_container("readonly");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "one.txt", b"1");
    write(src.path(), "two.txt", b"2");
    blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    // The folder cannot be made: one error for the run, and nothing attempted.
    let missing =
        blobsync_json(&["sync", &az.url(&container), s(&mount.path().join("new"))]).code(1);
    assert_eq!(missing.errors().len(), 1, "{}", missing.dump());
    assert!(
        missing.errors()[0].contains("Read-only file system"),
        "{}",
        missing.dump()
    );
    assert_eq!(missing.total("failed"), 0);
    // The folder is there but cannot be written: each file fails, once.
    let existing = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(&mount.path().join("existing")),
    ])
    .code(1);
    assert_eq!(existing.failed("download"), ["one.txt", "two.txt"]);
    assert_eq!(existing.total("failed"), 2);
}

#[test]
fn a_users_file_that_looks_like_a_temporary_download_is_data() {
    let az = azurite();
    let container = unique_container("lookalike");
    let src = tempfile::tempdir().unwrap();
    let lookalike = ".notes.txt.999-0.blobsync-partial";
    write(src.path(), lookalike, b"my notes");
    let up = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(up.done("upload"), [lookalike], "uploaded like any file");
    let dl = tempfile::tempdir().unwrap();
    write(dl.path(), lookalike, b"my local notes");
    write(dl.path(), "dir/.x.1-1.blobsync-partial", b"mine too");
    let down = blobsync_json(&["sync", &az.url(&container), s(dl.path())]).ok();
    assert_eq!(down.done("download"), [lookalike], "synced like any file");
    assert_eq!(
        std::fs::read(dl.path().join(lookalike)).unwrap(),
        b"my notes"
    );
    assert_eq!(
        std::fs::read(dl.path().join("dir/.x.1-1.blobsync-partial")).unwrap(),
        b"mine too",
        "never removed as a leftover"
    );
}
