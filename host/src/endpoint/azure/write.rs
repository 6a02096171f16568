//! Writing a blob: one Put Blob for a single-request write, otherwise Put Block ×n and one
//! Put Block List. Nothing is visible until the commit, which carries the whole-file MD5,
//! the metadata (with the source's modification time), the content headers, the access
//! tier and the blob index tags, and is conditional on the listed version (`If-Match`) or
//! on there being none (`If-None-Match: *`).
//!
//! Integrity: every block carries its CRC-64 (`x-ms-content-crc64`) and a Put Blob its
//! MD5, so the service refuses data corrupted on the way and the request is retried.
//!
//! The commit ([`Commit`], [`BlobWriter::commit_blocks`], [`BlobWriter::settle`]) is
//! shared with server-side copies ([`super::server_copy`]), whose blocks the service reads
//! from the source.
//!
//! Resuming: a block's ID is derived from its index, its size and its CRC-64, so a retry
//! or the next run after a crash finds the blocks an earlier attempt staged (Get Block
//! List) and sends only the missing ones. Blocks another tool staged with IDs of another
//! length do not block the upload: the IDs adopt their length, and the commit discards
//! them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use azure_core::http::{Etag, RequestContent, StatusCode};
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders;
use azure_storage_blob::models::{
    AccessTier, BlockBlobClientCommitBlockListOptions, BlockBlobClientStageBlockOptions,
    BlockBlobClientUploadOptions, BlockListType, BlockLookupList,
};
use bytes::Bytes;
use md5::Digest as _;

use super::errors::{azure_error, error_code};
use crate::endpoint::{
    CommitInfo, EndpointError, ErrorClass, MTIME_KEY, Version, WriteShape, Writer, crc64,
};

/// The length of blobsync's block IDs (the service wants one length per blob).
const ID_LEN: usize = 16;
/// How often a refused block list is sent again (see `commit_blocks`).
const COMMIT_RETRIES: u32 = 3;

/// The longest `x-ms-tags` header sent; longer tag sets are set after the commit.
const MAX_TAGS_HEADER: usize = 2000;

/// The ID of block `index` with content CRC `crc` and `size` bytes, `len` bytes long: the
/// index first (so IDs of one blob never collide), then the CRC and size.
pub(super) fn block_id(len: usize, index: u64, crc: [u8; 8], size: usize) -> Vec<u8> {
    let mut id = Vec::with_capacity(len.max(ID_LEN));
    id.extend_from_slice(&(index as u32).to_be_bytes());
    id.extend_from_slice(&crc);
    id.extend_from_slice(&(size as u32).to_be_bytes());
    id.resize(len, 0);
    id
}

/// A failed request: what was being done, and the service's answer.
pub(super) type Failed = (&'static str, azure_core::Error);

/// What a commit sends besides the data and the content headers.
pub(super) struct Commit {
    /// The metadata, with the source's modification time.
    pub(super) metadata: HashMap<String, String>,
    /// Replace only the listed version…
    pub(super) if_match: Option<Etag>,
    /// …or only nothing (`*`).
    pub(super) if_none_match: Option<Etag>,
    /// The access tier, if set.
    pub(super) tier: Option<AccessTier>,
    /// The tags, if set.
    pub(super) tags: Option<HashMap<String, String>>,
    /// The tags are too long for a header: set after the commit.
    pub(super) tags_later: bool,
}

impl Commit {
    /// What committing `info` over the listed version (or over nothing) sends.
    pub(super) fn of(info: &CommitInfo, replaces: Option<&Version>) -> Commit {
        let (if_match, if_none_match) = match replaces {
            Some(v) => (v.etag.as_deref().map(Etag::from), None),
            None => (None, Some(Etag::from("*"))),
        };
        let tags: Option<HashMap<String, String>> = info
            .settings
            .tags
            .as_ref()
            .map(|t| t.iter().cloned().collect());
        // A tag set too long for a header is set once the blob exists.
        let tags_later = tags.as_ref().is_some_and(|t| {
            t.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>() * 3 > MAX_TAGS_HEADER
        });
        Commit {
            metadata: BlobWriter::metadata(info),
            if_match,
            if_none_match,
            tier: info.settings.tier.map(super::update::access_tier),
            tags,
            tags_later,
        }
    }

    /// The tags sent with the commit itself.
    pub(super) fn header_tags(&self) -> Option<HashMap<String, String>> {
        self.tags.clone().filter(|_| !self.tags_later)
    }
}

/// The Put Block List options for `commit`: the content headers, MD5, metadata, tier,
/// tags and conditions, and the checksum of the list itself.
fn block_list_options(
    info: &CommitInfo,
    commit: &Commit,
    body: &RequestContent<BlockLookupList, azure_core::http::XmlFormat>,
) -> BlockBlobClientCommitBlockListOptions<'static> {
    let headers = &info.settings.headers;
    let options = BlockBlobClientCommitBlockListOptions {
        blob_content_md5: info.store_md5.then(|| info.md5.to_vec()),
        blob_content_type: headers.content_type.clone(),
        blob_cache_control: headers.cache_control.clone(),
        blob_content_encoding: headers.content_encoding.clone(),
        blob_content_disposition: headers.content_disposition.clone(),
        blob_content_language: headers.content_language.clone(),
        tier: commit.tier.clone(),
        metadata: Some(commit.metadata.clone()),
        if_match: commit.if_match.clone(),
        if_none_match: commit.if_none_match.clone(),
        ..Default::default()
    };
    let options = match commit.header_tags() {
        Some(tags) => options.with_tags(tags),
        None => options,
    };
    // The body carries its own checksum where the service checks one.
    BlockBlobClientCommitBlockListOptions {
        transactional_content_md5: match body.body() {
            azure_core::http::Body::Bytes(bytes) => Some(md5::Md5::digest(bytes).to_vec()),
            _ => None,
        },
        ..options
    }
}

