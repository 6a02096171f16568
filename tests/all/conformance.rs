//! One conformance suite for every `Endpoint`, one function per behaviour, run against the
//! local file system, the in-memory endpoint and Azure Blob Storage (on Azurite): all
//! three must behave the same through the trait the pipeline uses.

use std::sync::Arc;

use blobsync::endpoint::azure::{
    AzureEndpoint, BlobLocation, HttpSettings, resolve_auth, transport,
};
use blobsync::endpoint::{
    CommitInfo, DeleteTarget, Endpoint, EndpointKind, ErrorClass, Item, ListOrder, ListRequest,
    Listed, LocalEndpoint, MemoryEndpoint, Version, WriteShape, WriteTarget,
};
use blobsync_tests::*;

/// A fresh endpoint on an empty location, and the runtime it runs on.
struct Fixture {
    rt: tokio::runtime::Runtime,
    endpoint: Arc<dyn Endpoint>,
    _dir: Option<tempfile::TempDir>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn local() -> Fixture {
    let d = tempfile::tempdir().unwrap();
    Fixture {
        rt: runtime(),
        endpoint: Arc::new(LocalEndpoint::new(d.path().join("root"), false, true)),
        _dir: Some(d),
    }
}

fn memory() -> Fixture {
    Fixture {
        rt: runtime(),
        endpoint: Arc::new(MemoryEndpoint::new(EndpointKind::Blob)),
        _dir: None,
    }
}

fn azure() -> Fixture {
    let az = azurite();
    let rt = runtime();
    let location = BlobLocation::parse(&az.url(&unique_container("conformance"))).unwrap();
    let endpoint = rt.block_on(async {
        let http = transport(&HttpSettings {
            concurrency: 4,
            ..Default::default()
        })
        .unwrap();
        // The emulator's development key, chosen automatically for a loopback account.
        let auth = resolve_auth(&location, &Default::default(), &http).unwrap();
        AzureEndpoint::new(location, auth, &http).unwrap()
    });
    Fixture {
        rt,
        endpoint: Arc::new(endpoint),
        _dir: None,
    }
}

/// What a listing yielded.
#[derive(Default)]
struct Listing {
    files: Vec<Item>,
    /// Every key in the order listed (folders with a trailing `/`).
    keys: Vec<String>,
}

impl Listing {
    fn paths(&self) -> Vec<&str> {
        self.files.iter().map(|i| i.path.as_str()).collect()
    }
}

impl Fixture {
    fn order(&self) -> ListOrder {
        self.endpoint
            .capabilities()
            .order
            .unwrap_or(ListOrder::UTF16)
    }

