//! Copying one entry from one endpoint to the other, in any direction.
//!
//! Blob to blob, the destination's service first copies it server-side
//! ([`super::server_copy`]): nothing passes through blobsync. Otherwise — and when the
//! destination cannot read the source — it is streamed:
//!
//! The write shape (one request, or blocks of a given size) is decided here, once, and
//! handed to the writer. The entry is read block by block in order (ranges are fetched
//! ahead concurrently), its MD5 computed in the same pass, and blocks are written
//! concurrently. Only when every block is written and the source is confirmed unchanged
//! is the entry committed, with its MD5 and modification time. A failure at any point
//! discards what was written.

use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use super::committing::Committing;
use super::config::{CheckMd5, TransferOptions};
use super::server_copy::ServerCopies;
use crate::endpoint::{
    CommitInfo, Endpoint, EndpointError, ErrorClass, Item, Reader, Version, WriteShape,
    WriteTarget, Writer, Written,
};

/// The largest block the Blob service accepts.
const MAX_BLOCK: u64 = 4000 << 20;
/// The most blocks a blob may have.
const MAX_BLOCKS: u64 = 50_000;

/// The block size for a file: the configured one, doubled until the file fits in the
/// service's 50,000 blocks.
pub(crate) fn block_size_for(size: u64, configured: u64) -> u64 {
    let mut block = configured.max(1);
    while size > MAX_BLOCKS * block && block < MAX_BLOCK {
        block = (block * 2).min(MAX_BLOCK);
    }
    block
}

/// How a file of `size` bytes is written: one request up to `put_blob_size`, otherwise
/// blocks of the block size — neither larger than `max_block` (what one read may fetch).
pub(crate) fn write_shape(size: u64, options: &TransferOptions, max_block: u64) -> WriteShape {
    if size <= options.put_blob_size.min(max_block) {
        WriteShape::Single
    } else {
        let block = block_size_for(size, options.block_size).min(max_block);
        WriteShape::Blocks {
            size: block,
            count: size.div_ceil(block),
        }
    }
}

/// A completed copy.
#[derive(Debug, Clone)]
pub(crate) struct Copied {
    /// Bytes written.
    pub(crate) bytes: u64,
    /// MD5 of what was written (a server-side copy: the source's Content-MD5, if any).
    pub(crate) md5: Option<[u8; 16]>,
}

/// What every copy of a session shares. The bandwidth cap and the buffer budget are not
/// here: the endpoints apply them (`endpoint::Throttled`, `endpoint::Budgeted`).
pub(crate) struct Shared {
    pub(crate) options: TransferOptions,
    /// Whether copies are checked against the source's Content-MD5 (downloads).
    pub(crate) check_source_md5: bool,
    /// The largest range one read fetches (downloads: what the service checksums).
    pub(crate) max_read: u64,
    /// Server-side copies (blob → blob).
    pub(crate) server: ServerCopies,
    /// Commits waiting for their answer.
    pub(crate) committing: std::sync::Arc<Committing>,
}

/// One copy: what is read, where it goes, what it carries, and who hears of its progress.
pub(crate) struct CopyOf<'a> {
    /// The source entry.
    pub(crate) item: &'a Item,
    /// The destination path (the item's own, or a backup's name).
    pub(crate) to: &'a str,
    /// The version it replaces, as listed.
    pub(crate) replaces: Option<Version>,
    /// Blob metadata to keep, besides the time.
    pub(crate) metadata: Vec<(String, String)>,
    /// Blob headers, tier and tags.
    pub(crate) settings: crate::endpoint::BlobSettings,
    /// Told of every block that reaches the destination (its length).
    pub(crate) on_moved: &'a (dyn Fn(u64) + Sync),
}

/// Does nothing with progress.
pub(crate) fn unheard(_: u64) {}

