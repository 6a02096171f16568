//! Writing a blob as a server-side copy: the service reads the source itself, so no
//! content passes through blobsync. Blocks are staged with Put Block From URL (each a
//! range of the source, conditional on its listed ETag) and committed with the same Put
//! Block List as an upload ([`super::write`]), carrying the source's Content-MD5, the
//! metadata (with the source's modification time), headers, tier and tags.
//!
//! A blob of one block whose content headers stay the source's is copied in one request
//! instead: Copy Blob From URL (`x-ms-requires-sync: true`, sources up to 256 MiB), which
//! takes the source's content headers and Content-MD5 and sets the metadata, tier and tags
//! as a commit would, conditional on both the source's listed ETag and the destination's.
//! (Put Blob From URL would too, but the emulator answers it 501.)
//!
//! Block IDs have the upload's layout and length, with a hash of the source's ETag and
//! size where an upload puts the block's CRC-64: a retry, or the next run, reuses the
//! blocks an earlier attempt copied from the same source version.
//!
//! When the service cannot read the source (`CannotVerifyCopySource`: another emulator
//! instance, a network rule, an authorisation it does not accept) or has no copy from a
//! URL at all (including a server error without a storage error code: the emulator's
//! answer under an account SAS), the failure is [`ErrorClass::ServerCopyUnavailable`] and the caller copies
//! through blobsync instead.

use std::sync::atomic::Ordering;

use azure_core::http::{Etag, StatusCode};
use azure_storage_blob::models::{BlockBlobClientStageBlockFromUrlOptions, HttpRange};

use super::errors::{azure_error, describe_error, error_code};
use super::write::{BlobWriter, Commit, Failed, block_id};
use crate::endpoint::{CommitInfo, CopySource, CopyWriter, EndpointError, ErrorClass, crc64};

/// A blob written by the service from a [`CopySource`].
pub(super) struct CopyBlobWriter {
    pub(super) writer: BlobWriter,
    pub(super) source: CopySource,
    /// The session's pipeline, for Copy Blob From URL (the blob client has no call for it).
    pub(super) pipeline: azure_core::http::Pipeline,
}

/// The largest source Copy Blob From URL takes.
const MAX_COPY_FROM_URL: u64 = 256 << 20;

impl CopyBlobWriter {
    /// What stands for a block's content in its ID: the source version and size. `None`
    /// without an ETag, when blocks an earlier attempt copied cannot be trusted.
    fn version_hash(&self) -> Option<[u8; 8]> {
        let etag = self.source.etag.as_deref()?;
        Some(crc64(format!("{etag}\n{}", self.writer.size).as_bytes()))
    }

    /// Has the service copy `len` bytes at `offset` of the source into block `index`.
    async fn stage(&self, index: u64, offset: u64, len: u64) -> Result<Vec<u8>, EndpointError> {
        let hash = self.version_hash();
        let id_len = self.writer.id_len.load(Ordering::Relaxed);
        let id = block_id(id_len, index, hash.unwrap_or_default(), len as usize);
        if hash.is_some() && self.writer.staged_size(&id) == Some(len) {
            self.writer.reused.fetch_add(1, Ordering::Relaxed);
            return Ok(id);
        }
        let options = BlockBlobClientStageBlockFromUrlOptions {
            copy_source_authorization: self.source.authorization.clone(),
            source_range: Some(HttpRange::new(offset, len)),
            source_if_match: self.source.etag.as_deref().map(Etag::from),
            ..Default::default()
        };
        self.writer
            .client
            .block_blob_client()
            .stage_block_from_url(&id, 0, self.source.url.clone(), Some(options))
            .await
            .map(|_| id)
            .map_err(|e| self.copy_error("cannot copy a block of", e))
    }

