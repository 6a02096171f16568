//! The rounds of a two-way run: copies in one direction (through the transfer stage,
//! each write conditional on what was listed at the destination) and one side's
//! deletes, each item's new state expected by the recorder before the round starts.

use std::collections::HashMap;
use std::sync::Arc;

use super::DeleteMode;
use super::RunError;
use super::annotations::Annotator;
use super::bisync_record::{Expected, StateRecorder};
use super::context::RunContext;
use super::delete::{DeletePolicy, delete_all};
use super::parts::Parts;
use super::transfer_stage::transfer_all;
use super::work::{PlannedCopy, Work};
use crate::bisync::Which;
use crate::bisync::plan::{Copy, Delete};
use crate::bisync::spool::Spool;
use crate::endpoint::{BlobSettings, Item, ListRequest, Listed, Version};
use crate::plugin::RunValues;
use crate::store::{Facts, Known};

/// Copies prepared (listed again, annotated) at a time while the earlier ones transfer,
/// so that a round of many copies never holds them all prepared at once.
const CHUNK: usize = 1024;

/// One round of copies, in `parts`' direction.
pub(crate) async fn copy_round(
    parts: &Parts,
    ctx: &Arc<RunContext>,
    recorder: &StateRecorder,
    values: &RunValues,
    copies: Spool<Copy>,
) {
    if copies.is_empty() {
        return;
    }
    recorder.expect(HashMap::new());
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNK);
    let feed = async move {
        let mut annotator = parts.annotator(values);
        for chunk in copies.into_chunks(CHUNK) {
            if ctx.stopped() {
                return;
            }
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => return ctx.fail(RunError::Internal(e)),
            };
            let chunk = relisted(parts, ctx, chunk).await;
            let expected = chunk
                .iter()
                .filter(|c| c.record)
                .map(|c| (c.to.clone(), Expected::Record(known_after(c))))
                .collect();
            recorder.expect_more(expected);
            let work = match planned_copies(parts, &mut annotator, chunk).await {
                Ok(work) => work,
                Err(e) => {
                    ctx.fail(e);
                    return;
                }
            };
            for w in work {
                if tx.send(w).await.is_err() {
                    return;
                }
            }
        }
    };
    tokio::join!(feed, transfer_all(parts, ctx, rx));
}

/// The copies of a round with every source written earlier in the run listed again
/// (what it is now: its time, its ETag); one no longer there is left to the next run.
async fn relisted(parts: &Parts, ctx: &RunContext, copies: Vec<Copy>) -> Vec<Copy> {
    let mut scopes: Vec<String> = copies
        .iter()
        .filter(|c| c.relist)
        .map(|c| c.item.path.clone())
        .collect();
    if scopes.is_empty() {
        return copies;
    }
    let order = parts.order;
    scopes.sort_by(|a, b| order.cmp(a, b));
    let request = ListRequest {
        scopes,
        order,
        cancel: ctx.control.stop().token(),
        with_tags: false,
    };
    let source = parts.source.clone();
    let listed = tokio::task::spawn_blocking(move || -> HashMap<String, Item> {
        let Ok(mut lister) = source.list(&request) else {
            return HashMap::new();
        };
        let mut found = HashMap::new();
        while let Some(Ok(batch)) = lister.next_batch() {
            for listed in batch {
                if let Listed::File(item) = listed {
                    found.insert(item.path.clone(), item);
                }
            }
        }
        found
    })
    .await
    .unwrap_or_default();
    copies
        .into_iter()
        .filter_map(|mut c| {
            if c.relist {
                c.item = listed.get(&c.item.path)?.clone();
            }
            Some(c)
        })
        .collect()
}

/// Both sides' facts once `copy` is done: the destination holds the source's size,
/// time and content (its MD5 filled in from what was written).
fn known_after(copy: &Copy) -> Known {
    let from = Facts::of(&copy.item);
    let to = Facts {
        etag: None,
        inode: None,
        ..from.clone()
    };
    let (path1, path2) = match copy.from {
        Which::Path1 => (from, to),
        Which::Path2 => (to, from),
    };
    Known {
        path: copy.to.clone(),
        path1,
        path2,
    }
}

/// The transfer stage's copies for a round: what each blob carries decided as `sync`
/// decides it (the annotators, a guessed Content-Type), the write conditional on the
/// entry listed at the destination, or on there being none.
async fn planned_copies(
    parts: &Parts,
    annotator: &mut Option<Annotator>,
    copies: Vec<Copy>,
) -> Result<Vec<Work>, RunError> {
    let items: Vec<Item> = copies.iter().map(|c| c.item.clone()).collect();
    // The annotator plugins are called where blocking is allowed.
    let mut taken = annotator.take();
    let (taken, wanted) = tokio::task::spawn_blocking(move || {
        let mut items = items;
        let wanted = match &mut taken {
            Some(annotator) => annotator.wanted(&mut items),
            None => Ok(Vec::new()),
        };
        (taken, wanted)
    })
    .await
    .map_err(|e| RunError::Internal(format!("the annotators failed: {e}")))?;
    *annotator = taken;
    let annotator = &*annotator;
    let wanted = wanted?;
    let mut wanted = wanted.into_iter();
    let backups = parts.backup.is_some();
    Ok(copies
        .into_iter()
        .map(|c| {
            let (settings, metadata) = match (annotator, wanted.next()) {
                (Some(annotator), Some(w)) => annotator.for_copy(w, &c.item, c.replaces.as_deref()),
                _ => (
                    BlobSettings::default(),
                    super::metadata::for_copy(&c.item, c.replaces.as_deref()),
                ),
            };
            Work::Copy(PlannedCopy {
                to: (c.to != c.item.path).then_some(c.to),
                replaces: c.replaces.as_deref().map(Version::of),
                // Kept first where the side has a backup location (--backup-dir1/2).
                backup: backups.then(|| c.replaces.clone()).flatten(),
                delete_first: false,
                reason: c.reason.into_owned(),
                item: c.item,
                metadata,
                settings,
            })
        })
        .collect())
}

/// Deletes one side's entries (the destination of `parts`), each conditional on the
/// version listed.
pub(crate) async fn delete_round(
    parts: &Parts,
    ctx: &RunContext,
    recorder: &StateRecorder,
    deletes: Vec<Delete>,
) {
    if deletes.is_empty() || ctx.stopped() {
        return;
    }
    recorder.expect(
        deletes
            .iter()
            .map(|d| (d.item.path.clone(), Expected::Forget))
            .collect(),
    );
    let reasons: HashMap<String, String> = deletes
        .iter()
        .map(|d| (d.item.path.clone(), d.reason.to_string()))
        .collect();
    let items: Vec<Item> = deletes.into_iter().map(|d| d.item).collect();
    let policy = DeletePolicy {
        mode: DeleteMode::True,
        max_delete: None,
        dry_run: false,
        concurrency: parts.config.concurrency,
        check: false,
        backup: parts.backup.as_deref().map(|b| (b, &*parts.transfers)),
        allow_empty_source: true,
    };
    let reason = |item: &Item| reasons.get(&item.path).cloned().unwrap_or_default();
    delete_all(&policy, &items, &*parts.destination, ctx, &reason).await;
}
