//! Metadata fidelity: POSIX owners, groups and modes (azcopy's and rclone's keys),
//! symbolic links, and metadata other tools put on blobs.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use blobsync_tests::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn metadata_of(
    blobs: &Blobs,
    container: &str,
    name: &str,
) -> std::collections::BTreeMap<String, String> {
    blobs
        .list(container)
        .into_iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no blob {name}"))
        .metadata
}

#[test]
fn posix_owner_group_mode_and_times_round_trip() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("posix");
    let src = tempfile::tempdir().unwrap();
    let file = write(src.path(), "etc/secret.conf", b"key = value");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = is_root();
    if root {
        std::os::unix::fs::chown(&file, Some(1234), Some(5678)).unwrap();
    }
    let before = std::fs::metadata(&file).unwrap();
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--preserve-posix-properties",
    ])
    .ok();
    let meta = metadata_of(&blobs, &container, "etc/secret.conf");
    assert_eq!(meta["permissions"], before.mode().to_string(), "{meta:?}");
    assert_eq!(meta["posix_owner"], before.uid().to_string());
    assert_eq!(meta["posix_group"], before.gid().to_string());
    assert_eq!(
        meta["modtime"],
        (before.mtime() * 1_000_000_000 + before.mtime_nsec()).to_string()
    );

    let dst = tempfile::tempdir().unwrap();
    blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--preserve-posix-properties",
    ])
    .ok();
    let after = std::fs::metadata(dst.path().join("etc/secret.conf")).unwrap();
    assert_eq!(after.mode() & 0o777, 0o640);
    assert_eq!(after.mtime(), before.mtime());
    assert_eq!(after.atime(), before.atime(), "access time restored");
    if root {
        assert_eq!((after.uid(), after.gid()), (1234, 5678));
    }

    // Without the flag the permissions are the process's defaults.
    let plain = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(plain.path())]).ok();
    let plain_meta = std::fs::metadata(plain.path().join("etc/secret.conf")).unwrap();
    assert_ne!(plain_meta.mode() & 0o777, 0o640);
}

#[test]
fn rclone_posix_keys_restore_too() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("rclonemeta");
    blobs.create_container(&container);
    blobs.put(
        &container,
        "by-rclone.txt",
        b"written by rclone -M",
        &[
            ("mode", "100600"),
            ("uid", "42"),
            ("gid", "43"),
            ("mtime", "2024-01-02T03:04:05.123456789Z"),
            ("atime", "2024-01-03T00:00:00Z"),
        ],
    );
    let dst = tempfile::tempdir().unwrap();
    blobsync(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--preserve-posix-properties",
    ])
    .ok();
    let m = std::fs::metadata(dst.path().join("by-rclone.txt")).unwrap();
    assert_eq!(m.mode() & 0o777, 0o600);
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_704_164_645, 123_456_789));
    assert_eq!(m.atime(), 1_704_240_000);
    if is_root() {
        assert_eq!((m.uid(), m.gid()), (42, 43));
    }
}

#[test]
fn symbolic_links_round_trip_as_links_with_preserve_symlinks() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("symlinks");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "data/real.txt", b"the data");
    std::os::unix::fs::symlink("data/real.txt", src.path().join("latest")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/elsewhere", src.path().join("dangling")).unwrap();

    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--preserve-symlinks",
    ])
    .ok();
    assert_eq!(run.total("copied"), 3, "{}", run.dump());
    assert_eq!(run.done("upload"), ["dangling", "data/real.txt", "latest"]);
    assert_eq!(blobs.get(&container, "latest"), b"data/real.txt");
    assert_eq!(
        metadata_of(&blobs, &container, "latest")["is_symlink"],
        "true"
    );
    let again = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--preserve-symlinks",
    ])
    .ok();
    assert_eq!(again.total("copied"), 0, "links compare as links");

    let dst = tempfile::tempdir().unwrap();
    let back = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--preserve-symlinks",
    ])
    .ok();
    assert_eq!(back.total("copied"), 3);
    assert_eq!(
        back.done("download"),
        ["dangling", "data/real.txt", "latest"]
    );
    for link in ["latest", "dangling"] {
        let path = dst.path().join(link);
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link}"
        );
        assert_eq!(
            std::fs::read_link(&path).unwrap(),
            std::fs::read_link(src.path().join(link)).unwrap()
        );
        assert_eq!(
            std::fs::symlink_metadata(&path).unwrap().mtime(),
            std::fs::symlink_metadata(src.path().join(link))
                .unwrap()
                .mtime(),
            "{link}: the link's own time"
        );
    }
    let noop = blobsync_json(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--preserve-symlinks",
    ])
    .ok();
    assert_eq!(noop.total("copied"), 0, "{}", noop.dump());

    // Without the flag, link blobs are skipped, not written as files.
    let plain = tempfile::tempdir().unwrap();
    let run = blobsync_json(&["sync", &az.url(&container), s(plain.path())]).ok();
    assert_eq!(run.total("symlinks_skipped"), 2);
    assert_eq!(files(plain.path()), ["data/real.txt"]);

    let refused = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--preserve-symlinks",
        "--follow-symlinks",
    ]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

#[test]
fn metadata_other_tools_set_survives_a_re_upload() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("keepmeta");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "report.pdf", b"first");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    // Another tool tags the blob with metadata (Put Blob with the same content keeps the
    // time key, as a copy by another tool would).
    let meta = metadata_of(&blobs, &container, "report.pdf");
    blobs.put(
        &container,
        "report.pdf",
        b"first",
        &[("mtime", &meta["mtime"]), ("reviewedby", "alice")],
    );
    write(src.path(), "report.pdf", b"second version");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let meta = metadata_of(&blobs, &container, "report.pdf");
    assert_eq!(blobs.get(&container, "report.pdf"), b"second version");
    assert_eq!(
        meta.get("reviewedby").map(String::as_str),
        Some("alice"),
        "{meta:?}"
    );
}
