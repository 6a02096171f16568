//! Lending listed items to plugins: an item's path and metadata move into the plugin's
//! entry for a call and back afterwards, so no string is copied on the host side.

use crate::endpoint::{Dir, EndpointKind, Item};
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

/// Moves `item`'s path and metadata into a plugin entry; [`give_back`] returns them.
pub(crate) fn lend(item: &mut Item, kind: plugin::EndpointKind) -> plugin::Entry {
    plugin::Entry::file(
        std::mem::take(&mut item.path),
        item.size,
        item.mtime_ns,
        item.md5,
        kind,
        std::mem::take(&mut item.metadata),
    )
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
