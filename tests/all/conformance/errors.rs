//! One test per class of `EndpointError`, each met the way the endpoint meets it; an
//! endpoint that never meets a class shows why (it has no credential, no links, no
//! server-side copies).

use std::sync::Arc;

use blobsync::endpoint::azure::AuthOptions;
use blobsync::endpoint::{
    BlobUpdate, CopySource, DeleteTarget, Endpoint, EndpointError, ErrorClass, ListOrder,
    LocalEndpoint, NameFold, WriteShape,
};
use blobsync_tests::{Blobs, Mount, azurite, required, unique_container};
use bytes::Bytes;

use super::{
    Backend, Fixture, T, azure_endpoint, info, listing_of, md5_of, other_azurite, target, write_to,
};

/// The error a listing of `endpoint` ends with.
fn listing_error(endpoint: &dyn Endpoint) -> EndpointError {
    match listing_of(endpoint, ListOrder::UTF16, None, &[]) {
        Ok(listing) => panic!("listed {:?}", listing.keys),
        Err(e) => e,
    }
}

pub(super) fn refused_credentials_are_auth_errors(f: Fixture) {
    if f.backend != Backend::Azure {
        assert_eq!(f.endpoint.credential(), None, "no credential to refuse");
        return;
    }
    let container = f.container.clone().unwrap();
    f.put("a.txt", b"a", 1 << 20, T);
    let write_only = azure_endpoint(
        &f.rt,
        &azurite().sas_url(&container, "w"),
        &Default::default(),
    );
    let e = listing_error(&*write_only);
    assert_eq!(e.class(), ErrorClass::Auth, "a SAS without `l`: {e}");
    let wrong_key = AuthOptions {
        account_key: Some(format!("{}==", "A".repeat(86))),
        account_key_from: "a test",
        ..Default::default()
    };
    let wrong = azure_endpoint(&f.rt, &azurite().url(&container), &wrong_key);
    let e = listing_error(&*wrong);
    assert_eq!(e.class(), ErrorClass::Auth, "a wrong key: {e}");
    // A container SAS cannot create its container: said before anything is written, by
    // a dry run's check too.
    let missing = unique_container("nocreate");
    let sas = azure_endpoint(
        &f.rt,
        &azurite().sas_url(&missing, "rwl"),
        &Default::default(),
    );
    assert_eq!(listing_error(&*sas).class(), ErrorClass::NotFound);
    let e = f.rt.block_on(sas.check_writable()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth, "{e}");
    let e = f.rt.block_on(sas.prepare_for_writes()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth, "{e}");
    assert!(!Blobs::new(azurite()).container_exists(&missing));
}

/// A location nothing was written to yet: a folder or a container that is not there. (An
/// entry gone since it was listed no longer matches its listing: reads fail as changed,
/// and a delete of it succeeds.)
pub(super) fn a_missing_location_is_not_found(f: Fixture) {
    match f.backend {
        Backend::Local | Backend::Azure => {
            let e = listing_error(&*f.endpoint);
            assert_eq!(e.class(), ErrorClass::NotFound, "{e}");
        }
        Backend::Memory | Backend::Decorated => {
            let listing = f
                .list(None, &[])
                .expect("an in-memory location always exists");
            assert!(listing.keys.is_empty());
        }
    }
}

pub(super) fn what_the_user_must_fix_is_a_usage_error(f: Fixture) {
    if f.backend != Backend::Local {
        f.put("m.txt", b"m", 1 << 20, T);
        let item = f.item("m.txt");
        let (scratch, target) = (tempfile::tempdir().unwrap(), DeleteTarget::of(&item));
        let moved = f.endpoint.move_to(&target, scratch.path(), "m.txt");
        let e = f.rt.block_on(moved).expect_err("only files move");
        assert_eq!(e.class(), ErrorClass::Usage, "{e}");
        return;
    }
    f.put("x", b"file", 1 << 20, T);
    let e = f.write("x/y", b"below", 1 << 20, T, None).unwrap_err();
    assert_eq!(
        e.class(),
        ErrorClass::Usage,
        "a file where a folder must be: {e}"
    );
    let too_long = "n".repeat(256);
    for name in ["a/../b", "a//b", &too_long] {
        let opened =
            f.rt.block_on(f.endpoint.open_writer(&target(name, 1, WriteShape::Single)));
        let e = opened.err().expect("no file can have that name");
        assert_eq!(e.class(), ErrorClass::Usage, "{name}: {e}");
    }
    let root = f.root.clone().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::write(&root, b"a file").unwrap();
    let e = listing_error(&*f.endpoint);
    assert_eq!(
        e.class(),
        ErrorClass::Usage,
        "a file to sync as a folder: {e}"
    );
}

