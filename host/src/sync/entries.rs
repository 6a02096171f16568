//! Lending listed items to plugins: an item's path and metadata move into the plugin's
//! entry for a call and back afterwards, so no string is copied on the host side.

use crate::endpoint::{Dir, EndpointKind, Item, Tier};
use crate::plugin;

/// The plugin-facing kind of an endpoint.
pub(crate) fn plugin_kind(kind: EndpointKind) -> plugin::EndpointKind {
    match kind {
        EndpointKind::Local => plugin::EndpointKind::Local,
        EndpointKind::Blob => plugin::EndpointKind::AzureBlob,
    }
}

/// The plugin-facing side.
pub(crate) fn plugin_side(side: super::Side) -> plugin::Side {
    match side {
        super::Side::Source => plugin::Side::Source,
        super::Side::Destination => plugin::Side::Destination,
    }
}

/// Moves `item`'s path and metadata into a plugin entry; [`give_back`] returns them. A
/// blob's parsed stored time, tier, archive status and content headers go along.
pub(crate) fn lend(item: &mut Item, kind: plugin::EndpointKind) -> plugin::Entry {
    let stored_mtime_ns = item.blob.as_ref().and_then(|_| item.stored_mtime_ns());
    let mut entry = plugin::Entry::file(
        std::mem::take(&mut item.path),
        item.size,
        item.mtime_ns,
        item.md5,
        kind,
        std::mem::take(&mut item.metadata),
    );
    entry.identity = item.identity.map(|i| (i.dev, i.ino));
    if let Some(props) = item.blob.as_deref() {
        entry.stored_mtime_ns = stored_mtime_ns;
        entry.access_tier = props.tier.map(plugin_tier);
        entry.archive_status = props.archive_status.as_deref().and_then(archive_status);
        let h = &props.headers;
        entry.content_headers = Some(plugin::ContentHeaders {
            content_type: h.content_type.clone(),
            cache_control: h.cache_control.clone(),
            content_encoding: h.content_encoding.clone(),
            content_disposition: h.content_disposition.clone(),
            content_language: h.content_language.clone(),
        });
    }
    entry
}

/// The plugin-facing access tier.
pub(crate) fn plugin_tier(tier: Tier) -> plugin::AccessTier {
    match tier {
        Tier::Hot => plugin::AccessTier::Hot,
        Tier::Cool => plugin::AccessTier::Cool,
        Tier::Cold => plugin::AccessTier::Cold,
        Tier::Archive => plugin::AccessTier::Archive,
    }
}

/// The host's tier for a plugin's.
pub(crate) fn host_tier(tier: plugin::AccessTier) -> Tier {
    match tier {
        plugin::AccessTier::Hot => Tier::Hot,
        plugin::AccessTier::Cool => Tier::Cool,
        plugin::AccessTier::Cold => Tier::Cold,
        plugin::AccessTier::Archive => Tier::Archive,
    }
}

/// A listed archive status (`rehydrate-pending-to-hot`…) as plugins see it.
fn archive_status(status: &str) -> Option<plugin::ArchiveStatus> {
    match status.to_ascii_lowercase().as_str() {
        "rehydrate-pending-to-hot" => Some(plugin::ArchiveStatus::RehydratePendingToHot),
        "rehydrate-pending-to-cool" => Some(plugin::ArchiveStatus::RehydratePendingToCool),
        "rehydrate-pending-to-cold" => Some(plugin::ArchiveStatus::RehydratePendingToCold),
        _ => None,
    }
}

/// Moves a folder's path into a plugin entry.
pub(crate) fn lend_dir(dir: &mut Dir, kind: plugin::EndpointKind) -> plugin::Entry {
    plugin::Entry::dir(std::mem::take(&mut dir.path), dir.mtime_ns, kind)
}

/// Returns what [`lend`] took (and a hash the host added meanwhile).
pub(crate) fn give_back(item: &mut Item, entry: plugin::Entry) {
    item.path = entry.path;
    item.metadata = entry.metadata;
}
