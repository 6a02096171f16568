//! Writing a blob: one Put Blob for a single-request write, otherwise Put Block ×n and one
//! Put Block List. Nothing is visible until the commit, which carries the whole-file MD5,
//! the source's modification time and a Content-Type from the extension.

use std::collections::HashMap;

use azure_core::http::RequestContent;
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{
    BlockBlobClientCommitBlockListOptions, BlockBlobClientUploadOptions, BlockLookupList,
};
use bytes::Bytes;

use super::errors::azure_error;
use crate::endpoint::{CommitInfo, EndpointError, MTIME_KEY, WriteShape, Writer};

/// The Content-Type for a path, from its extension (what a static site needs).
pub(super) fn content_type(path: &str) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

pub(super) struct BlobWriter {
    pub(super) shape: WriteShape,
    pub(super) client: BlobClient,
    /// The one block of a single-request upload, held until commit (the Put Blob carries
    /// the MD5 and metadata).
    pub(super) pending: std::sync::Mutex<Option<Bytes>>,
    pub(super) upload_id: u64,
    pub(super) described: String,
    pub(super) content_type: String,
}

impl BlobWriter {
    fn block_id(&self, index: u64) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.upload_id.to_be_bytes());
        id[8..].copy_from_slice(&index.to_be_bytes());
        id
    }

    fn metadata(info: &CommitInfo) -> HashMap<String, String> {
        let mut metadata: HashMap<String, String> = info
            .metadata
            .iter()
            .filter(|(k, _)| k != MTIME_KEY)
            .cloned()
            .collect();
        metadata.insert(
            MTIME_KEY.to_string(),
            blobsync_plugin::format_rfc3339_ns(info.mtime_ns),
        );
        metadata
    }
}

#[async_trait::async_trait]
impl Writer for BlobWriter {
    async fn write_block(
        &self,
        index: u64,
        _offset: u64,
        data: Bytes,
    ) -> Result<(), EndpointError> {
        if self.shape == WriteShape::Single {
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
            return Ok(());
        }
        let len = data.len() as u64;
        self.client
            .block_blob_client()
            .stage_block(&self.block_id(index), len, data.into(), None)
            .await
            .map(|_| ())
            .map_err(|e| azure_error("cannot upload a block of", &self.described, e))
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        let metadata = Self::metadata(&info);
        if self.shape == WriteShape::Single {
            let data = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_default();
            let len = data.len() as u64;
            let options = BlockBlobClientUploadOptions {
                blob_content_md5: info.md5.map(|m| m.to_vec()),
                blob_content_type: Some(self.content_type.clone()),
                metadata: Some(metadata),
                parallel: std::num::NonZero::new(1),
                partition_size: std::num::NonZero::new(len.max(1)),
                ..Default::default()
            };
            return self
                .client
                .upload(data.into(), Some(options))
                .await
                .map(|_| ())
                .map_err(|e| azure_error("cannot upload", &self.described, e));
        }
        let list = BlockLookupList {
            latest: Some(
                (0..self.shape.blocks())
                    .map(|i| self.block_id(i).to_vec())
                    .collect(),
            ),
            ..Default::default()
        };
        let options = BlockBlobClientCommitBlockListOptions {
            blob_content_md5: info.md5.map(|m| m.to_vec()),
            blob_content_type: Some(self.content_type.clone()),
            metadata: Some(metadata),
            ..Default::default()
        };
        let body: RequestContent<BlockLookupList, azure_core::http::XmlFormat> = list
            .try_into()
            .map_err(|e| azure_error("cannot encode the block list of", &self.described, e))?;
        self.client
            .block_blob_client()
            .commit_block_list(body, Some(options))
            .await
            .map(|_| ())
            .map_err(|e| azure_error("cannot commit the blocks of", &self.described, e))
    }

    async fn abort(self: Box<Self>) {
        // Staged blocks that are never committed are garbage-collected by the service
        // after a week; nothing is visible, so there is nothing to undo.
    }
}
