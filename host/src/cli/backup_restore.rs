//! Putting a kept blob back: the Blob service copies it where it can read the kept blob
//! (one account), else its bytes go through blobsync; either way the copy carries the
//! kept blob's headers, metadata and time. An existing blob is first kept in the backup
//! location when one is given, else replaced only with `--force`.

use md5::Digest as _;

use super::args::AuthArgs;
use super::backup_access::{Failure, blob_endpoint, failed, list_items, usage};
use super::environment::Environment;
use super::sourced::Sourced;
use crate::endpoint::azure::BlobLocation;
use crate::endpoint::{
    BlobSettings, CommitInfo, Endpoint, Item, MTIME_KEY, Version, WriteShape, WriteTarget,
};

/// Blocks of a restore through blobsync.
const BLOCK: u64 = 8 << 20;

/// How a kept blob is put back.
pub(super) struct Restore<'a> {
    pub(super) credentials: &'a Sourced<AuthArgs>,
    pub(super) env: &'a Environment,
    /// Replace an existing blob without keeping it.
    pub(super) force: bool,
}

impl Restore<'_> {
    /// Copies the blob at `from` over `to`; what is at `to` is first copied to `keep`, if
    /// given, else replaced only with `force`. Returns where it was kept.
    pub(super) async fn blob(
        &self,
        from: &BlobLocation,
        to: &BlobLocation,
        keep: Option<&BlobLocation>,
    ) -> Result<Option<String>, Failure> {
        let source = blob_endpoint(from, self.credentials, self.env)?;
        let destination = blob_endpoint(to, self.credentials, self.env)?;
        let item = find(&*source, &from.prefix)
            .await?
            .ok_or_else(|| usage(format!("the kept blob {from} is not there any more")))?;
        let existing = find(&*destination, &to.prefix).await?;
        let mut kept = None;
        if let Some(existing) = &existing {
            match keep {
                Some(keep) => {
                    let backup = blob_endpoint(keep, self.credentials, self.env)?;
                    copy_blob(existing, (&*destination, &*backup), &keep.prefix, None).await?;
                    kept = Some(keep.to_string());
                }
                None if self.force => {}
                None => {
                    return Err(usage(format!(
                        "{to} exists; add --force to replace it, or --backup-dir to keep it \
                         there first"
                    )));
                }
            }
        }
        let replaces = existing.as_ref().map(Version::of);
        copy_blob(&item, (&*source, &*destination), &to.prefix, replaces).await?;
        Ok(kept)
    }
}

/// The blob at `path` of `endpoint`, if there is one.
async fn find(endpoint: &dyn Endpoint, path: &str) -> Result<Option<Item>, Failure> {
    Ok(list_items(endpoint, vec![path.to_string()])
        .await?
        .into_iter()
        .find(|i| i.path == path))
}

/// Copies `item` of `source` to `path` of `destination` (replacing `replaces`, if given),
/// with its headers, metadata and time: by the service where it can read the source,
/// else through blobsync.
async fn copy_blob(
    item: &Item,
    (source, destination): (&dyn Endpoint, &dyn Endpoint),
    path: &str,
    replaces: Option<Version>,
) -> Result<(), Failure> {
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
        path: path.to_string(),
        size: item.size,
        shape: if count == 1 {
            WriteShape::Single
        } else {
            WriteShape::Blocks { size: BLOCK, count }
        },
        replaces,
        resume_tag: None,
    };
    // One account: the service copies it.
    if let Some(copy_source) = source.copy_source(item).await.map_err(failed)?
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
    let reader = source.open_reader(item).await.map_err(failed)?;
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