    /// Stages block `index`, adopting the ID length of blocks another tool staged.
    async fn stage_adopting(
        &self,
        index: u64,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, EndpointError> {
        match self.stage(index, offset, len).await {
            Err(e) if e.message().contains("InvalidBlobOrBlock") => {
                self.writer.load_staged().await?;
                self.stage(index, offset, len).await
            }
            other => other,
        }
    }

    /// The endpoint error for a failed copy request: a source the service cannot read,
    /// or a source that changed, are told apart from other failures.
    fn copy_error(&self, what: &str, e: azure_core::Error) -> EndpointError {
        let described = &self.writer.described;
        if error_code(&e) == Some("CannotVerifyCopySource") || unsupported(&e) {
            return EndpointError::new(
                ErrorClass::ServerCopyUnavailable,
                format!(
                    "the service of {described} cannot copy {} itself: {}",
                    self.source.described,
                    describe_error(&e)
                ),
            )
            .at(described);
        }
        if e.http_status() == Some(StatusCode::PreconditionFailed) {
            return EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{} changed since it was listed; it was not copied, and the next run \
                     compares it again",
                    self.source.described
                ),
            )
            .at(&self.source.described);
        }
        let e = azure_error(what, described, e);
        if e.class() == ErrorClass::Auth {
            return e.explain(
                " — the destination's credentials must allow writing blobs (a SAS needs the \
                 `w` permission, and `c` to create the container)",
            );
        }
        e
    }

    /// The whole blob as one block staged from the source, then committed.
    async fn by_blocks(self: Box<Self>, size: u64, info: CommitInfo) -> Result<(), EndpointError> {
        self.copy_block(0, 0, size).await?;
        self.commit(info).await
    }

    /// One Copy Blob From URL: the source's content, content headers and Content-MD5,
    /// with `commit`'s metadata, tier, tags and conditions.
    async fn copy_from_url(&self, commit: &Commit) -> Result<(), Failed> {
        use azure_core::http::{Context, Method, Request};
        let mut request = Request::new(self.writer.client.url().clone(), Method::Put);
        request.insert_header("x-ms-version", super::transport::API_VERSION);
        request.insert_header("x-ms-copy-source", self.source.url.clone());
        request.insert_header("x-ms-requires-sync", "true");
        if let Some(authorization) = &self.source.authorization {
            request.insert_header("x-ms-copy-source-authorization", authorization.clone());
        }
        if let Some(etag) = &self.source.etag {
            request.insert_header("x-ms-source-if-match", etag.to_string());
        }
        if let Some(etag) = &commit.if_match {
            request.insert_header("if-match", etag.to_string());
        }
        if let Some(etag) = &commit.if_none_match {
            request.insert_header("if-none-match", etag.to_string());
        }
        for (key, value) in &commit.metadata {
            request.insert_header(format!("x-ms-meta-{key}"), value.clone());
        }
        if let Some(tier) = &commit.tier {
            request.insert_header("x-ms-access-tier", tier.to_string());
        }
        if let Some(tags) = commit.header_tags() {
            request.insert_header("x-ms-tags", encode_tags(&tags));
        }
        request.insert_header("content-length", "0");
        self.pipeline
            .send(&Context::new(), &mut request, None)
            .await
            .map(|_| ())
            .map_err(|e| ("cannot copy", e))
    }

    /// True for a failure of the copy itself (the source unreadable, changed, or no copy
    /// from a URL at all), rather than of the write.
    fn is_copy_error(&self, e: &azure_core::Error) -> bool {
        error_code(e) == Some("CannotVerifyCopySource")
            || unsupported(e)
            || (e.http_status() == Some(StatusCode::PreconditionFailed)
                && error_code(e) == Some("SourceConditionNotMet"))
    }
}

/// True when the service has no copy from a URL — or answers one with a server error
/// that names no storage error (see the retry policy, which does not retry those).
fn unsupported(e: &azure_core::Error) -> bool {
    e.http_status() == Some(StatusCode::NotImplemented)
        || (e.http_status().is_some_and(|s| s.is_server_error()) && error_code(e).is_none())
        || matches!(
            error_code(e),
            Some("APINotImplemented" | "NotImplemented" | "FeatureNotSupported")
        )
}

#[async_trait::async_trait]
impl CopyWriter for CopyBlobWriter {
    async fn copy_block(&self, index: u64, offset: u64, len: u64) -> Result<(), EndpointError> {
        let id = self.stage_adopting(index, offset, len).await?;
        self.writer.record(index, id);
        Ok(())
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        let commit = Commit::of(&info, self.writer.replaces.as_ref());
        let result = self.writer.commit_blocks(&info, &commit).await?;
        self.writer.settle(result, &info, commit).await
    }

    async fn copy_whole(self: Box<Self>, size: u64, info: CommitInfo) -> Result<(), EndpointError> {
        if size > MAX_COPY_FROM_URL {
            return self.by_blocks(size, info).await;
        }
        let commit = Commit::of(&info, self.writer.replaces.as_ref());
        let result = match self.copy_from_url(&commit).await {
            // The source not found where the destination's service looked (the emulator's
            // answer for a source in another instance): the blocks' path tells why.
            Err((_, e)) if e.http_status() == Some(StatusCode::NotFound) => {
                tracing::debug!(
                    "{}: {}; copying by blocks",
                    self.writer.described,
                    describe_error(&e)
                );
                return self.by_blocks(size, info).await;
            }
            Err((_, e)) if self.is_copy_error(&e) => {
                return Err(self.copy_error("cannot copy", e));
            }
            other => other,
        };
        self.writer.settle(result, &info, commit).await
    }
}

/// Tags as `x-ms-tags` carries them: a query string, each key and value percent-encoded.
fn encode_tags(tags: &std::collections::HashMap<String, String>) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut pairs: Vec<String> = tags
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect();
    pairs.sort();
    pairs.join("&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_are_a_percent_encoded_query_in_a_fixed_order() {
        let tags = [("team", "web ops"), ("path", "a/b=c")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into_iter()
            .collect();
        assert_eq!(super::encode_tags(&tags), "path=a%2Fb%3Dc&team=web%20ops");
    }
}
