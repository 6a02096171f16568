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
use super::limits::{BufferBudget, RateLimiter};
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

/// What every copy of a session shares.
pub(crate) struct Shared {
    pub(crate) options: TransferOptions,
    pub(crate) budget: BufferBudget,
    pub(crate) rate: Option<RateLimiter>,
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
    let shape = write_shape(size, &shared.options, shared.max_read);
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
    let (md5, _held) = match move_blocks(item, shape, &*reader, &*writer, shared, on_moved).await {
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

/// The buffer permits a single-request write keeps until its commit.
type Held = Vec<Option<Option<tokio::sync::OwnedSemaphorePermit>>>;

/// Moves every block of `item` from `reader` to `writer`: read in order (ranges fetched
/// ahead concurrently), its MD5 computed in the same pass, written concurrently. Returns
/// the MD5 and what a single-request write holds of the budget.
async fn move_blocks(
    item: &Item,
    shape: WriteShape,
    reader: &dyn Reader,
    writer: &dyn Writer,
    shared: &Shared,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<([u8; 16], Held), EndpointError> {
    let size = item.size;
    let (block, blocks) = match shape {
        WriteShape::Single => (size.max(1), 1),
        WriteShape::Blocks { size, count } => (size, count),
    };
    let single = shape == WriteShape::Single;
    let mut md5 = Md5::new();
    let in_flight = shared.options.blocks_in_flight.max(1);
    let reads = futures::stream::iter(0..blocks)
        .map(|index| {
            let offset = index * block;
            let len = block.min(size - offset.min(size));
            async move {
                let permit = shared.budget.acquire(len).await;
                // A block a killed attempt already wrote is neither read nor written again.
                if let Some(data) = writer.resumed(index).await? {
                    return Ok::<_, EndpointError>((index, offset, data, permit, false));
                }
                let data = reader.read(offset, len as usize).await?;
                Ok((index, offset, data, permit, true))
            }
        })
        .buffered(in_flight);
    let held = reads
        .map_ok(|(index, offset, data, permit, fresh)| {
            md5.update(&data);
            async move {
                let len = data.len() as u64;
                if !fresh {
                    on_moved(len);
                    return Ok::<_, EndpointError>(None);
                }
                if let Some(rate) = &shared.rate {
                    rate.take(len).await;
                }
                writer.write_block(index, offset, data).await?;
                if !single {
                    on_moved(len);
                }
                // A single-request write keeps its data until the commit, so it keeps its
                // share of the budget too.
                Ok(single.then_some(permit))
            }
        })
        .try_buffer_unordered(in_flight)
        .try_collect::<Vec<_>>()
        .await?;
    Ok((md5.finalize().into(), held))
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
            budget: BufferBudget::new(8 * MIB),
            rate: None,
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
}
