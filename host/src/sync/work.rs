//! What the compare stage plans, and the transfer stage carries out: copies and in-place
//! property changes.

use super::observer::Side;
use crate::endpoint::{BlobSettings, BlobUpdate, Item, Version};

/// A planned copy.
#[derive(Debug)]
pub(crate) struct PlannedCopy {
    /// The source entry.
    pub(crate) item: Item,
    /// Its path at the destination, when it is not the source's own (a two-way
    /// conflict's losing version, kept under its conflict name).
    pub(crate) to: Option<String>,
    /// Why it is copied.
    pub(crate) reason: String,
    /// The destination version it replaces, as listed (`None`: there is none).
    pub(crate) replaces: Option<Version>,
    /// The destination is archived: delete it first (`--overwrite-archived`).
    pub(crate) delete_first: bool,
    /// The metadata to write (besides the time).
    pub(crate) metadata: Vec<(String, String)>,
    /// Blobs: headers, tier and tags to write.
    pub(crate) settings: BlobSettings,
    /// The destination entry it replaces, when it is backed up first (`--backup-dir`).
    pub(crate) backup: Option<Box<Item>>,
}

impl PlannedCopy {
    /// Its path at the destination.
    pub(crate) fn to(&self) -> &str {
        self.to.as_deref().unwrap_or(&self.item.path)
    }
}

/// A planned change to a blob's properties, without copying it.
#[derive(Debug)]
pub(crate) struct PlannedUpdate {
    /// The side whose blob changes.
    pub(crate) side: Side,
    /// The change.
    pub(crate) update: BlobUpdate,
    /// Why.
    pub(crate) reason: String,
    /// A rehydration request for an archived source blob.
    pub(crate) rehydrate: bool,
}

/// What the compare stage hands to the transfers.
#[derive(Debug)]
pub(crate) enum Work {
    /// Copy an entry.
    Copy(PlannedCopy),
    /// Change a blob's properties.
    Update(PlannedUpdate),
}