pub(super) struct BlobWriter {
    pub(super) shape: WriteShape,
    pub(super) client: BlobClient,
    /// The one block of a single-request upload, held until commit.
    pub(super) pending: Mutex<Option<Bytes>>,
    pub(super) described: String,
    pub(super) replaces: Option<Version>,
    /// The size being written.
    pub(super) size: u64,
    /// Block IDs' length.
    pub(super) id_len: AtomicUsize,
    /// Uncommitted blocks the blob already holds: ID → size.
    pub(super) staged: Mutex<HashMap<Vec<u8>, u64>>,
    /// The ID of each block written.
    pub(super) ids: Mutex<Vec<Option<Vec<u8>>>>,
    /// Blocks found staged by an earlier attempt and not sent again.
    pub(super) reused: AtomicU64,
    /// The run's count of requests tried again.
    pub(super) retried: std::sync::Arc<super::retry::RetryCounter>,
}

impl BlobWriter {
    fn fail(&self, what: &str, e: azure_core::Error) -> EndpointError {
        azure_error(what, &self.described, e)
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

    /// Reads the blob's uncommitted blocks, and adopts their ID length.
    pub(super) async fn load_staged(&self) -> Result<(), EndpointError> {
        let list = match self
            .client
            .block_blob_client()
            .get_block_list(BlockListType::Uncommitted, None)
            .await
        {
            Ok(r) => r
                .into_model()
                .map_err(|e| self.fail("cannot read the blocks of", e))?,
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(()),
            Err(e) => return Err(self.fail("cannot read the blocks of", e)),
        };
        let blocks: Vec<(Vec<u8>, u64)> = list
            .uncommitted_blocks
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| Some((b.name?, b.size.unwrap_or(0).max(0) as u64)))
            .collect();
        if let Some((first, _)) = blocks.first()
            && first.len() != self.id_len.load(Ordering::Relaxed)
        {
            if first.len() < 4 {
                return Err(EndpointError::new(
                    ErrorClass::Other,
                    format!(
                        "{} holds uncommitted blocks (left by another tool) whose IDs are too \
                         short to share the blob with; delete the blob, or wait a week for the \
                         service to discard them",
                        self.described
                    ),
                )
                .at(&self.described));
            }
            tracing::debug!(
                "{}: {} uncommitted blocks with {}-byte IDs are there; using that length",
                self.described,
                blocks.len(),
                first.len()
            );
            self.id_len.store(first.len(), Ordering::Relaxed);
        }
        *self.staged.lock().unwrap_or_else(|e| e.into_inner()) = blocks.into_iter().collect();
        Ok(())
    }

    /// The size of an uncommitted block the blob already holds under `id`.
    pub(super) fn staged_size(&self, id: &[u8]) -> Option<u64> {
        self.staged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied()
    }

