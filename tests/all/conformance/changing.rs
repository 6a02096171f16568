//! Changing what is there: deletes, moves to a backup folder and in-place updates of a
//! blob's properties, each only of the listed version.

use blobsync::endpoint::{BlobUpdate, ContentHeaders, DeleteTarget, ErrorClass, Tier, Version};

use super::{Backend, Fixture, T};

pub(super) fn deletes_only_the_listed_version(f: Fixture) {
    f.put("a.txt", b"alpha", 1 << 20, T);
    f.put("b.txt", b"beta", 1 << 20, T);
    let a = f.item("a.txt");
    f.put("a.txt", b"alpha, rewritten", 1 << 20, T + 9_000_000_000);
    f.rt.block_on(async {
        let e = f.endpoint.delete(&DeleteTarget::of(&a)).await.unwrap_err();
        assert_eq!(
            e.class(),
            ErrorClass::Changed,
            "a changed entry is not deleted: {e}"
        );
    });
    let fresh = f.item("a.txt");
    f.rt.block_on(async {
        f.endpoint.delete(&DeleteTarget::of(&fresh)).await.unwrap();
        f.endpoint
            .delete(&DeleteTarget::of(&fresh))
            .await
            .unwrap_or_else(|e| panic!("deleting what is gone: {e}"));
    });
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["b.txt"]);
}

/// An entry written again with the same bytes and time since the listing (another
/// writer's copy of it: a new blob, a new file) is not the listed version either: it is
/// neither deleted nor overwritten.
pub(super) fn an_entry_written_again_the_same_is_not_the_listed_version(f: Fixture) {
    f.put("same.txt", b"same", 1 << 20, T);
    let listed = f.item("same.txt");
    f.put("same.txt", b"same", 1 << 20, T);
    let again = f.item("same.txt");
    let facts = |i: &blobsync::endpoint::Item| (i.size, i.preserved_mtime_ns(), i.md5);
    assert_eq!(facts(&again), facts(&listed));
    let e =
        f.rt.block_on(f.endpoint.delete(&DeleteTarget::of(&listed)))
            .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Changed, "not deleted: {e}");
    let e = f
        .write("same.txt", b"mine", 1 << 20, T, Some(Version::of(&listed)))
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Changed, "not overwritten: {e}");
    assert_eq!(f.read_all(&f.item("same.txt")).unwrap(), b"same");
}

/// A local entry moves to the backup folder (`--backup-dir`), replacing what is there;
/// the others cannot move entries and say so — blobs are kept by a copy instead.
pub(super) fn moves_only_the_listed_version_where_entries_can_move(f: Fixture) {
    f.put("dir/m.txt", b"move me", 1 << 20, T);
    let listed = f.item("dir/m.txt");
    let scratch = tempfile::tempdir().unwrap();
    let backup = match &f.root {
        // The same file system.
        Some(root) => root.with_file_name("backup"),
        None => scratch.path().join("backup"),
    };
    let move_to = |item| {
        let target = DeleteTarget::of(item);
        f.rt.block_on(f.endpoint.move_to(&target, &backup, "kept/m.txt"))
    };
    if f.backend != Backend::Local {
        let e = move_to(&listed).expect_err("it cannot move entries");
        assert_eq!(e.class(), ErrorClass::Usage, "{e}");
        assert_eq!(f.list(None, &[]).unwrap().paths(), ["dir/m.txt"]);
        assert!(!backup.exists());
        return;
    }
    move_to(&listed).unwrap();
    assert!(
        f.list(None, &[]).unwrap().keys.is_empty(),
        "its emptied folder goes too"
    );
    let kept = backup.join("kept/m.txt");
    assert_eq!(std::fs::read(&kept).unwrap(), b"move me");

    f.put("dir/m.txt", b"second", 1 << 20, T);
    let stale = f.item("dir/m.txt");
    f.put("dir/m.txt", b"second, changed", 1 << 20, T + 1_000_000_000);
    let e = move_to(&stale).expect_err("a changed entry is not moved");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
    assert_eq!(std::fs::read(&kept).unwrap(), b"move me");
    move_to(&f.item("dir/m.txt")).unwrap();
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        b"second, changed",
        "replaced"
    );
}

