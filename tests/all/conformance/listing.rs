//! Listing: files in the declared order with their sizes, times and hashes, folders
//! before what is below them (and skipped on request), scopes, and nothing of a write
//! before its commit.

use blobsync::endpoint::WriteShape;
use blobsync_tests::bytes;

use super::{Fixture, T, target};

pub(super) fn an_empty_location_lists_nothing(f: Fixture) {
    f.rt.block_on(f.endpoint.prepare_for_writes()).unwrap();
    let listing = f.list(None, &[]).unwrap();
    assert!(listing.keys.is_empty(), "{:?}", listing.keys);
}

pub(super) fn an_uncommitted_write_is_not_listed(f: Fixture) {
    f.put("kept.txt", b"kept", 1 << 20, T);
    f.rt.block_on(async {
        let pending = f
            .endpoint
            .open_writer(&target(
                "pending.bin",
                10,
                WriteShape::Blocks { size: 4, count: 3 },
            ))
            .await
            .unwrap();
        pending
            .write_block(0, 0, bytes::Bytes::from_static(b"0123"))
            .await
            .unwrap();
        assert_eq!(f.list(None, &[]).unwrap().paths(), ["kept.txt"]);
        pending.abort().await;
    });
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["kept.txt"]);
}

pub(super) fn writes_list_in_order_with_sizes_times_and_hashes(f: Fixture) {
    let big = bytes(5, 300_000);
    let names = [
        ("a.txt", &b"alpha"[..], T),
        ("dir/b.bin", &big[..], T + 1_000_000_000),
        ("dir/sub/empty", &b""[..], T + 2_000_000_000),
        ("z ü#%+.txt", &b"odd"[..], T + 3_000_000_000),
        ("dir-x/c.txt", &b"c"[..], T + 4_000_000_000),
        ("dir.d/e.txt", &b"e"[..], T + 5_000_000_000),
    ];
    for (name, data, mtime) in &names {
        f.put(name, data, 65_536, *mtime);
    }
    let listing = f.list(None, &[]).unwrap();
    let mut expected: Vec<&str> = names.iter().map(|(n, _, _)| *n).collect();
    let order = f.order();
    expected.sort_by(|a, b| order.cmp(a, b));
    assert_eq!(listing.paths(), expected, "listing order");
    for (name, data, mtime) in &names {
        let item = listing.files.iter().find(|i| i.path == *name).unwrap();
        assert_eq!(item.size, data.len() as u64, "size of {name}");
        assert_eq!(item.preserved_mtime_ns(), *mtime, "time of {name}");
        if f.endpoint.capabilities().listed_md5 {
            assert_eq!(
                item.md5,
                Some(<md5::Md5 as md5::Digest>::digest(data).into()),
                "Content-MD5 of {name}"
            );
        }
    }
}

pub(super) fn folders_come_before_their_contents_and_can_be_skipped(f: Fixture) {
    for name in ["a/1", "a/b/2", "a/b/c/3", "a/d/4", "e"] {
        f.put(name, b"x", 1 << 20, T);
    }
    let all = f.list(None, &[]).unwrap();
    assert_eq!(
        all.keys,
        [
            "a/", "a/1", "a/b/", "a/b/2", "a/b/c/", "a/b/c/3", "a/d/", "a/d/4", "e"
        ]
    );
    let skipped = f.list(None, &["a/b"]).unwrap();
    assert_eq!(skipped.paths(), ["a/1", "a/d/4", "e"], "a/b is skipped");
}

pub(super) fn scoped_listings_hold_the_path_and_what_is_below_it(f: Fixture) {
    for name in ["dir/b.bin", "dir/sub/empty", "dir-x/c.txt", "dirt", "a.txt"] {
        f.put(name, b"x", 1 << 20, T);
    }
    assert_eq!(
        f.list(Some("dir"), &[]).unwrap().paths(),
        ["dir/b.bin", "dir/sub/empty"]
    );
    assert_eq!(f.list(Some("a.txt"), &[]).unwrap().paths(), ["a.txt"]);
    assert!(f.list(Some("nothing/here"), &[]).unwrap().files.is_empty());
    // A folder above the scope that the consumer skips hides the scope.
    assert!(
        f.list(Some("dir/sub/empty"), &["dir"])
            .unwrap()
            .files
            .is_empty()
    );
}

pub(super) fn names_beyond_ascii_list_in_the_declared_order(f: Fixture) {
    let names = [
        "a！.txt",
        "a😀.txt",
        "a.txt",
        "a-b/x",
        "a/y",
        "a\u{e000}.txt",
        "a\\b.txt",
        "trail.",
        "a~",
    ];
    for name in names {
        f.put(name, name.as_bytes(), 1 << 20, T);
    }
    let listing = f.list(None, &[]).unwrap();
    let order = f.order();
    let mut expected = names.to_vec();
    expected.sort_by(|a, b| order.cmp(a, b));
    assert_eq!(listing.paths(), expected, "{order:?}");
    let keys = &listing.keys;
    assert!(
        keys.windows(2).all(|w| order.less(&w[0], &w[1])),
        "keys strictly increasing in {order:?}: {keys:?}"
    );
}
