//! Hashing blobs by reading them (`check --download`): their stored Content-MD5 is not
//! trusted — a damaged blob keeps the MD5 of what it should hold.

use std::sync::Arc;

use futures::StreamExt;
use md5::{Digest, Md5};

use crate::endpoint::{Endpoint, EndpointError, Item};

/// The largest range read at once.
const RANGE: u64 = 4 << 20;
/// Blobs read at once.
const PARALLEL: usize = 8;

/// Reads and hashes the blobs of one side.
pub(crate) struct BlobHasher {
    pub(crate) endpoint: Arc<dyn Endpoint>,
    pub(crate) runtime: tokio::runtime::Handle,
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
    /// Sets each item's MD5 from its content; returns the indices that could not be read,
    /// with why. Call it from a thread that may block.
    pub(crate) fn hash_all<'a>(
        &self,
        items: impl Iterator<Item = &'a mut Item>,
    ) -> Vec<(usize, String)> {
        let endpoint = &*self.endpoint;
        // Archived blobs cannot be read; the compare stage skips them with a reason.
        let mut items: Vec<(usize, &mut Item)> =
            items.enumerate().filter(|(_, i)| !i.archived()).collect();
        let results: Vec<(usize, Result<[u8; 16], EndpointError>)> = self.runtime.block_on(
            futures::stream::iter(items.iter().enumerate())
                .map(|(at, (_, item))| async move { (at, hash(endpoint, item).await) })
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