/// No endpoint reports [`ErrorClass::Corrupt`]: a read returns what the entry holds even
/// when a stored Content-MD5 disagrees with it (another tool stored a wrong one); the
/// copy compares the MD5 it computed and decides (`--check-md5`).
pub(super) fn a_stored_checksum_is_never_judged_by_the_endpoint(f: Fixture) {
    let data = b"what the entry holds";
    f.put("c.txt", data, 1 << 20, T);
    let listed = f.item("c.txt");
    if !f.is_blob() {
        assert_eq!(listed.md5, None, "a folder keeps no checksum");
        assert_eq!(f.read_all(&listed).unwrap(), data);
        return;
    }
    let wrong = md5_of(b"something else");
    let headers = listed.blob.as_deref().unwrap().headers.clone();
    let update = BlobUpdate {
        headers: Some((headers, Some(wrong))),
        ..BlobUpdate::of(&listed)
    };
    f.rt.block_on(f.endpoint.update(&update)).unwrap();
    let damaged = f.item("c.txt");
    assert_eq!(damaged.md5, Some(wrong));
    assert_eq!(f.read_all(&damaged).unwrap(), data, "read as it is");
}

pub(super) fn a_copy_no_service_can_make_is_server_copy_unavailable(f: Fixture) {
    let data = b"far away";
    if f.backend != Backend::Azure {
        let elsewhere = CopySource {
            url: "http://127.0.0.1:9/devstoreaccount1/c/x".into(),
            authorization: None,
            etag: None,
            described: "elsewhere".into(),
        };
        let target = target("near.txt", data.len() as u64, WriteShape::Single);
        let writer =
            f.rt.block_on(f.endpoint.open_copy_writer(&target, &elsewhere));
        assert!(writer.unwrap().is_none(), "no server-side copies to fail");
        return;
    }
    let far = unique_container("far");
    let source = azure_endpoint(&f.rt, &other_azurite().url(&far), &Default::default());
    write_to(&f.rt, &*source, "far.txt", data, 1 << 20, T, None).unwrap();
    let item = listing_of(&*source, ListOrder::UTF16, None, &[])
        .unwrap()
        .files
        .remove(0);
    let from = f.rt.block_on(source.copy_source(&item)).unwrap().unwrap();
    let copied = f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await?;
        let target = target("near.txt", data.len() as u64, WriteShape::Single);
        let writer = f.endpoint.open_copy_writer(&target, &from).await?.unwrap();
        writer.copy_block(0, 0, data.len() as u64).await
    });
    let e = copied.expect_err("this Azurite cannot read the other one");
    assert_eq!(e.class(), ErrorClass::ServerCopyUnavailable, "{e}");
}

/// Local only: a symbolic link where a write would go — the entry itself, or a folder
/// of its path — is never written through. (Memory and blobs have no links.)
pub(super) fn a_link_in_the_way_is_a_link_error(f: Fixture) {
    let root = f.root.clone().unwrap();
    let outside = root.with_file_name("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("target.txt"), b"outside").unwrap();
    f.rt.block_on(f.endpoint.prepare_for_writes()).unwrap();
    std::os::unix::fs::symlink(outside.join("target.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dir")).unwrap();
    for path in ["link.txt", "dir/new.txt"] {
        let e = f.write(path, b"new", 1 << 20, T, None).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Link, "{path}: {e}");
    }
    assert_eq!(
        std::fs::read(outside.join("target.txt")).unwrap(),
        b"outside"
    );
    assert!(!outside.join("new.txt").exists());
    let listing = f.list(None, &[]).unwrap();
    assert!(listing.files.is_empty());
    assert_eq!(
        listing.skipped.len(),
        2,
        "links are skipped: {:?}",
        listing.skipped
    );
}

/// Local only, on a case-insensitive folder (exFAT): a name the folder holds under
/// another spelling is a collision, and nothing is overwritten. (Memory and blobs tell
/// every name apart.)
pub(super) fn a_name_the_folder_holds_as_another_is_a_collision(f: Fixture) {
    let test = "conformance::local_only::a_name_the_folder_holds_as_another_is_a_collision";
    let Some(mount) = required(test, Mount::exfat()) else {
        return;
    };
    let root = mount.path().join("root");
    let f = Fixture {
        endpoint: Arc::new(LocalEndpoint::new(root.clone(), false, true)),
        root: Some(root),
        ..f
    };
    f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await.unwrap();
        f.endpoint.probe().await;
    });
    let fold = f.endpoint.capabilities().fold;
    assert!(
        matches!(fold, NameFold::Case | NameFold::CaseAndNormalization),
        "probed: {fold:?}"
    );
    f.put("A.txt", b"upper", 1 << 20, T);
    let e = f.write("a.txt", b"lower", 1 << 20, T, None).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Collision, "{e}");
    assert_eq!(f.read_all(&f.item("A.txt")).unwrap(), b"upper");
}

pub(super) fn a_commit_missing_a_block_is_another_error(f: Fixture) {
    let shape = WriteShape::Blocks { size: 4, count: 3 };
    let committed = f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await?;
        let writer = f
            .endpoint
            .open_writer(&target("holes.bin", 10, shape))
            .await?;
        writer
            .write_block(0, 0, Bytes::from_static(b"0123"))
            .await?;
        writer.write_block(2, 8, Bytes::from_static(b"89")).await?;
        writer.commit(info(b"0123456789", T)).await
    });
    let e = committed.expect_err("block 1 was never written");
    assert_eq!(e.class(), ErrorClass::Other, "{e}");
    assert!(
        f.list(None, &[]).unwrap().files.is_empty(),
        "nothing is committed"
    );
}
