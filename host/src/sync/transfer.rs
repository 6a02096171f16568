//! Copying one entry from one endpoint to the other, for either direction.
//!
//! The entry is read block by block in order (ranges are fetched ahead concurrently), its
//! MD5 is computed in that same pass, and blocks are written concurrently. Only when every
//! block is written and the source is confirmed unchanged is the entry committed, with its
//! MD5 and modification time. A failure at any point discards what was written.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use tokio::sync::Semaphore;

use crate::endpoint::{CommitInfo, Endpoint, EndpointError, ErrorClass, Item};
use crate::plugin::EndpointKind;

/// The largest block the Blob service accepts.
const MAX_BLOCK: u64 = 4000 << 20;
/// The most blocks a blob may have.
const MAX_BLOCKS: u64 = 50_000;

/// What to do when a downloaded file's MD5 differs from the blob's Content-MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum CheckMd5 {
    /// Do not compare.
    NoCheck,
    /// Log a mismatch, keep the file.
    LogOnly,
    /// Fail on a mismatch; a blob without Content-MD5 passes.
    FailIfDifferent,
    /// Fail on a mismatch or when the blob has no Content-MD5.
    FailIfDifferentOrMissing,
}

/// Transfer settings.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Block size for multi-block transfers (doubled for very large files).
    pub block_size: u64,
    /// Files up to this size are written with a single request.
    pub put_blob_size: u64,
    /// Blocks of one file in flight at once.
    pub blocks_in_flight: usize,
    /// Downloads: the MD5 check.
    pub check_md5: CheckMd5,
    /// Uploads: store the MD5 as Content-MD5.
    pub put_md5: bool,
    /// `--cap-mbps`: the bandwidth shared by all transfers.
    pub rate: Option<Arc<RateLimiter>>,
}

/// A token bucket over bytes, shared by every transfer of a run (`--cap-mbps`). It holds
/// at most one second of tokens, so a pause is never followed by a burst above the cap.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_second: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl RateLimiter {
    /// A limit of `megabits` per second (10^6 bit/s, as azcopy's `--cap-mbps`).
    pub fn new(megabits: f64) -> Self {
        let bytes_per_second = megabits * 1_000_000.0 / 8.0;
        RateLimiter {
            bytes_per_second,
            state: tokio::sync::Mutex::new((bytes_per_second, tokio::time::Instant::now())),
        }
    }

    /// Waits until `bytes` may be sent.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let mut state = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let elapsed = now.duration_since(state.1).as_secs_f64();
            state.0 = (state.0 + elapsed * self.bytes_per_second).min(self.bytes_per_second);
            state.1 = now;
            state.0 -= bytes as f64;
            if state.0 < 0.0 {
                -state.0 / self.bytes_per_second
            } else {
                0.0
            }
        };
        if wait > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
        }
    }
}

/// The block size for a file: the configured one, doubled until the file fits in the
/// service's 50,000 blocks.
pub fn block_size_for(size: u64, configured: u64) -> u64 {
    let mut block = configured.max(1);
    while size > MAX_BLOCKS * block && block < MAX_BLOCK {
        block = (block * 2).min(MAX_BLOCK);
    }
    block
}

/// Memory for blocks in flight, in KiB permits, shared by all transfers.
#[derive(Debug, Clone)]
pub struct BufferBudget {
    semaphore: Arc<Semaphore>,
    total_kib: u32,
}

impl BufferBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        let total_kib = (bytes >> 10).clamp(1024, u32::MAX as u64 >> 4) as u32;
        BufferBudget {
            semaphore: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    async fn acquire(&self, bytes: u64) -> tokio::sync::OwnedSemaphorePermit {
        // A block larger than the whole budget takes all of it.
        let kib = (bytes.div_ceil(1024) as u32).clamp(1, self.total_kib);
        self.semaphore
            .clone()
            .acquire_many_owned(kib)
            .await
            .expect("the buffer budget is never closed")
    }
}

/// A completed copy.
#[derive(Debug, Clone)]
pub struct Copied {
    /// Bytes written.
    pub bytes: u64,
    /// MD5 of what was written.
    pub md5: [u8; 16],
}

