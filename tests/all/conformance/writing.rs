//! Writing: the location made ready (or only checked), blocks that become visible all at
//! once on commit — only over the listed version — with the time and what a blob keeps,
//! nothing left of an aborted or finished write, a write cut short continued where the
//! endpoint can, and whether a commit whose answer was lost landed.

use blobsync::endpoint::{
    BlobSettings, CommitInfo, ContentHeaders, ErrorClass, WriteShape, WriteTarget, Written,
};
use blobsync_tests::{Blobs, azurite, bytes};
use bytes::Bytes;

use super::{Backend, Fixture, T, info, md5_of, target};

/// Where the location's existence can be seen from outside: the folder, the container.
fn location_exists(f: &Fixture) -> Option<bool> {
    match f.backend {
        Backend::Local => Some(f.root.as_ref().unwrap().is_dir()),
        Backend::Azure => Some(Blobs::new(azurite()).container_exists(f.container.as_ref()?)),
        Backend::Memory | Backend::Decorated => None,
    }
}

/// The names at the top of a local folder, temporary files' folder included.
fn top_of(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.root.as_ref().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub(super) fn preparing_makes_the_location_once_and_for_all(f: Fixture) {
    assert_ne!(location_exists(&f), Some(true));
    f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await.unwrap();
        f.endpoint.prepare_for_writes().await.unwrap();
    });
    assert_ne!(location_exists(&f), Some(false));
    assert!(f.list(None, &[]).unwrap().keys.is_empty());
}

pub(super) fn a_writability_check_writes_nothing(f: Fixture) {
    f.rt.block_on(f.endpoint.check_writable())
        .expect("these credentials may create the location");
    assert_ne!(location_exists(&f), Some(true), "nothing was created");
}

pub(super) fn finishing_the_writes_leaves_no_temporary_files(f: Fixture) {
    f.put("dir/a.bin", &bytes(4, 200_000), 65_536, T);
    f.rt.block_on(async {
        let shape = WriteShape::Blocks {
            size: 65_536,
            count: 4,
        };
        let abandoned = f
            .endpoint
            .open_writer(&target("dir/b.bin", 200_000, shape))
            .await
            .unwrap();
        let block = Bytes::from(bytes(5, 65_536));
        abandoned.write_block(0, 0, block).await.unwrap();
        abandoned.abort().await;
        f.endpoint.finish_writes().await;
    });
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["dir/a.bin"]);
    if f.backend == Backend::Local {
        assert_eq!(top_of(&f), ["dir"], "no folder of temporary files is left");
    }
}

pub(super) fn an_overwrite_replaces_only_the_listed_version(f: Fixture) {
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
    let item = f.item("a.txt");
    assert_eq!(item.size, 6, "still the second write");
    assert_eq!(f.read_all(&item).unwrap(), b"second");
}

pub(super) fn commits_carry_the_time_and_what_a_blob_keeps(f: Fixture) {
    let data = b"with metadata";
    let commit = CommitInfo {
        metadata: vec![("colour".into(), "blue".into())],
        settings: BlobSettings {
            headers: ContentHeaders {
                content_type: Some("text/plain".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ..info(data, T)
    };
    f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await.unwrap();
        let size = data.len() as u64;
        let writer = f
            .endpoint
            .open_writer(&target("m.txt", size, WriteShape::Single))
            .await
            .unwrap();
        let block = Bytes::from_static(data);
        writer.write_block(0, 0, block).await.unwrap();
        writer.commit(commit).await.unwrap();
    });
    let item = f.item("m.txt");
    assert_eq!(item.size, data.len() as u64);
    assert_eq!(item.preserved_mtime_ns(), T);
    if f.is_blob() {
        assert_eq!(item.meta("colour"), Some("blue"));
        assert_eq!(item.md5, Some(md5_of(data)));
        let props = item.blob.as_deref().unwrap();
        assert_eq!(props.headers.content_type.as_deref(), Some("text/plain"));
    } else {
        assert!(
            item.metadata.is_empty(),
            "a folder has nowhere to keep them"
        );
        assert!(item.blob.is_none());
    }
}

pub(super) fn an_aborted_write_leaves_nothing(f: Fixture) {
    f.put("kept.txt", b"kept", 1 << 20, T);
    let listed = f.version("kept.txt");
    for shape in [WriteShape::Single, WriteShape::Blocks { size: 4, count: 3 }] {
        f.rt.block_on(async {
            let writer = f
                .endpoint
                .open_writer(&WriteTarget {
                    replaces: listed.clone(),
                    ..target("kept.txt", 10, shape)
                })
                .await
                .unwrap();
            for index in 0..shape.blocks() {
                let block = Bytes::from_static(b"0123");
                writer.write_block(index, index * 4, block).await.unwrap();
            }
            writer.abort().await;
            f.endpoint.finish_writes().await;
        });
    }
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["kept.txt"]);
    assert_eq!(f.read_all(&f.item("kept.txt")).unwrap(), b"kept");
    if f.backend == Backend::Local {
        assert_eq!(top_of(&f), ["kept.txt"]);
    }
}

