//! `--backup-dir`: what a run would overwrite or delete at the destination is kept first —
//! a local file moved (renamed) into the backup folder, a blob copied server-side into the
//! backup container or folder, with its content, Content-MD5, headers and metadata. If the
//! backup fails, the overwrite or delete does not happen.

use std::path::PathBuf;
use std::sync::Arc;

use super::context::RunContext;
use super::server_copy::ServerCopies;
use super::transfer::{CopyOf, Shared, copy, write_shape};
use crate::endpoint::{
    BlobSettings, CommitInfo, DeleteTarget, Endpoint, EndpointError, Item, MTIME_KEY, Tier,
    Version, WriteTarget,
};

/// Where replaced and deleted entries go.
pub(crate) struct Backup {
    /// The backup location.
    pub(crate) endpoint: Arc<dyn Endpoint>,
    /// A local backup folder (entries are moved into it).
    pub(crate) local_root: Option<PathBuf>,
    /// Added to each name (`--suffix`).
    pub(crate) suffix: String,
    /// The suffix goes before the extension (`--suffix-keep-extension`).
    pub(crate) keep_extension: bool,
    /// Server-side copies into a backup container.
    pub(crate) server: ServerCopies,
}

/// `name` with `suffix`, before its extension when `keep_extension` (a leading dot is
/// not an extension).
pub(crate) fn with_suffix(path: &str, suffix: &str, keep_extension: bool) -> String {
    let (dir, file) = match path.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, path),
    };
    let file = match file.rfind('.').filter(|&i| keep_extension && i > 0) {
        Some(i) => format!("{}{suffix}{}", &file[..i], &file[i..]),
        None => format!("{file}{suffix}"),
    };
    match dir {
        Some(d) => format!("{d}/{file}"),
        None => file,
    }
}

/// What a copy of `entry` within its side carries to stay as it is: its headers, tier
/// (unless archived or only inferred), tags and metadata (the time is written anew).
pub(crate) fn as_it_is(entry: &Item) -> (BlobSettings, Vec<(String, String)>) {
    let props = entry.blob.as_deref();
    let settings = BlobSettings {
        headers: props.map(|p| p.headers.clone()).unwrap_or_default(),
        tier: props.and_then(|p| p.tier.filter(|t| !p.tier_inferred && *t != Tier::Archive)),
        tags: props.map(|p| p.tags.clone()).filter(|t| !t.is_empty()),
    };
    let metadata = entry
        .metadata
        .iter()
        .filter(|(k, _)| k != MTIME_KEY)
        .cloned()
        .collect();
    (settings, metadata)
}

impl Backup {
    /// The backup's name for `path`.
    pub(crate) fn name(&self, path: &str) -> String {
        with_suffix(path, &self.suffix, self.keep_extension)
    }

    /// Where `path` is kept, for messages.
    pub(crate) fn describe(&self, path: &str) -> String {
        self.endpoint.describe_path(&self.name(path))
    }

    /// Keeps the listed version of `entry` (at `destination`) before it is overwritten or
    /// deleted, and reports it.
    pub(crate) async fn keep(
        &self,
        destination: &dyn Endpoint,
        entry: &Item,
        shared: &Shared,
        ctx: &RunContext,
    ) -> Result<(), EndpointError> {
        self.keep_quietly(destination, entry, shared).await?;
        ctx.kept(
            &entry.path,
            &destination.describe_path(&entry.path),
            &self.describe(&entry.path),
            entry.size,
        );
        Ok(())
    }

    async fn keep_quietly(
        &self,
        destination: &dyn Endpoint,
        entry: &Item,
        shared: &Shared,
    ) -> Result<(), EndpointError> {
        let name = self.name(&entry.path);
        if let Some(root) = &self.local_root {
            return destination
                .move_to(&DeleteTarget::of(entry), root, &name)
                .await
                .map_err(|e| e.explain("; it was not overwritten or deleted"));
        }
        // Whatever a backup of the same name holds is replaced.
        let replaces = Some(Version {
            etag: None,
            size: 0,
            mtime_ns: 0,
            inode: None,
            listed_as: None,
        });
        let (settings, metadata) = as_it_is(entry);
        let target = WriteTarget {
            path: name.clone(),
            size: entry.size,
            shape: write_shape(entry.size, &shared.options, u64::MAX),
            replaces: replaces.clone(),
            resume_tag: None,
        };
        let info = CommitInfo {
            md5: entry.md5.unwrap_or_default(),
            store_md5: entry.md5.is_some(),
            mtime_ns: entry.preserved_mtime_ns(),
            metadata: metadata.clone(),
            settings: settings.clone(),
        };
        let copied = entry.size > 0
            && self
                .server
                .copy(
                    entry,
                    &target,
                    shared.options.blocks_in_flight,
                    info,
                    (destination, &*self.endpoint),
                    &super::transfer::unheard,
                )
                .await
                .map_err(|e| backup_failed(e, &self.describe(&entry.path)))?;
        if !copied {
            copy(
                CopyOf {
                    item: entry,
                    to: &name,
                    replaces,
                    metadata,
                    settings,
                    on_moved: &super::transfer::unheard,
                },
                destination,
                &*self.endpoint,
                shared,
            )
            .await
            .map_err(|e| backup_failed(e, &self.describe(&entry.path)))?;
        }
        Ok(())
    }
}

fn backup_failed(e: EndpointError, to: &str) -> EndpointError {
    e.explain(&format!(
        " (backing it up to {to}); it was not overwritten or deleted"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_go_after_the_name_or_before_the_extension() {
        assert_eq!(with_suffix("a/b.txt", "-2024", false), "a/b.txt-2024");
        assert_eq!(with_suffix("a/b.txt", "-2024", true), "a/b-2024.txt");
        assert_eq!(with_suffix("b.tar.gz", "~", true), "b.tar~.gz");
        assert_eq!(with_suffix(".profile", "~", true), ".profile~");
        assert_eq!(with_suffix("dir.d/noext", "~", true), "dir.d/noext~");
        assert_eq!(with_suffix("x", "", true), "x");
    }
}