/// The modification time a copy of `item` should carry: for a blob, the source file's
/// time stored in its metadata, else its Last-Modified.
pub fn source_mtime(item: &Item) -> i64 {
    match item.entry.endpoint {
        EndpointKind::Local => item.entry.mtime_ns,
        EndpointKind::AzureBlob => item
            .entry
            .metadata
            .iter()
            .find(|(k, _)| k == blobsync_plugin::MTIME_METADATA_KEY)
            .and_then(|(_, v)| blobsync_plugin::parse_rfc3339_ns(v))
            .unwrap_or(item.entry.mtime_ns),
    }
}

/// Copies `item` from `source` to `destination`.
pub async fn copy(
    item: &Item,
    source: &dyn Endpoint,
    destination: &dyn Endpoint,
    options: &TransferOptions,
    budget: &BufferBudget,
) -> Result<Copied, EndpointError> {
    let size = item.entry.size;
    let single = size <= options.put_blob_size;
    let block = if single {
        size.max(1)
    } else {
        block_size_for(size, options.block_size)
    };
    let blocks = if size == 0 { 1 } else { size.div_ceil(block) };
    let reader = source.open_reader(item).await?;
    let writer = destination
        .open_writer(&item.entry.path, size, block)
        .await?;

    let mut md5 = Md5::new();
    let reads = futures::stream::iter(0..blocks)
        .map(|index| {
            let offset = index * block;
            let len = block.min(size - offset.min(size));
            let reader = &reader;
            async move {
                let permit = budget.acquire(len).await;
                let data = reader.read(offset, len as usize).await?;
                Ok::<_, EndpointError>((index, offset, data, permit))
            }
        })
        .buffered(options.blocks_in_flight.max(1));
    let result = reads
        .map_ok(|(index, offset, data, permit)| {
            md5.update(&data);
            let writer = &writer;
            let rate = options.rate.as_deref();
            async move {
                if let Some(rate) = rate {
                    rate.take(data.len() as u64).await;
                }
                writer.write_block(index, offset, data).await?;
                // A single-request upload keeps its data until the commit, so it keeps
                // its share of the budget too.
                Ok::<_, EndpointError>(single.then_some(permit))
            }
        })
        .try_buffer_unordered(options.blocks_in_flight.max(1))
        .try_collect::<Vec<_>>()
        .await;
    let _held = match result {
        Ok(held) => held,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    if let Err(e) = reader.finish().await {
        writer.abort().await;
        return Err(e);
    }
    let md5: [u8; 16] = md5.finalize().into();

    if item.entry.endpoint == EndpointKind::AzureBlob
        && let Err(e) = check_md5(item, &md5, options.check_md5)
    {
        writer.abort().await;
        return Err(e);
    }
    let info = CommitInfo {
        md5: options.put_md5.then_some(md5),
        mtime_ns: source_mtime(item),
        metadata: Vec::new(),
    };
    writer.commit(info).await?;
    Ok(Copied { bytes: size, md5 })
}

fn check_md5(item: &Item, computed: &[u8; 16], policy: CheckMd5) -> Result<(), EndpointError> {
    let stored = item.entry.md5.as_deref();
    let mismatch = stored.is_some_and(|s| s != computed);
    match policy {
        CheckMd5::NoCheck => Ok(()),
        CheckMd5::LogOnly => {
            if mismatch {
                tracing::warn!(
                    path = %item.entry.path,
                    "MD5 of the downloaded data differs from the blob's Content-MD5 (kept: --check-md5=LogOnly)"
                );
            }
            Ok(())
        }
        CheckMd5::FailIfDifferent | CheckMd5::FailIfDifferentOrMissing => {
            if mismatch {
                return Err(EndpointError::new(
                    ErrorClass::Other,
                    format!(
                        "the downloaded data's MD5 {} differs from the blob's Content-MD5 {}; the \
                         file was not written",
                        hex::encode(computed),
                        hex::encode(stored.unwrap_or_default())
                    ),
                ));
            }
            if stored.is_none() && policy == CheckMd5::FailIfDifferentOrMissing {
                return Err(EndpointError::new(
                    ErrorClass::Other,
                    "the blob has no Content-MD5 (--check-md5=FailIfDifferentOrMissing); the file \
                     was not written",
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_size_doubles_like_azcopy() {
        let mib = 1 << 20;
        assert_eq!(block_size_for(100 * mib, 8 * mib), 8 * mib);
        assert_eq!(block_size_for(50_000 * 8 * mib, 8 * mib), 8 * mib);
        assert_eq!(block_size_for(50_000 * 8 * mib + 1, 8 * mib), 16 * mib);
        assert_eq!(block_size_for(u64::MAX / 2, 8 * mib), MAX_BLOCK);
    }
}
