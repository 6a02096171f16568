//! Reading a blob for a download: ranged GETs, each conditional on the listed ETag. A
//! range of up to 4 MiB asks the service for its MD5 and checks it — except a read of a
//! whole blob that has a Content-MD5, which is checked against that (a plain GET: the
//! service has no hash to compute); a body that resets, stalls, comes back short or fails
//! its check is fetched again — that range only — with backoff, up to the retry budget.

use std::sync::Arc;

use azure_core::http::StatusCode;
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{BlobClientDownloadOptions, HttpRange};
use base64::Engine as _;
use bytes::Bytes;
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
    /// The blob's size and stored Content-MD5, when it has one.
    pub(super) whole: Option<(u64, [u8; 16])>,
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
    /// One GET of the range; with `verify`, checked against the MD5 the service sends.
    async fn try_read(&self, offset: u64, len: usize, verify: bool) -> Result<Bytes, Failure> {
        let mut buf = vec![0u8; len];
        // The whole blob in one read: its own Content-MD5 checks it.
        let whole = self
            .whole
            .filter(|(size, _)| offset == 0 && *size == len as u64)
            .map(|(_, md5)| md5);
        let checked = verify && whole.is_none() && len <= MAX_CHECKED_RANGE;
        let options = BlobClientDownloadOptions {
            range: whole.is_none().then(|| HttpRange::new(offset, len as u64)),
            if_match: self.etag.clone(),
            range_get_content_md5: checked.then_some(true),
            parallel: std::num::NonZero::new(1),
            partition_size: std::num::NonZero::new(len),
            ..Default::default()
        };
        let result = match self.client.download_into(&mut buf, Some(options)).await {
            Ok(r) => r,
            Err(e) if e.http_status() == Some(StatusCode::PreconditionFailed) => {
                return Err(Failure::Fatal(
                    EndpointError::new(
                        ErrorClass::Changed,
                        format!(
                            "{} changed while it was being downloaded; it will be picked up by \
                             the next run",
                            self.described
                        ),
                    )
                    .at(&self.described),
                ));
            }
            // A status the request's own retries gave up on, or a refusal.
            Err(e) if e.http_status().is_some() => {
                return Err(Failure::Fatal(azure_error(
                    "cannot read",
                    &self.described,
                    e,
                )));
            }
            Err(e) if format!("{e:?}").contains("retry policy expired") => {
                return Err(Failure::Fatal(azure_error(
                    "cannot read",
                    &self.described,
                    e,
                )));
            }
            Err(e) => return Err(Failure::Retry(describe_error(&e))),
        };
        if result.len != len {
            return Err(Failure::Retry(format!(
                "the body was cut short ({} of {len} bytes)",
                result.len
            )));
        }
        if verify && let Some(expected) = whole {
            let got: [u8; 16] = Md5::digest(&buf).into();
            if expected != got {
                return Err(Failure::Mismatch(got));
            }
        }
        if checked
            && let Some(expected) = result
                .headers
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                    "content-md5",
                ))
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        {
            let got: [u8; 16] = Md5::digest(&buf).into();
            if expected.as_slice() != got {
                return Err(Failure::Mismatch(got));
            }
        }
        Ok(Bytes::from(buf))
    }
}

#[async_trait::async_trait]
impl Reader for BlobReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let mut retries = 0;
        let mut mismatched: Option<[u8; 16]> = None;
        loop {
            let why = match self.try_read(offset, len, true).await {
                Ok(data) => return Ok(data),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(why)) => why,
                // The same bytes twice, disagreeing with the checksum both times: that is
                // what the blob holds (its stored Content-MD5 is wrong, which a whole-blob
                // range reports), not corruption in transit. The whole-file check decides
                // what to do with it (--check-md5).
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

    async fn finish(&self) -> Result<(), EndpointError> {
        // Every range was conditional on the listed ETag.
        Ok(())
    }
}
