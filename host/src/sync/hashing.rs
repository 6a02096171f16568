//! The hash service of the compare stage: the MD5s the comparator needs and the listings
//! lack — local files hashed ([`super::local_md5`]), blobs read ([`super::blob_md5`]) —
//! and which of the MD5s read from blobs are to be stored on them
//! (`--missing-md5=download`).

use std::collections::HashSet;

use super::blob_md5::BlobHasher;
use super::context::RunContext;
use super::local_md5::LocalHasher;
use super::observer::Side;
use crate::endpoint::Item;

/// Hashes what a batch of pairs lacks before it is compared.
pub(crate) struct Hashing {
    /// The local side's files, when the comparator asks for MD5s.
    local: Option<LocalHasher>,
    /// Blobs read for their MD5 (`check --download`, `--missing-md5=download`):
    /// (source side, destination side).
    blobs: (Option<BlobHasher>, Option<BlobHasher>),
    /// The blobs of the current batch read for a missing MD5.
    read: HashSet<(Side, String)>,
    /// Store the MD5s read for a missing one (nothing is stored in dry runs and checks).
    store: bool,
}

impl Hashing {
    pub(crate) fn new(
        local: Option<LocalHasher>,
        blobs: (Option<BlobHasher>, Option<BlobHasher>),
        store: bool,
    ) -> Hashing {
        Hashing {
            local,
            blobs,
            read: HashSet::new(),
            store,
        }
    }

    /// Gives the pairs of `batch` the MD5s the comparator needs. A pair that cannot be
    /// hashed is reported as failed and leaves the batch.
    pub(crate) fn hash(&mut self, ctx: &RunContext, batch: &mut Vec<(Item, Item)>) {
        self.read.clear();
        if let Some(hasher) = &self.local {
            let failed = hasher.hash_pairs(batch.iter_mut().map(|(s, d)| (s, d)));
            drop_failed(ctx, batch, failed);
        }
        for side in [Side::Source, Side::Destination] {
            let hasher = match side {
                Side::Source => &self.blobs.0,
                Side::Destination => &self.blobs.1,
            };
            let Some(hasher) = hasher else { continue };
            let items: Vec<(usize, &mut Item)> = batch
                .iter_mut()
                .enumerate()
                .map(|(i, (s, d))| match side {
                    Side::Source => (i, s, &*d),
                    Side::Destination => (i, d, &*s),
                })
                .filter(|(_, item, other)| hasher.wants(item, other))
                .map(|(i, item, _)| (i, item))
                .collect();
            if hasher.missing_only {
                self.read
                    .extend(items.iter().map(|(_, item)| (side, item.path.clone())));
            }
            let failed = hasher.hash_all(items);
            drop_failed(ctx, batch, failed);
        }
    }

    /// Gives local `items` on `side` their MD5s (nothing where `side` is not the local
    /// side). An item that cannot be hashed keeps none, and is reported.
    pub(crate) fn hash_local(&mut self, ctx: &RunContext, side: Side, items: Vec<&mut Item>) {
        let Some(hasher) = self.local.as_ref().filter(|h| h.side() == side) else {
            return;
        };
        let paths: Vec<String> = items.iter().map(|i| i.path.clone()).collect();
        for (index, message) in hasher.hash_items(items.into_iter()) {
            ctx.warning(&format!(
                "{}: not checked for a rename ({message})",
                paths[index]
            ));
        }
    }

    /// For a pair of the batch found up to date: whether the MD5 read for its source
    /// and for its destination is to be stored on that blob.
    pub(crate) fn stored_for(&mut self, path: &str) -> [bool; 2] {
        let store = self.store;
        [Side::Source, Side::Destination]
            .map(|side| self.read.remove(&(side, path.to_string())) && store)
    }
}

/// Reports the pairs that could not be hashed (positions in `batch`, ascending) as failed
/// and takes them out of the batch.
fn drop_failed(ctx: &RunContext, batch: &mut Vec<(Item, Item)>, failed: Vec<(usize, String)>) {
    for (index, message) in failed.into_iter().rev() {
        let (source, _) = batch.remove(index);
        ctx.failed(&source.path, &message);
    }
}