/// A run killed half way through a write (the writer dropped, neither committed nor
/// aborted): the next attempt at the same source version gets the blocks written back
/// from the local endpoint (`Writer::resumed`); the others answer `None` — a blob's
/// staged blocks are reused by the writer itself — and the write is done again. Another
/// version of the source never resumes from it.
pub(super) fn a_write_cut_short_is_resumed_where_the_endpoint_can(f: Fixture) {
    let data = bytes(7, 200_000);
    let block = |i: u64| {
        let start = (i * 65_536) as usize;
        Bytes::copy_from_slice(&data[start..(start + 65_536).min(data.len())])
    };
    let resumable = |path: &str, tag: &str| WriteTarget {
        resume_tag: Some(tag.into()),
        ..target(
            path,
            200_000,
            WriteShape::Blocks {
                size: 65_536,
                count: 4,
            },
        )
    };
    let resumes = f.backend == Backend::Local;
    f.rt.block_on(async {
        f.endpoint.prepare_for_writes().await.unwrap();
        let killed = f
            .endpoint
            .open_writer(&resumable("r.bin", "v1"))
            .await
            .unwrap();
        for i in 0..2 {
            killed.write_block(i, i * 65_536, block(i)).await.unwrap();
        }
        drop(killed);
        let again = f
            .endpoint
            .open_writer(&resumable("r.bin", "v1"))
            .await
            .unwrap();
        for i in 0..4 {
            match again.resumed(i).await.unwrap() {
                Some(resumed) => {
                    assert!(resumes && i < 2, "block {i} was never written");
                    assert_eq!(resumed, block(i));
                }
                None => {
                    assert!(!resumes || i >= 2, "block {i} is not resumed");
                    again.write_block(i, i * 65_536, block(i)).await.unwrap();
                }
            }
        }
        again.commit(info(&data, T)).await.unwrap();

        let killed = f
            .endpoint
            .open_writer(&resumable("s.bin", "v1"))
            .await
            .unwrap();
        killed.write_block(0, 0, block(0)).await.unwrap();
        drop(killed);
        let other = f
            .endpoint
            .open_writer(&resumable("s.bin", "v2"))
            .await
            .unwrap();
        assert_eq!(other.resumed(0).await.unwrap(), None, "another version");
        other.abort().await;
        f.endpoint.finish_writes().await;
    });
    assert_eq!(f.read_all(&f.item("r.bin")).unwrap(), data);
    assert_eq!(f.list(None, &[]).unwrap().paths(), ["r.bin"]);
    if f.backend == Backend::Local {
        assert_eq!(top_of(&f), ["r.bin"], "nothing of the attempts is left");
    }
}

pub(super) fn holds_tells_whether_a_commit_landed(f: Fixture) {
    let data = b"landed";
    f.put("h.txt", data, 1 << 20, T);
    let written = Written {
        path: "h.txt".into(),
        listed_as: None,
        size: data.len() as u64,
        md5: md5_of(data),
        mtime_ns: T,
    };
    let holds = |w: &Written| f.rt.block_on(f.endpoint.holds(w));
    assert!(holds(&written));
    let other_size = Written {
        size: 7,
        ..written.clone()
    };
    assert!(!holds(&other_size));
    let gone = Written {
        path: "gone.txt".into(),
        ..written.clone()
    };
    assert!(!holds(&gone));
    if f.is_blob() {
        let other_content = Written {
            md5: md5_of(b"other!"),
            ..written.clone()
        };
        assert!(!holds(&other_content), "a blob is told by its MD5");
    } else {
        let other_time = Written {
            mtime_ns: T + 1_000_000_000,
            ..written.clone()
        };
        assert!(!holds(&other_time), "a file by its size and time");
    }
}
