//! Archived blobs, which cannot be read until rehydrated (hours) and cannot be written
//! over: what a copy does when its source or its destination is one.

use super::config::{ArchivedPolicy, BlobOptions};
use super::context::RunContext;
use super::observer::Side;
use super::work::{PlannedUpdate, Work};
use crate::endpoint::{BlobUpdate, Item, SkipKind, Tier};

/// What becomes of a copy whose source is archived: skipped, failed, or a rehydration
/// request (`None` when nothing is left to do).
pub(crate) fn archived_source(
    ctx: &RunContext,
    policy: ArchivedPolicy,
    item: &Item,
) -> Option<Work> {
    let pending = item.blob.as_ref().and_then(|b| b.archive_status.clone());
    if let Some(status) = pending {
        ctx.skipped(
            &item.path,
            &format!("archived, being rehydrated ({status}): it is copied once it is online"),
            SkipKind::Archived,
        );
        return None;
    }
    match policy {
        ArchivedPolicy::Skip => {
            ctx.skipped(
                &item.path,
                "archived: rehydrate it first (--archived=rehydrate)",
                SkipKind::Archived,
            );
            None
        }
        ArchivedPolicy::Fail => {
            ctx.failed(
                &item.path,
                "the blob is archived and cannot be read; rehydrate it first \
                 (--archived=rehydrate), or skip archived blobs (--archived=skip)",
            );
            None
        }
        ArchivedPolicy::Rehydrate(priority) => Some(Work::Update(PlannedUpdate {
            side: Side::Source,
            update: BlobUpdate {
                tier: Some((Tier::Hot, Some(priority))),
                ..BlobUpdate::of(item)
            },
            reason: format!(
                "archived: rehydration to Hot requested ({} priority, {}); a later run \
                 copies it",
                priority.name(),
                match priority {
                    crate::endpoint::RehydratePriority::Standard => "up to 15 hours",
                    crate::endpoint::RehydratePriority::High => "under an hour for most blobs",
                }
            ),
            rehydrate: true,
        })),
    }
}

/// Whether a copy over `destination` may go ahead: `Ok(true)` when the archived
/// destination is to be deleted first (`--overwrite-archived`), `Ok(false)` when it is not
/// archived, `Err(())` when the copy was reported as failed.
pub(crate) fn archived_destination(
    ctx: &RunContext,
    options: &BlobOptions,
    destination: Option<&Item>,
) -> Result<bool, ()> {
    let Some(destination) = destination.filter(|d| d.archived()) else {
        return Ok(false);
    };
    if options.overwrite_archived {
        return Ok(true);
    }
    ctx.failed(
        &destination.path,
        "the destination blob is archived and cannot be overwritten; use \
         --overwrite-archived to delete it (and its snapshots) and upload it again, or \
         rehydrate it first",
    );
    Err(())
}