/// A blob's headers, metadata and tier change without its content being written again,
/// only if it is still the listed version; a local file has no blob properties.
pub(super) fn updates_change_only_the_listed_blob(f: Fixture) {
    f.put("u.txt", b"update me", 1 << 20, T);
    let listed = f.item("u.txt");
    let update = BlobUpdate {
        headers: Some((
            ContentHeaders {
                content_type: Some("text/csv".into()),
                ..Default::default()
            },
            listed.md5,
        )),
        metadata: Some(vec![("colour".into(), "green".into())]),
        tier: Some((Tier::Cool, None)),
        ..BlobUpdate::of(&listed)
    };
    let updated = f.rt.block_on(f.endpoint.update(&update));
    if !f.is_blob() {
        let e = updated.expect_err("a file has no blob properties");
        assert_eq!(e.class(), ErrorClass::Usage, "{e}");
        return;
    }
    updated.unwrap();
    let now = f.item("u.txt");
    let props = now.blob.as_deref().unwrap();
    assert_eq!(props.headers.content_type.as_deref(), Some("text/csv"));
    assert_eq!(props.tier, Some(Tier::Cool));
    assert_eq!(now.meta("colour"), Some("green"));
    assert_eq!(now.md5, listed.md5, "the Content-MD5 is kept");
    assert_eq!(f.read_all(&now).unwrap(), b"update me");

    let stale = BlobUpdate {
        metadata: Some(vec![("colour".into(), "red".into())]),
        ..BlobUpdate::of(&listed)
    };
    let e = f.rt.block_on(f.endpoint.update(&stale)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
    assert_eq!(f.item("u.txt").meta("colour"), Some("green"));
}

/// A lock is held by one run at a time (a container's lease, the in-memory endpoint's
/// table, through the decorators too); a local folder keeps none (the local lock file
/// covers it). Its blob below `.blobsync/` is never listed.
pub(super) fn a_lock_is_held_by_one_run_at_a_time_where_locks_are_kept(f: Fixture) {
    use blobsync::endpoint::Lock;
    f.rt.block_on(f.endpoint.prepare_for_writes()).unwrap();
    let take = |holder: &str| {
        f.rt.block_on(f.endpoint.lock("bisync-test", holder))
            .unwrap()
    };
    let held = match take("run one") {
        Lock::Unsupported => {
            assert_eq!(
                f.backend,
                Backend::Local,
                "only a local folder keeps no locks"
            );
            return;
        }
        Lock::Taken(by) => panic!("the lock was free, but taken by {by}"),
        Lock::Held(held) => held,
    };
    match take("run two") {
        Lock::Taken(by) => assert_eq!(by, "run one"),
        _ => panic!("a held lock was given twice"),
    }
    f.rt.block_on(held.release());
    let Lock::Held(again) = take("run three") else {
        panic!("a released lock is free again")
    };
    f.rt.block_on(again.release());
    assert!(
        f.list(None, &[]).unwrap().paths().is_empty(),
        "the lock blob is not data"
    );
}

/// blobsync's own blobs (a two-way sync's state in the container) are written whole
/// from a file and read back into one, in pieces, each write conditional on the version
/// read; they are never listed as data. A folder keeps none.
pub(super) fn own_blobs_are_kept_apart_from_the_data(f: Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let (file, back) = (dir.path().join("state"), dir.path().join("back"));
    // Over two of the pieces a large state is written in.
    let data: Vec<u8> = (0..(9u32 << 20) + 17).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let name = "state/conformance";
    let read = |f: &Fixture| f.rt.block_on(f.endpoint.read_own(name, &back));
    let write =
        |f: &Fixture, tag: Option<&str>| f.rt.block_on(f.endpoint.write_own(name, &file, tag));
    if !f.is_blob() {
        let e = read(&f).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Usage, "{e}");
        assert_eq!(write(&f, None).unwrap_err().class(), ErrorClass::Usage);
        return;
    }
    assert_eq!(read(&f).unwrap(), None, "none yet");
    f.rt.block_on(f.endpoint.prepare_for_writes()).unwrap();
    let tag = write(&f, None).unwrap();
    assert!(f.list(None, &[]).unwrap().paths().is_empty(), "not data");
    assert_eq!(read(&f).unwrap().as_deref(), Some(tag.as_str()));
    assert!(std::fs::read(&back).unwrap() == data, "read back whole");
    let e = write(&f, None).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Changed, "one is there now: {e}");
    let newer = write(&f, Some(&tag)).unwrap();
    assert_ne!(newer, tag);
    let e = write(&f, Some(&tag)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Changed, "a stale version: {e}");
    std::fs::write(&file, b"").unwrap();
    let empty = write(&f, Some(&newer)).unwrap();
    assert_eq!(read(&f).unwrap().as_deref(), Some(empty.as_str()));
    assert!(std::fs::read(&back).unwrap().is_empty(), "an empty one too");
}
