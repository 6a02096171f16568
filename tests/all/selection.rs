//! Time and size filters (azcopy's `--include-after`/`--include-before`, rclone's
//! `--max-age`/`--min-age`/`--max-size`/`--min-size`) and comparator switches
//! (`--size-only`, `--update`, `--ignore-existing`, `--mirror-mode`, `--missing-md5`).

use std::time::{SystemTime, UNIX_EPOCH};

use blobsync_tests::*;

/// 2020-06-01T00:00:00Z.
const OLD: u64 = 1_590_969_600;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `old.txt` (2020), `new.txt` (an hour ago), `big.bin` (2 MiB, a day ago), `mid.bin`
/// (5,000 bytes, a day ago).
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    set_mtime(&write(dir.path(), "old.txt", b"from 2020"), OLD, 0);
    set_mtime(&write(dir.path(), "new.txt", b"recent"), now() - 3600, 0);
    set_mtime(
        &write(dir.path(), "big.bin", &bytes(1, 2 << 20)),
        now() - 86_400,
        0,
    );
    set_mtime(
        &write(dir.path(), "mid.bin", &bytes(2, 5_000)),
        now() - 86_400,
        0,
    );
    dir
}

fn uploaded(extra: &[&str]) -> Vec<String> {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("select");
    let src = tree();
    let url = az.url(&container);
    let mut args = vec!["sync", s(src.path()), &url];
    args.extend(extra);
    blobsync(&args).ok();
    let mut names = if blobs.container_exists(&container) {
        blobs.names(&container)
    } else {
        Vec::new()
    };
    names.sort();
    names
}

#[test]
fn time_filters_pick_files_by_modification_time() {
    assert_eq!(
        uploaded(&["--include-after", "2025-01-01"]),
        ["big.bin", "mid.bin", "new.txt"]
    );
    assert_eq!(
        uploaded(&["--include-before", "2021-01-01T00:00:00Z"]),
        ["old.txt"]
    );
    assert_eq!(uploaded(&["--max-age", "2h"]), ["new.txt"]);
    assert_eq!(uploaded(&["--min-age", "30d"]), ["old.txt"]);
    assert_eq!(
        uploaded(&["--max-age", "2d", "--min-age", "2h"]),
        ["big.bin", "mid.bin"]
    );
}

#[test]
fn size_filters_take_si_and_iec_suffixes() {
    assert_eq!(
        uploaded(&["--max-size", "10k"]),
        ["mid.bin", "new.txt", "old.txt"]
    );
    assert_eq!(uploaded(&["--min-size", "1M"]), ["big.bin"]);
    assert_eq!(uploaded(&["--max-size", "4KB"]), ["new.txt", "old.txt"]);
    assert_eq!(
        uploaded(&["--min-size", "4KiB", "--max-size", "2MiB"]),
        ["big.bin", "mid.bin"]
    );
}

#[test]
fn files_a_filter_excludes_at_the_destination_are_not_deleted() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("agedel");
    let src = tree();
    let url = az.url(&container);
    blobsync(&["sync", s(src.path()), &url]).ok();
    std::fs::remove_file(src.path().join("old.txt")).unwrap();
    std::fs::remove_file(src.path().join("new.txt")).unwrap();
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &url,
        "--max-age",
        "30d",
        "--delete-destination=true",
    ])
    .ok();
    assert_eq!(run.total("deleted"), 1, "{}", run.dump());
    assert_eq!(run.done("delete"), ["new.txt"]);
    let mut names = blobs.names(&container);
    names.sort();
    assert_eq!(
        names,
        ["big.bin", "mid.bin", "old.txt"],
        "the 2020 blob stays"
    );
}

#[test]
fn bad_filter_values_are_usage_errors_naming_the_flag() {
    let src = tree();
    let url = azurite().url(&unique_container("badsel"));
    for (flag, value) in [
        ("--max-size", "10XB"),
        ("--min-size", "1.2.3"),
        ("--include-after", "yesterday"),
        ("--max-age", "3 fortnights"),
    ] {
        let run = blobsync(&["sync", s(src.path()), &url, flag, value]);
        assert_eq!(run.code, 2, "{flag} {value}: {}", run.stderr);
        let key = flag.trim_start_matches("--");
        assert!(
            run.stderr.contains(key) && run.stderr.contains(value),
            "{flag} {value}: {}",
            run.stderr
        );
    }
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &url,
        "--min-size",
        "2M",
        "--max-size",
        "1M",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_manifests_settings_for_the_built_in_filter_take_the_flags_grammar() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = manifest(
        dir.path(),
        "[[filter]]\nsource = \"builtin:glob-filter\"\n\
         config = { max-size = \"4KB\", max-age = \"1.5d\" }\n",
    );
    assert_eq!(uploaded(&["--plugins", &plugins]), ["new.txt"]);
    let bad = manifest_named(
        dir.path(),
        "bad.toml",
        "[[filter]]\nname = \"small\"\nsource = \"builtin:glob-filter\"\n\
         config = { max-size = \"10XB\" }\n",
    );
    let src = tree();
    let url = azurite().url(&unique_container("badman"));
    let run = blobsync(&["sync", s(src.path()), &url, "--plugins", &bad]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.toml")
            && run.stderr.contains("`small`")
            && run.stderr.contains("`max-size`: \"10XB\" is not a size"),
        "{}",
        run.stderr
    );
}

