//! Server-side copies: only a service can say how another service reads an entry
//! (`copy_source`) and write from such a source (`open_copy_writer`); the others answer
//! `None`, and the bytes go through a reader and a writer instead.

use blobsync::endpoint::{CommitInfo, CopySource, ErrorClass, WriteShape};
use blobsync_tests::bytes;

use super::{Backend, Fixture, T, azure, md5_of, target};

const SHAPE: WriteShape = WriteShape::Blocks {
    size: 65_536,
    count: 4,
};

pub(super) fn a_copy_source_is_offered_only_by_a_service(f: Fixture) {
    f.put("c.txt", b"copy me", 1 << 20, T);
    let item = f.item("c.txt");
    let source = f.rt.block_on(f.endpoint.copy_source(&item)).unwrap();
    if f.backend != Backend::Azure {
        assert!(source.is_none(), "no service can read it");
        return;
    }
    let source = source.unwrap();
    assert_eq!(source.etag, item.etag, "the copy is of the listed version");
    assert_eq!(source.described, f.endpoint.describe_path("c.txt"));
    assert!(source.url.contains("/c.txt?"), "{}", source.url);
    assert!(source.url.contains("sig="), "a key signs a read SAS for it");
    assert!(source.authorization.is_none(), "the SAS authorises it");
    assert!(!format!("{source:?}").contains("sig="), "never printed");
}

pub(super) fn a_server_side_copy_is_made_only_where_a_service_can_read_the_source(f: Fixture) {
    if f.backend != Backend::Azure {
        let elsewhere = CopySource {
            url: "http://127.0.0.1:9/devstoreaccount1/c/x".into(),
            authorization: None,
            etag: None,
            described: "elsewhere".into(),
        };
        let writer = f.rt.block_on(async {
            f.endpoint.prepare_for_writes().await.unwrap();
            let target = target("x", 200_000, SHAPE);
            f.endpoint.open_copy_writer(&target, &elsewhere).await
        });
        assert!(
            writer.unwrap().is_none(),
            "its writes come through open_writer"
        );
        return;
    }
    // Another container of the same account.
    let source = azure();
    let data = bytes(11, 200_000);
    source.put("source.bin", &data, 65_536, T);
    let item = source.item("source.bin");
    let from = source.rt.block_on(source.endpoint.copy_source(&item));
    let from = from.unwrap().unwrap();
    let writer = f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await.unwrap();
        let target = target("copied.bin", 200_000, SHAPE);
        let writer = f.endpoint.open_copy_writer(&target, &from).await.unwrap();
        let writer = writer.expect("one account's service copies it");
        for i in (0..4).rev() {
            let len = 65_536.min(200_000 - i * 65_536);
            writer.copy_block(i, i * 65_536, len).await.unwrap();
        }
        writer
    });
    assert!(
        f.list(None, &[]).unwrap().files.is_empty(),
        "nothing before the commit"
    );
    f.rt.block_on(writer.commit(CommitInfo {
        md5: item.md5.unwrap(),
        store_md5: true,
        mtime_ns: item.preserved_mtime_ns(),
        metadata: vec![],
        settings: Default::default(),
    }))
    .unwrap();
    let copied = f.item("copied.bin");
    assert_eq!(copied.md5, Some(md5_of(&data)));
    assert_eq!(copied.preserved_mtime_ns(), T);
    assert_eq!(f.read_all(&copied).unwrap(), data);

    // A source that changed since it was listed is not copied.
    source.put("source.bin", b"changed", 1 << 20, T + 1);
    let stale = f.rt.block_on(async {
        let target = target("stale.bin", 200_000, SHAPE);
        let writer = f.endpoint.open_copy_writer(&target, &from).await?.unwrap();
        writer.copy_block(0, 0, 65_536).await
    });
    let e = stale.expect_err("the listed version is gone");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
}