    /// Records that block `index` was written under `id`.
    pub(super) fn record(&self, index: u64, id: Vec<u8>) {
        if let Some(slot) = self
            .ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(index as usize)
        {
            *slot = Some(id);
        }
    }

    /// True if the blob now holds what this writer committed (same size and MD5): an
    /// earlier try of the commit landed although its answer was lost.
    async fn landed(&self, info: &CommitInfo) -> bool {
        match self.client.get_properties(None).await {
            Ok(r) => {
                let size = r.content_length().ok().flatten();
                let md5 = r.content_md5().ok().flatten();
                size == Some(self.size) && md5.as_deref() == Some(&info.md5[..])
            }
            Err(_) => false,
        }
    }

    async fn stage(&self, index: u64, data: &Bytes) -> Result<Vec<u8>, EndpointError> {
        let crc = crc64(data);
        let id = block_id(self.id_len.load(Ordering::Relaxed), index, crc, data.len());
        if self.staged_size(&id) == Some(data.len() as u64) {
            self.reused.fetch_add(1, Ordering::Relaxed);
            return Ok(id);
        }
        let options = BlockBlobClientStageBlockOptions {
            transactional_content_crc64: Some(crc.to_vec()),
            ..Default::default()
        };
        let result = self
            .client
            .block_blob_client()
            .stage_block(&id, data.len() as u64, data.clone().into(), Some(options))
            .await;
        match result {
            Ok(_) => Ok(id),
            Err(e) => Err(e),
        }
        .map_err(|e| self.fail("cannot upload a block of", e))
    }
    /// A single-request upload of the pending block (Put Blob).
    async fn put(&self, info: &CommitInfo, commit: &Commit) -> Result<(), Failed> {
        let headers = &info.settings.headers;
        let data = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        let len = data.len() as u64;
        // The service checks a Put Blob's MD5 against the data it received.
        let options = |if_none_match: Option<Etag>| {
            let options = BlockBlobClientUploadOptions {
                blob_content_md5: Some(info.md5.to_vec()),
                blob_content_type: headers.content_type.clone(),
                blob_cache_control: headers.cache_control.clone(),
                blob_content_encoding: headers.content_encoding.clone(),
                blob_content_disposition: headers.content_disposition.clone(),
                blob_content_language: headers.content_language.clone(),
                tier: commit.tier.clone(),
                metadata: Some(commit.metadata.clone()),
                if_match: commit.if_match.clone(),
                if_none_match,
                parallel: std::num::NonZero::new(1),
                partition_size: std::num::NonZero::new(len.max(1)),
                ..Default::default()
            };
            match commit.header_tags() {
                Some(tags) => options.with_tags(tags),
                None => options,
            }
        };
        match self
            .client
            .upload(
                data.clone().into(),
                Some(options(commit.if_none_match.clone())),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Azurite counts a blob with only uncommitted blocks (a killed upload's) as
            // existing for `If-None-Match: *` on Put Blob; the service does not. When
            // nothing committed is there, the condition holds: put it without.
            Err(e)
                if commit.if_none_match.is_some()
                    && error_code(&e) == Some("BlobAlreadyExists")
                    && !self.client.exists().await.unwrap_or(true) =>
            {
                self.client
                    .upload(data.into(), Some(options(None)))
                    .await
                    .map(|_| ())
                    .map_err(|e| ("cannot upload", e))
            }
            Err(e) => Err(("cannot upload", e)),
        }
    }

    /// Commits the blocks written (Put Block List). The outer error is a block that was
    /// never written; the inner one is the service's answer.
    pub(super) async fn commit_blocks(
        &self,
        info: &CommitInfo,
        commit: &Commit,
    ) -> Result<Result<(), Failed>, EndpointError> {
        let reused = self.reused.load(Ordering::Relaxed);
        if reused > 0 {
            tracing::info!(
                "{}: {reused} blocks staged by an earlier attempt were reused",
                self.described
            );
        }
        let list = BlockLookupList {
            latest: Some(self.written_ids()?),
            ..Default::default()
        };
        let body: RequestContent<BlockLookupList, azure_core::http::XmlFormat> = list
            .try_into()
            .map_err(|e| self.fail("cannot encode the block list of", e))?;
        let options = block_list_options(info, commit, &body);
        Ok(self.send_block_list(body, options).await)
    }

    /// The ID of every block, in order; an error if one was never written.
    fn written_ids(&self) -> Result<Vec<Vec<u8>>, EndpointError> {
        let ids: Option<Vec<Vec<u8>>> =
            std::mem::take(&mut *self.ids.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        ids.ok_or_else(|| {
            EndpointError::new(
                ErrorClass::Other,
                format!(
                    "internal error: a block of {} was never written",
                    self.described
                ),
            )
        })
    }

    /// Sends the block list, again when the service refuses it as damaged.
    async fn send_block_list(
        &self,
        body: RequestContent<BlockLookupList, azure_core::http::XmlFormat>,
        options: BlockBlobClientCommitBlockListOptions<'_>,
    ) -> Result<(), Failed> {
        let mut tries = 0;
        loop {
            let answer = self
                .client
                .block_blob_client()
                .commit_block_list(body.clone(), Some(options.clone()))
                .await;
            match answer {
                Ok(_) => return Ok(()),
                // Every block was staged, so a refused list is one damaged on the way
                // (a service that does not check the body's checksum answers so): again.
                Err(e) if error_code(&e) == Some("InvalidBlockList") && tries < COMMIT_RETRIES => {
                    tries += 1;
                    self.retried.add();
                    tracing::warn!(
                        "{}: the block list was refused ({e}); sending it again",
                        self.described
                    );
                }
                Err(e) => return Err(("cannot commit the blocks of", e)),
            }
        }
    }

    /// Turns a commit's answer into the outcome (a lost answer to a commit that landed is
    /// success; a failed condition means the blob changed), and sets a tag set too long
    /// for a header.
    pub(super) async fn settle(
        &self,
        result: Result<(), Failed>,
        info: &CommitInfo,
        commit: Commit,
    ) -> Result<(), EndpointError> {
        let result = match result {
            Ok(()) => Ok(()),
            // A try whose answer was lost (a reset, a 500 after the write) and was retried:
            // the blob is ours already if it holds our content.
            Err((_, e)) if self.landed(info).await && is_conflict(&e) => Ok(()),
            Err((_, e))
                if matches!(
                    e.http_status(),
                    Some(StatusCode::PreconditionFailed) | Some(StatusCode::Conflict)
                ) && matches!(
                    error_code(&e),
                    Some("ConditionNotMet") | Some("BlobAlreadyExists") | None
                ) =>
            {
                Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed at the destination since it was listed (another writer?); \
                         it was not overwritten, and the next run compares it again",
                        self.described
                    ),
                )
                .at(&self.described))
            }
            Err((what, e)) => Err(self.fail(what, e)),
        };
        result?;
        match commit.tags {
            Some(tags) if commit.tags_later => {
                super::update::set_tags(&self.client, &tags, &self.described).await
            }
            _ => Ok(()),
        }
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
        let id = match self.stage(index, &data).await {
            Ok(id) => id,
            // Blocks staged by another tool with IDs of another length: adopt it, once.
            Err(e) if e.message().contains("InvalidBlobOrBlock") => {
                self.load_staged().await?;
                self.stage(index, &data).await?
            }
            Err(e) => return Err(e),
        };
        self.record(index, id);
        Ok(())
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        let commit = Commit::of(&info, self.replaces.as_ref());
        let result = if self.shape == WriteShape::Single {
            self.put(&info, &commit).await
        } else {
            self.commit_blocks(&info, &commit).await?
        };
        self.settle(result, &info, commit).await
    }

    async fn abort(self: Box<Self>) {
        // Staged blocks keep their IDs: a retry or the next run reuses them, and a commit
        // (or the service, after a week) discards the rest. Nothing is visible.
    }
}

/// True for the answers a failed write condition gets.
fn is_conflict(e: &azure_core::Error) -> bool {
    matches!(
        e.http_status(),
        Some(StatusCode::PreconditionFailed) | Some(StatusCode::Conflict)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_have_one_length_and_start_with_the_index() {
        let a = block_id(ID_LEN, 0, [1; 8], 10);
        let b = block_id(ID_LEN, 1, [1; 8], 10);
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert_eq!(
            block_id(ID_LEN, 7, [2; 8], 10),
            block_id(ID_LEN, 7, [2; 8], 10)
        );
        assert_eq!(block_id(36, 7, [2; 8], 10).len(), 36);
        assert_eq!(block_id(6, 7, [2; 8], 10)[..4], 7u32.to_be_bytes());
    }
}
