//! Reading a blob for a download: ranged GETs, each conditional on the listed ETag.
//!
//! A blob with a Content-MD5 is read in plain GETs: the copy hashes what it reads, in
//! order, and checks the whole against the Content-MD5 once. Only when that check fails
//! (rare) does it read again with [`Reader::read_checked`]: ranges of up to 4 MiB, each
//! checked against the MD5 the service sends, a corrupted one fetched again on its own. A
//! blob without a Content-MD5 is always read that way. A body that resets, stalls or
//! comes back short is fetched again — that range only — with backoff, up to the retry
//! budget.

use std::sync::Arc;

use azure_core::http::StatusCode;
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{BlobClientDownloadOptions, HttpRange};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};

use super::errors::{azure_error, describe_error};
use super::retry::{RetryCounter, RetrySettings};
use crate::endpoint::{EndpointError, ErrorClass, Reader};

/// The largest range the service returns a transactional MD5 for.
pub(crate) const MAX_CHECKED_RANGE: usize = 4 << 20;

pub(super) struct BlobReader {
    pub(super) client: BlobClient,
    pub(super) etag: Option<azure_core::http::Etag>,
    pub(super) described: String,
    pub(super) retry: RetrySettings,
    pub(super) retries: Arc<RetryCounter>,
    /// The blob's size.
    pub(super) size: u64,
    /// The blob has a Content-MD5, which the copy checks the whole against: plain reads.
    pub(super) trusted: bool,
}

/// Why one try of a range failed.
enum Failure {
    /// Fetching the range again may help (a body error, a short body).
    Retry(String),
    /// The body does not match the checksum the service sent; the MD5 of what came.
    Mismatch([u8; 16]),
    /// It will not (the blob changed, access was refused, the service gave up).
    Fatal(EndpointError),
}

impl BlobReader {
    /// One GET of the range; with `checked` (a range of at most 4 MiB), checked against
    /// the MD5 the service sends. A read of a whole blob with a Content-MD5 sends no range
    /// (checked, against that).
    async fn try_read(&self, offset: u64, len: usize, checked: bool) -> Result<Bytes, Failure> {
        let mut buf = vec![0u8; len];
        let whole = self.trusted && offset == 0 && len as u64 == self.size;
        let options = BlobClientDownloadOptions {
            range: (!whole).then(|| HttpRange::new(offset, len as u64)),
            if_match: self.etag.clone(),
            range_get_content_md5: (checked && !whole).then_some(true),
            parallel: std::num::NonZero::new(1),
            partition_size: std::num::NonZero::new(len),
            ..Default::default()
        };
        let result = match self.client.download_into(&mut buf, Some(options)).await {
            Ok(r) => r,
            Err(e) => return Err(self.failure(e)),
        };
        if result.len != len {
            return Err(Failure::Retry(format!(
                "the body was cut short ({} of {len} bytes)",
                result.len
            )));
        }
        // A range's transactional MD5, or a whole blob's stored Content-MD5.
        let sent = checked
            .then(|| {
                result
                    .headers
                    .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                        "content-md5",
                    ))
                    .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            })
            .flatten();
        if let Some(expected) = sent {
            let got: [u8; 16] = Md5::digest(&buf).into();
            if expected.as_slice() != got {
                return Err(Failure::Mismatch(got));
            }
        }
        Ok(Bytes::from(buf))
    }

    /// What a failed GET means for the range.
    fn failure(&self, e: azure_core::Error) -> Failure {
        if e.http_status() == Some(StatusCode::PreconditionFailed) {
            return Failure::Fatal(
                EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed while it was being downloaded; it will be picked up by the \
                         next run",
                        self.described
                    ),
                )
                .at(&self.described),
            );
        }
        // A status the request's own retries gave up on, or a refusal.
        if e.http_status().is_some() || format!("{e:?}").contains("retry policy expired") {
            return Failure::Fatal(azure_error("cannot read", &self.described, e));
        }
        Failure::Retry(describe_error(&e))
    }

    /// Reads a range, fetching it again (with backoff) until it comes whole and, with
    /// `checked`, matching its checksum — or the retry budget is spent.
    async fn read_range(
        &self,
        offset: u64,
        len: usize,
        checked: bool,
    ) -> Result<Bytes, EndpointError> {
        let mut retries = 0;
        let mut mismatched: Option<[u8; 16]> = None;
        loop {
            let why = match self.try_read(offset, len, checked).await {
                Ok(data) => return Ok(data),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(why)) => why,
                // The same bytes twice, disagreeing with the checksum both times: that is
                // what the blob holds (a whole blob's stored Content-MD5 is wrong), not
                // corruption in transit. The whole-file check decides what to do with it
                // (--check-md5).
                Err(Failure::Mismatch(got)) if mismatched == Some(got) => {
                    match self.try_read(offset, len, false).await {
                        Ok(data) => return Ok(data),
                        Err(Failure::Fatal(e)) => return Err(e),
                        Err(Failure::Retry(why)) => why,
                        Err(Failure::Mismatch(_)) => "the data changed between reads".into(),
                    }
                }
                Err(Failure::Mismatch(got)) => {
                    mismatched = Some(got);
                    "the data does not match the checksum the service sent (corrupted in transit)"
                        .into()
                }
            };
            if retries >= self.retry.max_retries {
                return Err(EndpointError::new(
                    ErrorClass::Other,
                    format!(
                        "cannot read {} (bytes {offset}–{}): {why}; gave up after {retries} \
                         retries",
                        self.described,
                        offset + len as u64
                    ),
                )
                .at(&self.described));
            }
            retries += 1;
            self.retries.add();
            tracing::debug!(
                "{} bytes {offset}+{len}: {why}; fetching the range again (retry {retries})",
                self.described
            );
            tokio::time::sleep(self.retry.backoff(retries)).await;
        }
    }
}

#[async_trait::async_trait]
impl Reader for BlobReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        if self.trusted || len > MAX_CHECKED_RANGE {
            // Checked as a whole by the copy (a range over 4 MiB has no transactional MD5
            // to ask for: the copy's reads are at most 4 MiB for such blobs).
            return self.read_range(offset, len, false).await;
        }
        self.read_range(offset, len, true).await
    }

    async fn read_checked(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        // Asked for when what was read does not match the blob's Content-MD5: reading it
        // again is a retry.
        self.retries.add();
        if len <= MAX_CHECKED_RANGE {
            return self.read_range(offset, len, true).await;
        }
        let mut out = BytesMut::with_capacity(len);
        let end = offset + len as u64;
        let mut at = offset;
        while at < end {
            let piece = (end - at).min(MAX_CHECKED_RANGE as u64) as usize;
            out.extend_from_slice(&self.read_range(at, piece, true).await?);
            at += piece as u64;
        }
        Ok(out.freeze())
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        // Every range was conditional on the listed ETag.
        Ok(())
    }
}