/// Copies `copy.item` from `source` to `copy.to` at `destination`.
pub(crate) async fn copy(
    copy: CopyOf<'_>,
    source: &dyn Endpoint,
    destination: &dyn Endpoint,
    shared: &Shared,
) -> Result<Copied, EndpointError> {
    // An empty blob has nothing to copy: one empty Put Blob is as cheap.
    if copy.item.size > 0
        && shared.server.wanted()
        && let Some(copied) = copy_server_side(&copy, source, destination, shared).await?
    {
        return Ok(copied);
    }
    stream(copy, source, destination, shared).await
}

/// Asks the destination's service to copy the entry itself; `None` when it cannot read
/// the source, and the bytes must be streamed.
async fn copy_server_side(
    copy: &CopyOf<'_>,
    source: &dyn Endpoint,
    destination: &dyn Endpoint,
    shared: &Shared,
) -> Result<Option<Copied>, EndpointError> {
    let item = copy.item;
    let size = item.size;
    let target = WriteTarget {
        path: copy.to.to_string(),
        size,
        shape: write_shape(size, &shared.options, u64::MAX),
        replaces: copy.replaces.clone(),
        resume_tag: item.etag.as_deref().map(String::from),
    };
    let info = CommitInfo {
        md5: item.md5.unwrap_or_default(),
        store_md5: item.md5.is_some(),
        mtime_ns: item.preserved_mtime_ns(),
        metadata: copy.metadata.clone(),
        settings: copy.settings.clone(),
    };
    let in_flight = shared.options.blocks_in_flight;
    let copied = shared
        .server
        .copy(
            item,
            &target,
            in_flight,
            info,
            (source, destination),
            copy.on_moved,
        )
        .await?;
    Ok(copied.then_some(Copied {
        bytes: size,
        md5: item.md5,
    }))
}

