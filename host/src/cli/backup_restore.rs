//! Putting a kept blob back: the Blob service copies it where it can read the kept blob
//! (one account), else its bytes go through blobsync; either way the copy carries the
//! kept blob's headers, metadata and time, and replaces an existing blob only with
//! `--force`.

use md5::Digest as _;

use super::args::AuthArgs;
use super::backups::{Failure, blob_endpoint, failed, list_items, usage};
use super::validate::UrlContext;
use crate::endpoint::azure::BlobLocation;
use crate::endpoint::{BlobSettings, CommitInfo, MTIME_KEY, Version, WriteShape, WriteTarget};

/// Blocks of a restore through blobsync.
const BLOCK: u64 = 8 << 20;

/// Copies the blob at `from` over `to`.
pub(super) async fn restore_blob(
    from: &BlobLocation,
    to: &BlobLocation,
    force: bool,
    credentials: &AuthArgs,
    urls: &UrlContext,
) -> Result<(), Failure> {
    let source = blob_endpoint(from, credentials, urls)?;
    let destination = blob_endpoint(to, credentials, urls)?;
    let item = list_items(&*source, vec![from.prefix.clone()])
        .await?
        .into_iter()
        .find(|i| i.path == from.prefix)
        .ok_or_else(|| usage(format!("the kept blob {from} is not there any more")))?;
    let existing = list_items(&*destination, vec![to.prefix.clone()])
        .await?
        .into_iter()
        .find(|i| i.path == to.prefix);
    if existing.is_some() && !force {
        return Err(usage(format!("{to} exists; add --force to replace it")));
    }
    let props = item.blob.as_deref();
    let info = CommitInfo {
        md5: item.md5.unwrap_or_default(),
        store_md5: item.md5.is_some(),
        mtime_ns: item.preserved_mtime_ns(),
        metadata: item
            .metadata
            .iter()
            .filter(|(k, _)| k != MTIME_KEY)
            .cloned()
            .collect(),
        settings: BlobSettings {
            headers: props.map(|p| p.headers.clone()).unwrap_or_default(),
            tier: None,
            tags: props.map(|p| p.tags.clone()).filter(|t| !t.is_empty()),
        },
    };
    let count = item.size.div_ceil(BLOCK).max(1);
    let target = WriteTarget {
        path: to.prefix.clone(),
        size: item.size,
        shape: if count == 1 {
            WriteShape::Single
        } else {
            WriteShape::Blocks { size: BLOCK, count }
        },
        replaces: existing.as_ref().map(Version::of),
        resume_tag: None,
    };
    // One account: the service copies it.
    if let Some(copy_source) = source.copy_source(&item).await.map_err(failed)?
        && let Some(writer) = destination
            .open_copy_writer(&target, &copy_source)
            .await
            .map_err(failed)?
    {
        let copied = async {
            for index in 0..target.shape.blocks() {
                let offset = index * BLOCK;
                let len = (item.size - offset).min(BLOCK);
                writer.copy_block(index, offset, len).await?;
            }
            writer.commit(info.clone()).await
        }
        .await;
        match copied {
            Ok(()) => return Ok(()),
            Err(e) if e.class() == crate::endpoint::ErrorClass::ServerCopyUnavailable => {}
            Err(e) => return Err(failed(e)),
        }
    }
    // Through blobsync.
    let reader = source.open_reader(&item).await.map_err(failed)?;
    let writer = destination.open_writer(&target).await.map_err(failed)?;
    let mut md5 = md5::Md5::new();
    for index in 0..target.shape.blocks() {
        let offset = index * BLOCK;
        let len = (item.size - offset).min(BLOCK) as usize;
        let data = reader.read(offset, len).await.map_err(failed)?;
        md5.update(&data);
        writer
            .write_block(index, offset, data)
            .await
            .map_err(failed)?;
    }
    reader.finish().await.map_err(failed)?;
    let info = CommitInfo {
        md5: md5.finalize().into(),
        store_md5: true,
        ..info
    };
    writer.commit(info).await.map_err(failed)
}
