//! One conformance suite for every `Endpoint`: the local file system and Azure Blob
//! Storage (on Azurite) must behave the same through the trait the pipeline uses.

use std::sync::Arc;

use blobsync::endpoint::azure::{AzureEndpoint, BlobLocation, HttpSettings, transport};
use blobsync::endpoint::local::LocalEndpoint;
use blobsync::endpoint::{
    CommitInfo, DeleteTarget, Endpoint, ErrorClass, Item, ListMessage, ListSink, Listed,
};
use blobsync::plugin::{
    EndpointKind, FilterChain, PluginHost, PluginKind, PluginSet, PluginSpec, Runtime, Side,
};
use blobsync_tests::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An empty filter chain (from a plugin host with no filters).
fn no_filters() -> FilterChain {
    let rt = Arc::new(Runtime::new(Some(cache_dir().join("wasm"))).unwrap());
    let spec = PluginSpec::builtin(PluginKind::Comparator, "mtime-compare", vec![], "test");
    let host = PluginHost::new(
        &rt,
        &PluginSet {
            filters: vec![],
            comparator: spec,
            hooks: vec![],
        },
    )
    .unwrap();
    host.filter_chain()
}

fn list(
    endpoint: &Arc<dyn Endpoint>,
    side: Side,
    scope: &str,
    handle: &tokio::runtime::Handle,
) -> Result<Vec<Item>, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    let thread = endpoint
        .clone()
        .start_listing(side, scope, no_filters(), ListSink::new(tx), handle.clone())
        .unwrap();
    let mut items = Vec::new();
    let result = loop {
        match rx.recv().unwrap() {
            ListMessage::Batch(batch) => {
                for l in batch {
                    match l {
                        Listed::Item(i) => items.push(i),
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            ListMessage::Done => break Ok(items),
            ListMessage::Fatal(e) => break Err(e.message),
        }
    };
    thread.join().unwrap();
    result
}

async fn put(endpoint: &dyn Endpoint, path: &str, data: &[u8], block: u64, mtime_ns: i64) {
    let writer = endpoint
        .open_writer(path, data.len() as u64, block)
        .await
        .unwrap();
    let blocks = if data.is_empty() {
        1
    } else {
        (data.len() as u64).div_ceil(block)
    };
    for i in 0..blocks {
        let start = (i * block) as usize;
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
            md5: Some(md5),
            mtime_ns,
            metadata: vec![],
        })
        .await
        .unwrap();
}

/// The suite, against one endpoint. `fresh` builds an endpoint on an empty location.
fn conformance(name: &str, fresh: impl Fn() -> Arc<dyn Endpoint>) {
    let rt = runtime();
    let handle = rt.handle().clone();
    let ep = fresh();
    let kind = ep.capabilities().kind;

    // An empty (or missing) destination lists nothing.
    assert!(
        list(&ep, Side::Destination, "", &handle)
            .unwrap()
            .is_empty(),
        "{name}: empty"
    );

    // Writes: single-block, multi-block, empty, awkward names. Nothing is visible before
    // commit.
    let big = bytes(5, 300_000);
    let names = [
        "a.txt",
        "dir/b.bin",
        "dir/sub/empty",
        "z ü#%+.txt",
        "dir-x/c.txt",
        "dir.d/e.txt",
    ];
    rt.block_on(async {
        ep.prepare_for_writes().await.unwrap();
        let pending = ep.open_writer("pending.bin", 10, 4).await.unwrap();
        pending
            .write_block(0, 0, bytes::Bytes::from_static(b"0123"))
            .await
            .unwrap();
        assert!(
            list(&ep, Side::Destination, "", &handle)
                .unwrap()
                .iter()
                .all(|i| i.entry.path != "pending.bin"),
            "{name}: an uncommitted write is not listed"
        );
        pending.abort().await;
        put(&*ep, "a.txt", b"alpha", 1 << 20, 1_700_000_000_123_456_789).await;
        put(&*ep, "dir/b.bin", &big, 65_536, 1_700_000_001_000_000_000).await;
        put(
            &*ep,
            "dir/sub/empty",
            b"",
            1 << 20,
            1_700_000_002_000_000_000,
        )
        .await;
        put(
            &*ep,
            "z ü#%+.txt",
            b"odd",
            1 << 20,
            1_700_000_003_000_000_000,
        )
        .await;
        put(
            &*ep,
            "dir-x/c.txt",
            b"c",
            1 << 20,
            1_700_000_004_000_000_000,
        )
        .await;
        put(
            &*ep,
            "dir.d/e.txt",
            b"e",
            1 << 20,
            1_700_000_005_000_000_000,
        )
        .await;
    });

    // Listings are in byte order of the relative path, with sizes, and the source's time
    // (local: the file's mtime; blob: stored in metadata).
    let items = list(&ep, Side::Source, "", &handle).unwrap();
    let paths: Vec<&str> = items.iter().map(|i| i.entry.path.as_str()).collect();
    let mut sorted = names.to_vec();
    sorted.sort();
    assert_eq!(paths, sorted, "{name}: listing order");
    for i in &items {
        assert_eq!(i.entry.endpoint, kind);
        let source_mtime = blobsync::sync::transfer::source_mtime(i);
        let expected = match i.entry.path.as_str() {
            "a.txt" => 1_700_000_000_123_456_789,
            "dir/b.bin" => 1_700_000_001_000_000_000,
            _ => continue,
        };
        assert_eq!(source_mtime, expected, "{name}: time of {}", i.entry.path);
    }
    let b = items.iter().find(|i| i.entry.path == "dir/b.bin").unwrap();
    assert_eq!(b.entry.size, big.len() as u64);
    if kind == EndpointKind::AzureBlob {
        assert_eq!(
            b.entry.md5.as_deref(),
            Some(&<md5::Md5 as md5::Digest>::digest(&big)[..]),
            "{name}: Content-MD5"
        );
    }

    // Scoped listings: the path and what is below it, nothing that merely shares a prefix.
    let scoped: Vec<String> = list(&ep, Side::Source, "dir", &handle)
        .unwrap()
        .into_iter()
        .map(|i| i.entry.path)
        .collect();
    assert_eq!(scoped, ["dir/b.bin", "dir/sub/empty"], "{name}: scope");
    let one: Vec<String> = list(&ep, Side::Source, "a.txt", &handle)
        .unwrap()
        .into_iter()
        .map(|i| i.entry.path)
        .collect();
    assert_eq!(one, ["a.txt"], "{name}: file scope");

    // Reads: any range, and the whole entry.
    rt.block_on(async {
        let reader = ep.open_reader(b).await.unwrap();
        let part = reader.read(1000, 5000).await.unwrap();
        assert_eq!(&part[..], &big[1000..6000], "{name}: ranged read");
        let all = reader.read(0, big.len()).await.unwrap();
        assert_eq!(&all[..], &big[..]);
        reader.finish().await.unwrap();
    });

    // Deletes: only the listed version; a missing entry is fine.
    let a = items
        .iter()
        .find(|i| i.entry.path == "a.txt")
        .unwrap()
        .clone();
    let target = |i: &Item| DeleteTarget {
        path: i.entry.path.clone(),
        etag: i.etag.clone(),
        size: i.entry.size,
        mtime_ns: i.entry.mtime_ns,
    };
    rt.block_on(async {
        put(
            &*ep,
            "a.txt",
            b"alpha, rewritten",
            1 << 20,
            1_700_000_009_000_000_000,
        )
        .await;
        let e = ep.delete(&target(&a)).await.unwrap_err();
        assert_eq!(
            e.class,
            ErrorClass::Changed,
            "{name}: a changed entry is not deleted: {e}"
        );
        let fresh_a = list(&ep, Side::Source, "a.txt", &handle).unwrap().remove(0);
        ep.delete(&target(&fresh_a)).await.unwrap();
        ep.delete(&target(&fresh_a))
            .await
            .unwrap_or_else(|e| panic!("{name}: deleting what is gone: {e}"));
    });
    let after: Vec<String> = list(&ep, Side::Source, "", &handle)
        .unwrap()
        .into_iter()
        .map(|i| i.entry.path)
        .collect();
    assert!(!after.contains(&"a.txt".to_string()), "{name}: deleted");
    assert_eq!(after.len(), names.len() - 1);
}

#[test]
fn the_local_endpoint_conforms() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance("local", || {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        dirs.lock().unwrap().push(d);
        Arc::new(LocalEndpoint::new(root, false, true))
    });
}

#[test]
fn the_azure_endpoint_conforms() {
    let az = azurite();
    conformance("azure", || {
        let location = BlobLocation::parse(&az.url(&unique_container("conformance"))).unwrap();
        let transport = transport(&HttpSettings { concurrency: 4 }).unwrap();
        // The emulator's development key, chosen automatically for a loopback account.
        let auth =
            blobsync::auth::resolve_auth(&location, &Default::default(), &transport).unwrap();
        Arc::new(AzureEndpoint::new(location, auth, transport).unwrap())
    });
}