/// Streams the entry through blobsync: every block is moved, the source confirmed
/// unchanged and its MD5 checked, and only then is the entry committed. A failure at any
/// point discards what was written.
async fn stream(
    copy: CopyOf<'_>,
    source: &dyn Endpoint,
    destination: &dyn Endpoint,
    shared: &Shared,
) -> Result<Copied, EndpointError> {
    let CopyOf {
        item,
        to,
        replaces,
        metadata,
        settings,
        on_moved,
    } = copy;
    let size = item.size;
    let shape = write_shape(size, &shared.options, max_read(item, shared));
    let replaces_name = replaces.as_ref().and_then(|v| v.listed_as.clone());
    let reader = source.open_reader(item).await?;
    let writer = destination
        .open_writer(&WriteTarget {
            path: to.to_string(),
            size,
            shape,
            replaces,
            resume_tag: item.etag.as_deref().map(String::from),
        })
        .await?;
    let md5 = match moved_and_checked(item, shape, &*reader, &*writer, shared, on_moved).await {
        Ok(moved) => moved,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    if let Err(e) = confirm(item, &*reader, &md5, shared).await {
        writer.abort().await;
        return Err(e);
    }
    let info = CommitInfo {
        md5,
        store_md5: shared.options.put_md5,
        mtime_ns: item.preserved_mtime_ns(),
        metadata,
        settings,
    };
    let written = Written {
        path: to.to_string(),
        listed_as: replaces_name,
        size,
        md5,
        mtime_ns: info.mtime_ns,
    };
    shared
        .committing
        .commit(written, writer.commit(info))
        .await?;
    if shape == WriteShape::Single {
        on_moved(size);
    }
    Ok(Copied {
        bytes: size,
        md5: Some(md5),
    })
}

/// Moves every block of `item` from `reader` to `writer`: read in order (ranges fetched
/// ahead concurrently), its MD5 computed in the same pass, written concurrently.
///
/// Whether a killed attempt left a block at the destination is asked first, for several
/// blocks at once, and the reads start as the answers come out — in block order, however
/// the writer answers: the endpoints' buffer budget (`endpoint::Budgeted`) gives room in
/// the order it is asked, so a later block of a copy never holds room that an earlier
/// one waits for.
async fn move_blocks(
    item: &Item,
    shape: WriteShape,
    reader: &dyn Reader,
    writer: &dyn Writer,
    shared: &Shared,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<[u8; 16], EndpointError> {
    let size = item.size;
    let (block, blocks) = blocks_of(shape, size);
    let single = shape == WriteShape::Single;
    let mut md5 = Md5::new();
    let in_flight = shared.options.blocks_in_flight.max(1);
    let reads = futures::stream::iter(0..blocks)
        .map(|index| async move { Ok((index, writer.resumed(index).await?)) })
        .buffered(in_flight)
        .map_ok(|(index, resumed)| {
            let (offset, len) = range_of(index, block, size);
            async move {
                // A block a killed attempt already wrote is neither read nor written again.
                match resumed {
                    Some(data) => Ok::<_, EndpointError>((index, offset, data, false)),
                    None => Ok((
                        index,
                        offset,
                        reader.read(offset, len as usize).await?,
                        true,
                    )),
                }
            }
        })
        .try_buffered(in_flight);
    reads
        .map_ok(|(index, offset, data, fresh)| {
            md5.update(&data);
            async move {
                let len = data.len() as u64;
                if !fresh {
                    on_moved(len);
                    return Ok::<_, EndpointError>(());
                }
                // A single-request write keeps the block until the commit, and with it
                // the block's share of the buffer budget.
                writer.write_block(index, offset, data).await?;
                if !single {
                    on_moved(len);
                }
                Ok(())
            }
        })
        .try_buffer_unordered(in_flight)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(md5.finalize().into())
}

/// The block size and the number of blocks of an entry of `size` bytes written as
/// `shape`.
fn blocks_of(shape: WriteShape, size: u64) -> (u64, u64) {
    match shape {
        WriteShape::Single => (size.max(1), 1),
        WriteShape::Blocks { size, count } => (size, count),
    }
}

/// Block `index`'s offset and length, blocks of `block` bytes in `size`.
fn range_of(index: u64, block: u64, size: u64) -> (u64, u64) {
    let offset = index * block;
    (offset, block.min(size - offset.min(size)))
}

/// The largest range one read of `item` fetches: the block size for a blob whose
/// Content-MD5 checks the whole copy, else what the session's reads are checked in
/// (`Shared::max_read`: ranges the service checksums, for blobs without one).
fn max_read(item: &Item, shared: &Shared) -> u64 {
    if shared.check_source_md5 && item.md5.is_some() {
        shared.options.block_size
    } else {
        shared.max_read
    }
}

/// Moves every block (see [`move_blocks`]); where the source's Content-MD5 checks the
/// copy and the whole does not match it, every block is read again, each piece checked on
/// its way ([`Reader::read_checked`]), and written again: a range corrupted in transit is
/// replaced. What the blob holds is then judged by the whole-file check.
async fn moved_and_checked(
    item: &Item,
    shape: WriteShape,
    reader: &dyn Reader,
    writer: &dyn Writer,
    shared: &Shared,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<[u8; 16], EndpointError> {
    let md5 = move_blocks(item, shape, reader, writer, shared, on_moved).await?;
    let Some(stored) = item.md5.filter(|_| shared.check_source_md5) else {
        return Ok(md5);
    };
    if stored == md5 {
        return Ok(md5);
    }
    tracing::debug!(
        path = %item.path,
        "the copy's MD5 differs from the blob's Content-MD5; reading it again in checked ranges"
    );
    rewrite_checked(item, shape, reader, writer, shared).await
}

/// Reads every block again with [`Reader::read_checked`] and writes it again, in order;
/// returns the MD5 of what was written.
async fn rewrite_checked(
    item: &Item,
    shape: WriteShape,
    reader: &dyn Reader,
    writer: &dyn Writer,
    shared: &Shared,
) -> Result<[u8; 16], EndpointError> {
    let size = item.size;
    let (block, blocks) = blocks_of(shape, size);
    let in_flight = shared.options.blocks_in_flight.max(1);
    let mut md5 = Md5::new();
    futures::stream::iter(0..blocks)
        .map(|index| async move {
            let (offset, len) = range_of(index, block, size);
            let data = reader.read_checked(offset, len as usize).await?;
            Ok::<_, EndpointError>((index, offset, data))
        })
        .buffered(in_flight)
        .map_ok(|(index, offset, data)| {
            md5.update(&data);
            writer.write_block(index, offset, data)
        })
        .try_buffer_unordered(in_flight)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(md5.finalize().into())
}

/// Confirms the source did not change while it was read and, where copies are checked
/// against it (downloads), that the MD5 matches the source's Content-MD5.
async fn confirm(
    item: &Item,
    reader: &dyn Reader,
    md5: &[u8; 16],
    shared: &Shared,
) -> Result<(), EndpointError> {
    reader.finish().await?;
    if shared.check_source_md5 {
        check_md5(item, md5, shared.options.check_md5)?;
    }
    Ok(())
}

fn check_md5(item: &Item, computed: &[u8; 16], policy: CheckMd5) -> Result<(), EndpointError> {
    let stored = item.md5.as_ref();
    let mismatch = stored.is_some_and(|s| s != computed);
    match policy {
        CheckMd5::NoCheck => Ok(()),
        CheckMd5::LogOnly => {
            if mismatch {
                tracing::warn!(
                    path = %item.path,
                    "MD5 of the downloaded data differs from the blob's Content-MD5 (kept: \
                     --check-md5=LogOnly)"
                );
            }
            Ok(())
        }
        CheckMd5::FailIfDifferent | CheckMd5::FailIfDifferentOrMissing => {
            if let Some(stored) = stored.filter(|_| mismatch) {
                return Err(EndpointError::new(
                    ErrorClass::Corrupt,
                    format!(
                        "the downloaded data's MD5 {} differs from the blob's Content-MD5 {}: \
                         the blob is damaged; the file was not written, and the next upload \
                         from the original replaces the blob",
                        hex::encode(computed),
                        hex::encode(stored)
                    ),
                )
                .at(&item.path));
            }
            if stored.is_none() && policy == CheckMd5::FailIfDifferentOrMissing {
                return Err(EndpointError::new(
                    ErrorClass::Other,
                    "the blob has no Content-MD5 (--check-md5=FailIfDifferentOrMissing); the \
                     file was not written",
                )
                .at(&item.path));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::endpoint::memory::MemoryEndpoint;
    use crate::endpoint::{EndpointKind, ListRequest};

    const MIB: u64 = 1 << 20;

    fn options(block_size: u64, put_blob_size: u64) -> TransferOptions {
        TransferOptions {
            block_size,
            put_blob_size,
            blocks_in_flight: 4,
            check_md5: CheckMd5::FailIfDifferent,
            put_md5: true,
        }
    }

    #[test]
    fn block_size_doubles_like_azcopy() {
        assert_eq!(block_size_for(100 * MIB, 8 * MIB), 8 * MIB);
        assert_eq!(block_size_for(50_000 * 8 * MIB, 8 * MIB), 8 * MIB);
        assert_eq!(block_size_for(50_000 * 8 * MIB + 1, 8 * MIB), 16 * MIB);
        assert_eq!(block_size_for(u64::MAX / 2, 8 * MIB), MAX_BLOCK);
    }

    #[test]
    fn the_shape_follows_the_single_request_threshold_not_the_block_size() {
        let o = options(4 * MIB, MIB);
        assert_eq!(write_shape(MIB, &o, u64::MAX), WriteShape::Single);
        assert_eq!(
            write_shape(2 * MIB, &o, u64::MAX),
            WriteShape::Blocks {
                size: 4 * MIB,
                count: 1
            },
            "above --put-blob-size-mb is blocks, even below --block-size-mb"
        );
        assert_eq!(
            write_shape(9 * MIB, &options(4 * MIB, 4 * MIB), u64::MAX),
            WriteShape::Blocks {
                size: 4 * MIB,
                count: 3
            }
        );
    }

    /// Regression: with `--put-blob-size-mb` below `--block-size-mb`, a file between the
    /// two sizes went up as one Put Blob (the writer compared with the block size) and
    /// released its buffer permit before the commit.
    #[test]
    fn a_file_between_put_blob_size_and_block_size_is_written_in_blocks() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let source = MemoryEndpoint::new(EndpointKind::Local);
        let destination = MemoryEndpoint::new(EndpointKind::Blob);
        let data: Vec<u8> = (0..2 * MIB).map(|i| (i % 251) as u8).collect();
        source.insert("f.bin", &data, 1_700_000_000_000_000_000);
        let mut lister = source.list(&ListRequest::default()).unwrap();
        let Some(Ok(batch)) = lister.next_batch() else {
            panic!("nothing listed")
        };
        let crate::endpoint::Listed::File(item) = batch.into_iter().next().unwrap() else {
            panic!("not a file")
        };
        let shared = Shared {
            options: options(4 * MIB, MIB),
            check_source_md5: false,
            max_read: u64::MAX,
            server: ServerCopies::new(true),
            committing: Default::default(),
        };
        let copied = rt
            .block_on(copy(
                CopyOf {
                    item: &item,
                    to: &item.path,
                    replaces: None,
                    metadata: Vec::new(),
                    settings: Default::default(),
                    on_moved: &unheard,
                },
                &source,
                &destination,
                &shared,
            ))
            .unwrap();
        assert_eq!(copied.bytes, 2 * MIB);
        assert_eq!(
            destination.writes(),
            vec![(
                "f.bin".to_string(),
                WriteShape::Blocks {
                    size: 4 * MIB,
                    count: 1
                }
            )]
        );
        assert_eq!(destination.get("f.bin").unwrap(), data);
    }

    /// A writer that answers whether it can resume a block later the earlier the block
    /// (as a local destination may: it answers on the blocking pool, in any order).
    struct SlowToAnswer(Box<dyn Writer>);

    #[async_trait::async_trait]
    impl Writer for SlowToAnswer {
        async fn write_block(
            &self,
            index: u64,
            offset: u64,
            data: Bytes,
        ) -> Result<(), EndpointError> {
            self.0.write_block(index, offset, data).await
        }
        async fn resumed(&self, index: u64) -> Result<Option<Bytes>, EndpointError> {
            tokio::time::sleep(std::time::Duration::from_millis(100 - index)).await;
            Ok(None)
        }
        async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
            self.0.commit(info).await
        }
        async fn abort(self: Box<Self>) {}
    }

    /// A copy whose blocks in flight would take more than the buffer budget finishes:
    /// it asks for room in block order however its writer answers, so it never holds
    /// room that an earlier block of its own waits for.
    #[tokio::test(start_paused = true)]
    async fn a_copy_with_more_blocks_in_flight_than_the_budget_holds_finishes() {
        use crate::endpoint::{Budgeted, BufferBudget};
        let memory = MemoryEndpoint::new(EndpointKind::Local);
        let data: Vec<u8> = (0..4 * MIB).map(|i| (i % 253) as u8).collect();
        memory.insert("a.bin", &data, 1_700_000_000_000_000_000);
        let item = memory.listed("a.bin").unwrap();
        let source = Budgeted::new(memory, BufferBudget::new(MIB));
        let destination = MemoryEndpoint::new(EndpointKind::Blob);
        let shape = WriteShape::Blocks {
            size: 256 << 10,
            count: 16,
        };
        let target = WriteTarget {
            path: "a.bin".into(),
            size: 4 * MIB,
            shape,
            replaces: None,
            resume_tag: None,
        };
        let shared = Shared {
            options: TransferOptions {
                blocks_in_flight: 8,
                ..options(256 << 10, 64 << 10)
            },
            check_source_md5: false,
            max_read: u64::MAX,
            server: ServerCopies::new(false),
            committing: Default::default(),
        };
        let reader = source.open_reader(&item).await.unwrap();
        let writer = Box::new(SlowToAnswer(
            destination.open_writer(&target).await.unwrap(),
        ));
        let moved = move_blocks(&item, shape, &*reader, &*writer, &shared, &unheard);
        let md5 = tokio::time::timeout(std::time::Duration::from_secs(60), moved)
            .await
            .expect("the copy finishes")
            .unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(&data)));
    }
}
