//! Hashing blobs by reading them: every blob for `check --download` (a stored
//! Content-MD5 is not trusted — a damaged blob keeps the MD5 of what it should hold), or
//! only blobs without one for `--missing-md5=download`, whose MD5 is then stored in their
//! Content-MD5 so that it is never needed again.

use std::sync::Arc;

use futures::StreamExt;
use md5::{Digest, Md5};

use super::observer::Side;
use super::stop::Stop;
use super::work::PlannedUpdate;
use crate::endpoint::{BlobUpdate, Endpoint, EndpointError, ErrorClass, Item};

/// The largest range read at once.
const RANGE: u64 = 4 << 20;
/// Blobs read at once.
const PARALLEL: usize = 8;

/// Reads and hashes the blobs of one side.
pub(crate) struct BlobHasher {
    pub(crate) endpoint: Arc<dyn Endpoint>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Only blobs without a Content-MD5, and only when the sizes match
    /// (`--missing-md5=download`); else every blob.
    pub(crate) missing_only: bool,
    /// The run's stop: an interrupt ends the reading.
    pub(crate) stop: Stop,
}

async fn hash(endpoint: &dyn Endpoint, item: &Item) -> Result<[u8; 16], EndpointError> {
    let reader = endpoint.open_reader(item).await?;
    let mut md5 = Md5::new();
    let mut offset = 0;
    while offset < item.size {
        let len = RANGE.min(item.size - offset);
        let data = reader.read(offset, len as usize).await?;
        md5.update(&data);
        offset += len;
    }
    reader.finish().await?;
    Ok(md5.finalize().into())
}

impl BlobHasher {
    /// Whether `item`, paired with `other`, is to be read.
    pub(crate) fn wants(&self, item: &Item, other: &Item) -> bool {
        !item.archived() && (!self.missing_only || (item.md5.is_none() && item.size == other.size))
    }

    /// Sets each item's MD5 from its content; returns the ones that could not be read
    /// (by the index given with each), with why. Call it from a thread that may block.
    pub(crate) fn hash_all(&self, items: Vec<(usize, &mut Item)>) -> Vec<(usize, String)> {
        let (endpoint, stop) = (&*self.endpoint, &self.stop);
        let mut items = items;
        let results: Vec<(usize, Result<[u8; 16], EndpointError>)> = self.runtime.block_on(
            futures::stream::iter(items.iter().enumerate())
                .map(|(at, (_, item))| async move {
                    tokio::select! {
                        md5 = hash(endpoint, item) => (at, md5),
                        _ = stop.stopped() => (at, Err(EndpointError::new(
                            ErrorClass::Other,
                            "the run was stopped before it was read",
                        ))),
                    }
                })
                .buffer_unordered(PARALLEL)
                .collect(),
        );
        let mut failed = Vec::new();
        for (at, result) in results {
            let (index, item) = &mut items[at];
            match result {
                Ok(md5) => item.md5 = Some(md5),
                Err(e) => failed.push((*index, format!("cannot read it to compare: {e}"))),
            }
        }
        failed.sort();
        failed
    }
}

/// The in-place update that stores `blob`'s computed MD5 as its Content-MD5, keeping its
/// content headers (Set Blob Properties clears what it is not sent).
pub(crate) fn store_md5(side: Side, blob: &Item) -> Option<PlannedUpdate> {
    let mut update = BlobUpdate::of(blob);
    add_md5(&mut update, blob);
    update.headers.is_some().then(|| PlannedUpdate {
        side,
        update,
        reason: "content unchanged; its Content-MD5 is stored (computed by reading the blob, \
                 --missing-md5=download)"
            .into(),
        rehydrate: false,
    })
}

/// Adds `blob`'s computed MD5 to an update of the same blob.
pub(crate) fn add_md5(update: &mut BlobUpdate, blob: &Item) {
    let (Some(md5), Some(props)) = (blob.md5, blob.blob.as_deref()) else {
        return;
    };
    let headers = match update.headers.take() {
        Some((headers, _)) => headers,
        None => props.headers.clone(),
    };
    update.headers = Some((headers, Some(md5)));
}
