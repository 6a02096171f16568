//! blobsync's own blobs below the reserved prefix at the container's root (a two-way
//! sync's state with `--state-in-container`): read into a local file and written from
//! one in blocks, a few MiB at a time, so a large state is never held in memory. Writes
//! are conditional on the version read (or on there being none).

use std::io::{Read as _, Write as _};
use std::path::Path;

use azure_core::http::{Etag, RequestContent, StatusCode};
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobClientGetPropertiesResultHeaders,
    BlockBlobClientCommitBlockListOptions, BlockBlobClientCommitBlockListResultHeaders,
    BlockLookupList, HttpRange,
};

use super::errors::{azure_error, error_code};
use crate::endpoint::{EndpointError, ErrorClass};

/// The size of each range read and each block written.
const PIECE: usize = 4 << 20;

/// Reads the blob into `file`: its ETag, or `None` if there is none.
pub(super) async fn read_own(
    client: &BlobClient,
    file: &Path,
    described: &str,
) -> Result<Option<String>, EndpointError> {
    let properties = match client.get_properties(None).await {
        Ok(p) => p,
        Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(None),
        Err(e) => return Err(azure_error("cannot read", described, e)),
    };
    let size = properties.content_length().ok().flatten().unwrap_or(0);
    let etag = properties.etag().ok().flatten().map(|e| e.to_string());
    let cannot = |e: std::io::Error| EndpointError::io("cannot write", file, e);
    let mut out = std::fs::File::create(file).map_err(cannot)?;
    let mut offset = 0u64;
    while offset < size {
        let len = PIECE.min((size - offset) as usize);
        let mut buf = vec![0u8; len];
        let options = BlobClientDownloadOptions {
            range: Some(HttpRange::new(offset, len as u64)),
            if_match: etag.as_deref().map(Etag::from),
            parallel: std::num::NonZero::new(1),
            partition_size: std::num::NonZero::new(len),
            ..Default::default()
        };
        let got = client
            .download_into(&mut buf, Some(options))
            .await
            .map_err(|e| azure_error("cannot read", described, e))?;
        if got.len != len {
            return Err(EndpointError::new(
                ErrorClass::Other,
                format!("{described}: the body was cut short; run again"),
            ));
        }
        out.write_all(&buf).map_err(cannot)?;
        offset += len as u64;
    }
    out.sync_all().map_err(cannot)?;
    Ok(etag)
}

/// Writes `file` as the blob if it is still version `tag` (`None`: if there is none):
/// the new ETag. Another version there is [`ErrorClass::Changed`].
pub(super) async fn write_own(
    client: &BlobClient,
    file: &Path,
    tag: Option<&str>,
    described: &str,
) -> Result<String, EndpointError> {
    let cannot = |e: std::io::Error| EndpointError::io("cannot read", file, e);
    let mut input = std::fs::File::open(file).map_err(cannot)?;
    let blocks = client.block_blob_client();
    let mut ids = Vec::new();
    loop {
        let mut buf = vec![0u8; PIECE];
        let mut len = 0;
        while len < PIECE {
            match input.read(&mut buf[len..]).map_err(cannot)? {
                0 => break,
                n => len += n,
            }
        }
        if len == 0 {
            // The end (or an empty file: an empty block list makes an empty blob).
            break;
        }
        buf.truncate(len);
        let id = format!("{:08}", ids.len()).into_bytes();
        blocks
            .stage_block(&id, len as u64, bytes::Bytes::from(buf).into(), None)
            .await
            .map_err(|e| azure_error("cannot write", described, e))?;
        ids.push(id);
        if len < PIECE {
            break;
        }
    }
    let list = BlockLookupList {
        latest: Some(ids),
        ..Default::default()
    };
    let body: RequestContent<BlockLookupList, azure_core::http::XmlFormat> = list
        .try_into()
        .map_err(|e| azure_error("cannot write", described, e))?;
    let options = BlockBlobClientCommitBlockListOptions {
        if_match: tag.map(Etag::from),
        if_none_match: tag.is_none().then(|| Etag::from("*")),
        ..Default::default()
    };
    match blocks.commit_block_list(body, Some(options)).await {
        Ok(r) => Ok(r
            .etag()
            .ok()
            .flatten()
            .map(|e| e.to_string())
            .unwrap_or_default()),
        Err(e)
            if e.http_status() == Some(StatusCode::PreconditionFailed)
                || error_code(&e) == Some("BlobAlreadyExists") =>
        {
            Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{described} was written by another run since this one read it; it was \
                     not replaced"
                ),
            )
            .at(described))
        }
        Err(e) => Err(azure_error("cannot write", described, e)),
    }
}
