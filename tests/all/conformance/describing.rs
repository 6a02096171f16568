//! What an endpoint says of itself — its capabilities, its location and entries for
//! messages, its credential — what probing it learns, and what it refuses to store; each
//! checked against what it then does.

use std::time::Duration;

use blobsync::endpoint::{EndpointKind, ErrorClass, Item, ListOrder, NameFold, SkipKind};
use blobsync_tests::azurite;

use super::{Backend, Fixture, T, azure_endpoint};

pub(super) fn capabilities_declare_what_the_endpoint_does(f: Fixture) {
    let caps = f.endpoint.capabilities();
    let blob = f.backend != Backend::Local;
    let kind = if blob {
        EndpointKind::Blob
    } else {
        EndpointKind::Local
    };
    assert_eq!(caps.kind, kind);
    assert_eq!(caps.listed_md5, blob, "only blobs list a content MD5");
    assert_eq!(caps.one_entry_per_name, !blob);
    assert_eq!(caps.fold, NameFold::Exact);
    assert_eq!(caps.time_precision_ns, 1, "until probed");
    assert_eq!(caps.latest_time_ns, i64::MAX, "until probed");
    assert_eq!(
        caps.order.is_some(),
        f.backend == Backend::Azure,
        "a service lists in its own order"
    );

    // One entry per name: a file and a folder of one name cannot both be there.
    f.put("x", b"file", 1 << 20, T);
    let beside = f.write("x/y", b"below", 1 << 20, T, None);
    if caps.one_entry_per_name {
        let e = beside.expect_err("no folder where a file is");
        assert_eq!(e.class(), ErrorClass::Usage, "{e}");
    } else {
        beside.expect("a blob x beside blobs x/…");
    }
    // The order: asked for another one, an endpoint with its own keeps to it.
    for name in ["a-b/x", "a/y"] {
        f.put(name, b"o", 1 << 20, T);
    }
    let asked = ListOrder::PATH_COMPONENTS;
    let listing = f.list_in(asked, None, &[]).unwrap();
    let order = caps.order.unwrap_or(asked);
    let mut expected = listing.paths();
    expected.sort_by(|a, b| order.cmp(a, b));
    assert_eq!(listing.paths(), expected, "listed in {order:?}");
    match caps.order {
        // Not the order asked for, on these names.
        Some(own) => assert!(own.less("a-b/x", "a/y")),
        None => assert_eq!(listing.paths()[0], "a/y", "listed as asked"),
    }
}

pub(super) fn descriptions_name_the_location_and_each_entry(f: Fixture) {
    let location = f.endpoint.describe();
    let entry = f.endpoint.describe_path("dir/a b.txt");
    assert!(
        entry.starts_with(&location) && entry.ends_with("dir/a b.txt"),
        "{entry} is not in {location}"
    );
    match f.backend {
        Backend::Local => {
            assert_eq!(location, f.root.as_ref().unwrap().display().to_string());
        }
        Backend::Memory | Backend::Decorated => assert_eq!(location, "memory:"),
        Backend::Azure => {
            let container = f.container.as_deref().unwrap();
            assert_eq!(location, azurite().url(container));
            // A SAS in the URL is never shown.
            let sas = azure_endpoint(
                &f.rt,
                &azurite().sas_url(container, "rl"),
                &Default::default(),
            );
            assert_eq!(sas.describe(), location);
            assert!(!sas.describe_path("a").contains("sig="));
        }
    }
}

pub(super) fn a_credential_is_named_where_one_is_used(f: Fixture) {
    if f.backend != Backend::Azure {
        assert_eq!(f.endpoint.credential(), None);
        return;
    }
    let credential = f.endpoint.credential().unwrap();
    assert!(
        credential.starts_with("Shared Key for `devstoreaccount1`"),
        "{credential}"
    );
    let container = f.container.as_deref().unwrap();
    let sas = azure_endpoint(
        &f.rt,
        &azurite().sas_url(container, "rl"),
        &Default::default(),
    );
    assert_eq!(sas.credential().as_deref(), Some("SAS token in the URL"));
}

pub(super) fn probing_keeps_the_capabilities_true(f: Fixture) {
    f.rt.block_on(f.endpoint.prepare_for_writes()).unwrap();
    let before = f.endpoint.capabilities();
    let probed = f.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(15), f.endpoint.probe()).await
    });
    probed.expect("a probe ends");
    let after = f.endpoint.capabilities();
    assert_eq!(after.kind, before.kind);
    assert_eq!(after.order, before.order, "Azurite's account is flat");
    assert_eq!(after.fold, NameFold::Exact, "a case-sensitive folder");
    // The times it keeps are as precise as it now says.
    f.put("t.txt", b"t", 1 << 20, T);
    let kept = f.item("t.txt").preserved_mtime_ns();
    let precision = after.time_precision_ns as i64;
    assert!(
        (0..precision).contains(&(T - kept)),
        "{kept} for {T} at a precision of {precision} ns"
    );
    assert!(
        f.list(None, &[]).unwrap().paths() == ["t.txt"],
        "probing leaves nothing"
    );
}

pub(super) fn refusals_name_what_cannot_be_stored(f: Fixture) {
    let refused = |item: &Item| {
        f.endpoint.refuses(item).map(|(kind, why)| {
            assert!(
                why.starts_with("not syncable") || kind == SkipKind::Symlink,
                "{why}"
            );
            kind
        })
    };
    let plain = Item::new("dir/a.txt", 1, T);
    // A name of 256 bytes in one segment; one of 1,110 characters in eleven.
    let long_segment = Item::new("x".repeat(256), 1, T);
    let long_name = Item::new(vec!["y".repeat(100); 11].join("/"), 1, T);
    let link = Item {
        metadata: vec![("is_symlink".into(), "true".into())],
        ..Item::new("l", 1, T)
    };
    assert_eq!(refused(&plain), None);
    let expected = match f.backend {
        Backend::Local => [Some(SkipKind::Unsyncable), None, Some(SkipKind::Symlink)],
        Backend::Azure => [None, Some(SkipKind::Unsyncable), None],
        // Memory holds any name.
        Backend::Memory | Backend::Decorated => [None, None, None],
    };
    assert_eq!(
        [refused(&long_segment), refused(&long_name), refused(&link)],
        expected
    );
}