    /// Lists everything (or `scope`), skipping the folders named in `skip`.
    fn list(&self, scope: Option<&str>, skip: &[&str]) -> Result<Listing, String> {
        let request = ListRequest {
            scopes: scope.map(String::from).into_iter().collect(),
            order: self.order(),
            ..Default::default()
        };
        let mut lister = self.endpoint.list(&request).map_err(|e| e.to_string())?;
        let mut out = Listing::default();
        while let Some(batch) = lister.next_batch() {
            for listed in batch.map_err(|e| e.to_string())? {
                out.keys.push(listed.key().into_owned());
                match listed {
                    Listed::File(item) => out.files.push(item),
                    Listed::Dir(dir) => {
                        if skip.contains(&dir.path.as_str()) {
                            lister.skip(&dir.path);
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        Ok(out)
    }

    /// The listed version of `path`, if it is there.
    fn version(&self, path: &str) -> Option<Version> {
        self.list(Some(path), &[])
            .ok()?
            .files
            .into_iter()
            .find(|i| i.path == path)
            .map(|i| Version::of(&i))
    }

    /// Writes `path`, replacing what is there now.
    fn put(&self, path: &str, data: &[u8], block: u64, mtime_ns: i64) {
        let replaces = self.version(path);
        self.write(path, data, block, mtime_ns, replaces).unwrap();
    }

    /// Writes `path` if it is still `replaces`.
    fn write(
        &self,
        path: &str,
        data: &[u8],
        block: u64,
        mtime_ns: i64,
        replaces: Option<Version>,
    ) -> Result<(), blobsync::endpoint::EndpointError> {
        let shape = if data.len() as u64 <= block {
            WriteShape::Single
        } else {
            WriteShape::Blocks {
                size: block,
                count: (data.len() as u64).div_ceil(block),
            }
        };
        self.rt.block_on(async {
            self.endpoint.prepare_for_writes().await.unwrap();
            let writer = self
                .endpoint
                .open_writer(&WriteTarget {
                    path: path.into(),
                    size: data.len() as u64,
                    shape,
                    replaces,
                    resume_tag: None,
                })
                .await?;
            for i in 0..shape.blocks() {
                let start = ((i * block) as usize).min(data.len());
                let end = (start + block as usize).min(data.len());
                writer
                    .write_block(
                        i,
                        start as u64,
                        bytes::Bytes::copy_from_slice(&data[start..end]),
                    )
                    .await
                    .unwrap();
            }
            let md5: [u8; 16] = <md5::Md5 as md5::Digest>::digest(data).into();
            writer
                .commit(CommitInfo {
                    md5,
                    store_md5: true,
                    mtime_ns,
                    metadata: vec![],
                    settings: Default::default(),
                })
                .await
        })
    }
}

const T: i64 = 1_700_000_000_123_456_789;

fn an_empty_location_lists_nothing(f: Fixture) {
    assert!(f.list(None, &[]).unwrap_or_default().files.is_empty());
}

fn an_uncommitted_write_is_not_listed(f: Fixture) {
    f.put("kept.txt", b"kept", 1 << 20, T);
    f.rt.block_on(async {
        let pending = f
            .endpoint
            .open_writer(&WriteTarget {
                path: "pending.bin".into(),
                size: 10,
                shape: WriteShape::Blocks { size: 4, count: 3 },
                replaces: None,
                resume_tag: None,
            })
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

fn writes_list_in_order_with_sizes_times_and_hashes(f: Fixture) {
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

fn folders_come_before_their_contents_and_can_be_skipped(f: Fixture) {
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

fn scoped_listings_hold_the_path_and_what_is_below_it(f: Fixture) {
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

fn reads_return_any_range(f: Fixture) {
    let big = bytes(9, 300_000);
    f.put("b.bin", &big, 65_536, T);
    let item = f.list(None, &[]).unwrap().files.remove(0);
    f.rt.block_on(async {
        let reader = f.endpoint.open_reader(&item).await.unwrap();
        let part = reader.read(1000, 5000).await.unwrap();
        assert_eq!(&part[..], &big[1000..6000], "ranged read");
        let all = reader.read(0, big.len()).await.unwrap();
        assert_eq!(&all[..], &big[..]);
        reader.finish().await.unwrap();
    });
}

fn deletes_only_the_listed_version(f: Fixture) {
    f.put("a.txt", b"alpha", 1 << 20, T);
    f.put("b.txt", b"beta", 1 << 20, T);
    let a = f.list(Some("a.txt"), &[]).unwrap().files.remove(0);
    f.put("a.txt", b"alpha, rewritten", 1 << 20, T + 9_000_000_000);
    f.rt.block_on(async {
        let e = f.endpoint.delete(&DeleteTarget::of(&a)).await.unwrap_err();
        assert_eq!(
            e.class(),
            ErrorClass::Changed,
            "a changed entry is not deleted: {e}"
        );
    });
    let fresh = f.list(Some("a.txt"), &[]).unwrap().files.remove(0);
    f.rt.block_on(async {
        f.endpoint.delete(&DeleteTarget::of(&fresh)).await.unwrap();
        f.endpoint
            .delete(&DeleteTarget::of(&fresh))
            .await
            .unwrap_or_else(|e| panic!("deleting what is gone: {e}"));
    });
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["b.txt"]);
}

fn an_overwrite_replaces_only_the_listed_version(f: Fixture) {
    f.put("a.txt", b"first", 1 << 20, T);
    let first = f.version("a.txt");
    f.write("a.txt", b"second", 1 << 20, T + 1, first.clone())
        .expect("the listed version is replaced");
    let e = f
        .write("a.txt", b"third", 1 << 20, T + 2, first)
        .expect_err("a stale version is not replaced");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
    let e = f
        .write("a.txt", b"fourth", 1 << 20, T + 3, None)
        .expect_err("a new entry does not replace one that appeared");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
    let big = bytes(3, 200_000);
    let e = f
        .write("a.txt", &big, 65_536, T + 4, None)
        .expect_err("blocks too");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
    let item = f.list(Some("a.txt"), &[]).unwrap().files.remove(0);
    assert_eq!(item.size, 6, "still the second write");
    f.rt.block_on(async {
        let reader = f.endpoint.open_reader(&item).await.unwrap();
        assert_eq!(&reader.read(0, 6).await.unwrap()[..], b"second");
    });
}

fn names_beyond_ascii_list_in_the_declared_order(f: Fixture) {
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

macro_rules! conformance {
    ($backend:ident: $($behaviour:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $behaviour() {
                    super::$behaviour(super::$backend());
                }
            )*
        }
    };
}

macro_rules! every_backend {
    ($($backend:ident),*) => {
        $(conformance!($backend:
            an_empty_location_lists_nothing,
            an_uncommitted_write_is_not_listed,
            writes_list_in_order_with_sizes_times_and_hashes,
            folders_come_before_their_contents_and_can_be_skipped,
            scoped_listings_hold_the_path_and_what_is_below_it,
            reads_return_any_range,
            deletes_only_the_listed_version,
            an_overwrite_replaces_only_the_listed_version,
            names_beyond_ascii_list_in_the_declared_order,
        );)*
    };
}

every_backend!(local, memory, azure);
