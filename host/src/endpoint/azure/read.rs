//! Reading a blob for a download: ranged GETs, each conditional on the listed ETag.

use azure_core::http::StatusCode;
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{BlobClientDownloadOptions, HttpRange};
use bytes::Bytes;

use super::errors::azure_error;
use crate::endpoint::{EndpointError, ErrorClass, Reader};

pub(super) struct BlobReader {
    pub(super) client: BlobClient,
    pub(super) etag: Option<azure_core::http::Etag>,
    pub(super) described: String,
}

#[async_trait::async_trait]
impl Reader for BlobReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let mut buf = vec![0u8; len];
        let options = BlobClientDownloadOptions {
            range: Some(HttpRange::new(offset, len as u64)),
            if_match: self.etag.clone(),
            parallel: std::num::NonZero::new(1),
            partition_size: std::num::NonZero::new(len),
            ..Default::default()
        };
        match self.client.download_into(&mut buf, Some(options)).await {
            Ok(r) if r.len == len => Ok(Bytes::from(buf)),
            Ok(r) => Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{}: expected {len} bytes at offset {offset}, got {}",
                    self.described, r.len
                ),
            )
            .at(&self.described)),
            Err(e) if e.http_status() == Some(StatusCode::PreconditionFailed) => {
                Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed while it was being downloaded; it will be picked up by the \
                         next run",
                        self.described
                    ),
                )
                .at(&self.described))
            }
            Err(e) => Err(azure_error("cannot read", &self.described, e)),
        }
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        // Every range was conditional on the listed ETag.
        Ok(())
    }
}