/// Uploads `tree()`, then changes it as `change` says, and syncs again with `flags`;
/// returns what the second run copied, by name.
fn second_run(change: impl FnOnce(&std::path::Path), flags: &[&str]) -> (Outcome, Blobs, String) {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("switch");
    let src = tree();
    let url = az.url(&container);
    blobsync(&["sync", s(src.path()), &url]).ok();
    change(src.path());
    let mut args = vec!["sync", s(src.path()), &url];
    args.extend(flags);
    let run = blobsync_json(&args).ok();
    (run, blobs, container)
}

#[test]
fn size_only_ignores_times_and_content_of_the_same_size() {
    let (run, blobs, container) = second_run(
        |dir| {
            // Same size, other bytes, a new time.
            write(dir, "old.txt", b"FROM 2020");
            set_mtime(&write(dir, "new.txt", b"recent, longer"), now(), 0);
        },
        &["--size-only"],
    );
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["new.txt"]);
    assert_eq!(blobs.get(&container, "old.txt"), b"from 2020");
    assert_eq!(blobs.get(&container, "new.txt"), b"recent, longer");
}

#[test]
fn update_skips_files_newer_at_the_destination() {
    let (run, blobs, container) = second_run(
        |dir| {
            // An older version put back at the source; and a genuinely newer file.
            set_mtime(&write(dir, "new.txt", b"older!"), OLD, 0);
            set_mtime(&write(dir, "mid.bin", b"newer content"), now(), 0);
        },
        &["--update", "--log-level", "debug"],
    );
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["mid.bin"]);
    assert_eq!(blobs.get(&container, "new.txt"), b"recent");
    assert_eq!(blobs.get(&container, "mid.bin"), b"newer content");
    assert!(
        run.stderr.contains("destination is newer (--update)"),
        "the skip says why: {}",
        run.stderr
    );
}

#[test]
fn ignore_existing_copies_only_new_files() {
    let (run, blobs, container) = second_run(
        |dir| {
            write(dir, "new.txt", b"changed, but it exists there");
            write(dir, "added.txt", b"new");
        },
        &["--ignore-existing"],
    );
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["added.txt"]);
    assert_eq!(blobs.get(&container, "new.txt"), b"recent");
    assert_eq!(blobs.get(&container, "added.txt"), b"new");
}

#[test]
fn mirror_mode_copies_everything_that_exists_on_both_sides() {
    let (run, _, _) = second_run(|_| {}, &["--mirror-mode"]);
    assert_eq!(run.total("copied"), 4, "{}", run.dump());
    assert_eq!(
        run.done("upload"),
        ["big.bin", "mid.bin", "new.txt", "old.txt"]
    );
    let (run, _, _) = second_run(|_| {}, &["--mirror-mode=false"]);
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
}

/// `--modify-window` and a manifest's `modify-window` reach the built-in comparator as the
/// same duration: a time moved by a minute is within `1m30s`, not within `30s`.
#[test]
fn modify_window_from_a_flag_or_a_manifest_tolerates_a_moved_time() {
    let move_a_minute = |dir: &std::path::Path| {
        let path = dir.join("new.txt");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let secs = modified.duration_since(UNIX_EPOCH).unwrap().as_secs();
        set_mtime(&path, secs + 60, 0);
    };
    let (run, _, _) = second_run(move_a_minute, &["--modify-window", "1m30s"]);
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    let (run, _, _) = second_run(move_a_minute, &["--modify-window", "30s"]);
    assert_eq!(run.done("upload"), ["new.txt"], "{}", run.dump());
    let dir = tempfile::tempdir().unwrap();
    let plugins = manifest(
        dir.path(),
        "[comparator]\nsource = \"builtin:mtime-compare\"\nconfig = { modify-window = \"1m30s\" }\n",
    );
    let (run, _, _) = second_run(move_a_minute, &["--plugins", &plugins]);
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
}

#[test]
fn switches_that_cannot_go_together_are_refused() {
    let src = tree();
    let url = azurite().url(&unique_container("conflict"));
    for flags in [
        vec!["--size-only", "--compare-hash=MD5"],
        vec!["--mirror-mode", "--compare-hash=MD5"],
        vec!["--mirror-mode", "--update"],
        vec!["--size-only", "--update"],
    ] {
        let mut args = vec!["sync", s(src.path()), &url];
        args.extend(&flags);
        let run = blobsync(&args);
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
    }
}

#[test]
fn missing_md5_size_time_compares_size_and_time_for_blobs_without_one() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("md5st");
    blobs.create_container(&container);
    let src = tree();
    // Written by another tool: no Content-MD5, no stored time (Last-Modified is now).
    for name in ["old.txt", "new.txt", "mid.bin", "big.bin"] {
        let data = std::fs::read(src.path().join(name)).unwrap();
        blobs.put_without_md5(&container, name, &data);
    }
    assert_eq!(blobs.head(&container, "old.txt").get("content-md5"), None);
    let url = az.url(&container);
    let args = [
        "sync",
        s(src.path()),
        &url,
        "--compare-hash=MD5",
        "--missing-md5=size-time",
    ];
    let run = blobsync_json(&args).ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    // The same size, newer than the blob: copied.
    set_mtime(&write(src.path(), "old.txt", b"FROM 2020"), now() + 3600, 0);
    let run = blobsync_json(&args).ok();
    assert_eq!(run.total("copied"), 1, "{}", run.dump());
    assert_eq!(run.done("upload"), ["old.txt"]);
    assert_eq!(blobs.get(&container, "old.txt"), b"FROM 2020");
}
