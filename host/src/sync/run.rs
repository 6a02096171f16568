//! One run, stage by stage: list and filter both sides (a thread each) → merge, compare
//! and apply the copy policy (a blocking task) → annotate (a blocking task) → transfer
//! (tasks on the runtime, bounded) → delete (after every copy). Stages are connected by bounded channels, so copies start while listing
//! goes on and memory stays flat.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

use super::context::RunContext;
use super::delete::{DeletePolicy, delete_phase};
use super::entries::plugin_kind;
use super::filter_stage::FilterStage;
use super::guard::refusal;
use super::parts::Parts;
use super::plan::MergeOutcome;
use super::plan_stage::{Listings, PlanTask, Planner};
use super::transfer_stage::transfer_all;
use super::work::Work;
use super::{ChangeLimit, DeleteMode, Direction, RunError, Side};
use crate::endpoint::{Item, ListRequest};
use crate::plugin::RunValues;

/// How often the totals are reported while the run goes on.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Both sides' listing threads: source, destination.
pub(crate) type ListingThreads = (std::thread::JoinHandle<()>, std::thread::JoinHandle<()>);

/// Runs the pipeline once. Fatal errors are recorded in `ctx` where they happen.
pub(crate) async fn execute(
    session: &Parts,
    ctx: &Arc<RunContext>,
    scopes: Vec<String>,
    values: RunValues,
) {
    // A run scoped to some paths (watch mode, --include-path) may rightly find none of
    // them at the source.
    let scoped = !scopes.is_empty();
    let (threads, listings) = match start_listing(session, ctx, scopes, &values) {
        Ok(listing) => listing,
        Err(e) => {
            ctx.fail(RunError::Internal(format!("cannot start listing: {e}")));
            return;
        }
    };
    let (copy_tx, copy_rx) = tokio::sync::mpsc::channel(4096);
    let planner = Planner::new(session, ctx, &values).spawn(ctx, listings, copy_tx);
    let ticker = report_progress(ctx.clone());
    let (merge_outcome, deletes) = match session.config.max_changes {
        None => {
            transfer_all(session, ctx, copy_rx).await;
            planner.finished(ctx).await
        }
        // The whole plan first: nothing is written unless all of it is allowed.
        Some(limit) => transfer_if_allowed(session, ctx, limit, copy_rx, planner).await,
    };
    join_listing(threads).await;

    if ctx.control.fatal().is_none() && !ctx.stopped() {
        // A run that copied nothing still leaves the destination there (an empty source
        // makes an empty container, as azcopy does).
        if !session.prepare(ctx).await {
            ticker.abort();
            return;
        }
        delete_unmatched(session, ctx, scoped, deletes, &merge_outcome).await;
    }
    if !session.config.dry_run {
        session.destination.finish_writes().await;
    }
    ticker.abort();
}

/// Starts listing and filtering both sides, each on a thread of its own, limited to
/// `scopes` (sorted here in the listing order); returns the threads and what they send.
pub(crate) fn start_listing(
    session: &Parts,
    ctx: &Arc<RunContext>,
    mut scopes: Vec<String>,
    values: &RunValues,
) -> std::io::Result<(ListingThreads, Listings)> {
    let config = &session.config;
    scopes.sort_by(|a, b| session.order.cmp(&format!("{a}/"), &format!("{b}/")));
    let request = ListRequest {
        scopes,
        order: session.order,
        cancel: ctx.control.stop().token(),
        with_tags: false,
    };
    let (src_tx, src_rx) = std::sync::mpsc::sync_channel(16);
    let (dst_tx, dst_rx) = std::sync::mpsc::sync_channel(16);
    let stage = |side: Side, endpoint, tx| FilterStage {
        side,
        endpoint,
        request: ListRequest {
            with_tags: match side {
                // Blob → blob with --s2s-preserve-blob-tags: the source's tags are copied.
                Side::Source => {
                    config.direction == Direction::Copy && config.blob.s2s.preserve_tags
                }
                // Tags the run sets are compared with what up-to-date blobs have.
                Side::Destination => config.plugins.may_set_tags() && config.check.is_none(),
            },
            ..request.clone()
        },
        filters: session
            .plugins
            .has_filters()
            .then(|| session.plugins.filter_chain_for(values)),
        kind: plugin_kind(match side {
            Side::Source => session.source.capabilities().kind,
            Side::Destination => session.destination.capabilities().kind,
        }),
        ctx: ctx.clone(),
        tx,
        names_for: (side == Side::Source).then(|| session.destination.clone()),
        shard: config.shard,
    };
    let threads = stage(Side::Source, session.source.clone(), src_tx)
        .spawn()
        .and_then(|a| {
            stage(Side::Destination, session.destination.clone(), dst_tx)
                .spawn()
                .map(|b| (a, b))
        })?;
    Ok((threads, (src_rx, dst_rx)))
}

/// Waits, off the runtime's threads, for both listing threads to end.
pub(crate) async fn join_listing((a, b): ListingThreads) {
    let _ = tokio::task::spawn_blocking(move || {
        let _ = a.join();
        let _ = b.join();
    })
    .await;
}

/// Reports the totals every [`PROGRESS_EVERY`] until it is aborted.
fn report_progress(ctx: Arc<RunContext>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PROGRESS_EVERY);
        interval.tick().await;
        loop {
            interval.tick().await;
            ctx.progress();
        }
    })
}

/// `--max-changes`: collects the whole plan and transfers it only if the guard allows all
/// of it (a refusal is the run's error). Returns the plan's outcome and delete candidates.
async fn transfer_if_allowed(
    session: &Parts,
    ctx: &Arc<RunContext>,
    limit: ChangeLimit,
    mut copies: Receiver<Work>,
    planner: PlanTask,
) -> (MergeOutcome, Vec<Item>) {
    let config = &session.config;
    let mut work = Vec::new();
    while let Some(w) = copies.recv().await {
        work.push(w);
    }
    let (outcome, deletes) = planner.finished(ctx).await;
    let deleting = config.delete != DeleteMode::False && outcome.deletes_unsafe().is_none();
    let counted: &[Item] = if deleting { &deletes } else { &[] };
    let destination_files = ctx.totals().destination_files;
    if let Some(why) = refusal(limit, &work, counted, destination_files) {
        ctx.fail(RunError::Refused(why));
    }
    if ctx.control.fatal().is_none() {
        let (tx, rx) = tokio::sync::mpsc::channel(work.len().max(1));
        for w in work {
            let _ = tx.try_send(w);
        }
        drop(tx);
        transfer_all(session, ctx, rx).await;
    }
    (outcome, deletes)
}

/// Deletes the delete candidates — entries only at the destination — as `--delete` and
/// its limits allow.
async fn delete_unmatched(
    session: &Parts,
    ctx: &RunContext,
    scoped: bool,
    deletes: Vec<Item>,
    merge_outcome: &MergeOutcome,
) {
    let config = &session.config;
    let policy = DeletePolicy {
        mode: config.delete,
        max_delete: config.max_delete,
        dry_run: config.dry_run,
        concurrency: config.concurrency,
        check: config.check.is_some(),
        backup: session.backup.as_deref().map(|b| (b, &*session.transfers)),
        allow_empty_source: config.allow_empty_source || config.check.is_some() || scoped,
    };
    delete_phase(&policy, deletes, merge_outcome, &*session.destination, ctx).await;
}
