//! One run, stage by stage: list and filter both sides (a thread each) → merge and
//! compare (a blocking task) → transfer (tasks on the runtime, bounded) → delete (after
//! every copy). Stages are connected by bounded channels, so copies start while listing
//! goes on and memory stays flat.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::annotate::{Annotations, Annotator, TypeGuesser};
use super::compare::Comparer;
use super::content_hash::BlobHasher;
use super::context::RunContext;
use super::delete::{DeletePolicy, delete_phase};
use super::entries::plugin_kind;
use super::filter::FilterStage;
use super::guard::refusal;
use super::hash::{LocalHasher, current_key, file_key};
use super::observer::{ItemDone, Planned};
use super::plan::{MergeOutcome, merge};
use super::transfer::Shared;
use super::work::{PlannedCopy, PlannedUpdate, Work};
use super::{DeleteMode, Direction, MissingMd5, RunError, Side, SyncConfig, transfer};
use crate::endpoint::{Endpoint, EndpointError, EndpointKind, ErrorClass, ListOrder, ListRequest};
use crate::plugin::{PluginHost, RunValues};
use crate::store::{Store, Write};

/// What every run of a session works with.
pub(crate) struct Parts {
    pub(crate) config: SyncConfig,
    pub(crate) source: Arc<dyn Endpoint>,
    pub(crate) destination: Arc<dyn Endpoint>,
    pub(crate) plugins: PluginHost,
    pub(crate) store: Option<Arc<Store>>,
    pub(crate) transfers: Arc<Shared>,
    /// The order both listings are merged in.
    pub(crate) order: ListOrder,
    /// The local side's folder (absolute), for hashing and the MD5 cache.
    pub(crate) local_root: Option<std::path::PathBuf>,
    /// Where replaced and deleted entries are kept (`--backup-dir`).
    pub(crate) backup: Option<Arc<super::backup::Backup>>,
}

impl Parts {
    /// The annotate stage, for copies to a container.
    pub(crate) fn annotator(&self, values: &RunValues) -> Option<Annotator> {
        let wanted = self.destination.capabilities().kind == EndpointKind::Blob
            && self.config.check.is_none();
        wanted.then(|| Annotator {
            carry: (self.config.direction == Direction::Copy).then_some(self.config.blob.s2s),
            source: self.plugins.has_annotators().then(|| {
                Box::new(self.plugins.annotator_chain_for(values)) as Box<dyn Annotations>
            }),
            guess: self.config.blob.guess_types.then(|| TypeGuesser {
                extra: Arc::new(self.config.blob.type_map.clone()),
            }),
        })
    }
}

/// Marks the plan complete when the planner ends (however it ends).
struct PlanDone<'a>(&'a RunContext);

impl Drop for PlanDone<'_> {
    fn drop(&mut self) {
        self.0
            .planned_all
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How long transfers in flight may take to finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How often the totals are reported while the run goes on.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Runs the pipeline once. Fatal errors are recorded in `ctx` where they happen.
pub(crate) async fn execute(
    session: &Parts,
    ctx: &Arc<RunContext>,
    scopes: Vec<String>,
    values: RunValues,
) {
    let config = &session.config;
    // A run scoped to some paths (watch mode, --include-path) may rightly find none of
    // them at the source.
    let scoped = !scopes.is_empty();
    let mut scopes = scopes;
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
            .then(|| session.plugins.filter_chain_for(&values)),
        kind: plugin_kind(match side {
            Side::Source => session.source.capabilities().kind,
            Side::Destination => session.destination.capabilities().kind,
        }),
        ctx: ctx.clone(),
        tx,
        names_for: (side == Side::Source).then(|| session.destination.clone()),
        shard: config.shard,
    };
    let listing = stage(Side::Source, session.source.clone(), src_tx)
        .spawn()
        .and_then(|a| {
            stage(Side::Destination, session.destination.clone(), dst_tx)
                .spawn()
                .map(|b| (a, b))
        });
    let listing = match listing {
        Ok(threads) => threads,
        Err(e) => {
            ctx.fail(RunError::Internal(format!("cannot start listing: {e}")));
            return;
        }
    };

    let (copy_tx, copy_rx) = tokio::sync::mpsc::channel(4096);
    let planner = {
        let ctx = ctx.clone();
        let comparator = session.plugins.comparator_for(&values);
        let hasher = match (
            &session.local_root,
            session.plugins.comparator_info().needs_md5,
            config.direction.local_side(),
        ) {
            (Some(root), true, Some(side)) => Some(LocalHasher::new(
                root.clone(),
                side == Side::Source && config.follow_symlinks,
                side,
                config.hash_workers,
                session.store.clone(),
            )),
            _ => None,
        };
        let kinds = (
            plugin_kind(session.source.capabilities().kind),
            plugin_kind(session.destination.capabilities().kind),
        );
        let collect_deletes = config.delete != DeleteMode::False;
        let order = session.order;
        let collisions =
            super::collide::Collisions::for_destination(&session.destination.capabilities());
        let latest_time_ns = session.destination.capabilities().latest_time_ns;
        let blob = config.blob.clone();
        let backups = session.backup.is_some();
        let annotator = session.annotator(&values);
        let damaged_under = (session.destination.capabilities().kind == EndpointKind::Blob)
            .then(|| format!("{}/", session.destination.describe()));
        let store = session.store.clone();
        let read_all = config.check.is_some_and(|c| c.download);
        let dry_run = config.dry_run;
        let read_missing = config.missing_md5 == MissingMd5::Download
            && session.plugins.comparator_info().needs_md5;
        let blob_hasher = |endpoint: &Arc<dyn Endpoint>| {
            ((read_all || read_missing) && endpoint.capabilities().kind == EndpointKind::Blob).then(
                || BlobHasher {
                    endpoint: endpoint.clone(),
                    runtime: tokio::runtime::Handle::current(),
                    missing_only: !read_all,
                    transfers: session.transfers.clone(),
                    stop: ctx.control.stop().clone(),
                },
            )
        };
        let blob_hashers = (
            blob_hasher(&session.source),
            blob_hasher(&session.destination),
        );
        tokio::task::spawn_blocking(move || {
            let _done = PlanDone(&ctx);
            let mut comparer = Comparer {
                backups,
                ctx: &ctx,
                comparator,
                hasher,
                kinds,
                copies: copy_tx,
                blob,
                deletes: collect_deletes.then(Vec::new),
                pending: Vec::new(),
                annotator,
                held: Vec::new(),
                blob_hashers,
                md5_read: Default::default(),
                store_md5: read_missing && !read_all && !dry_run,
                latest_time_ns,
                damaged: match (&store, &damaged_under) {
                    (Some(store), Some(prefix)) => store.bad_blobs(prefix),
                    _ => Default::default(),
                },
            };
            let outcome = merge(
                src_rx.into_iter(),
                dst_rx.into_iter(),
                order,
                collisions,
                &ctx,
                &mut comparer,
            );
            (outcome, comparer.deletes.unwrap_or_default())
        })
    };

    let ticker = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(PROGRESS_EVERY);
            interval.tick().await;
            loop {
                interval.tick().await;
                ctx.progress();
            }
        })
    };

    let joined = |planned: Result<(Result<MergeOutcome, RunError>, Vec<_>), _>| match planned {
        Ok((Ok(outcome), deletes)) => (outcome, deletes),
        Ok((Err(e), _)) => {
            ctx.fail(e);
            (MergeOutcome::default(), Vec::new())
        }
        Err(e) => {
            ctx.fail(RunError::Internal(format!("the planner failed: {e}")));
            (MergeOutcome::default(), Vec::new())
        }
    };
    let (merge_outcome, deletes) = match config.max_changes {
        None => {
            transfer_all(session, ctx, copy_rx).await;
            joined(planner.await)
        }
        // The whole plan first: nothing is written unless all of it is allowed.
        Some(limit) => {
            let mut copy_rx = copy_rx;
            let mut work = Vec::new();
            while let Some(w) = copy_rx.recv().await {
                work.push(w);
            }
            let (outcome, deletes) = joined(planner.await);
            let deleting = config.delete != DeleteMode::False && outcome.deletes_unsafe().is_none();
            let counted: &[crate::endpoint::Item] = if deleting { &deletes } else { &[] };
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
    };
    let (a, b) = listing;
    let _ = tokio::task::spawn_blocking(move || {
        let _ = a.join();
        let _ = b.join();
    })
    .await;

    if ctx.control.fatal().is_none() && !ctx.stopped() {
        // A run that copied nothing still leaves the destination there (an empty source
        // makes an empty container, as azcopy does).
        if !prepare(session, ctx).await {
            ticker.abort();
            return;
        }
        let policy = DeletePolicy {
            mode: config.delete,
            max_delete: config.max_delete,
            dry_run: config.dry_run,
            concurrency: config.concurrency,
            check: config.check.is_some(),
            backup: session.backup.as_deref().map(|b| (b, &*session.transfers)),
            allow_empty_source: config.allow_empty_source || config.check.is_some() || scoped,
        };
        delete_phase(&policy, deletes, &merge_outcome, &*session.destination, ctx).await;
    }
    if !config.dry_run {
        session.destination.finish_writes().await;
    }
    ticker.abort();
}

/// Makes the destination ready for writes (a missing container or folder is created),
/// once per run. A failure ends the run with that one error: nothing can be written.
async fn prepare(session: &Parts, ctx: &RunContext) -> bool {
    if ctx.prepared.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return ctx.control.fatal().is_none();
    }
    let ready = if session.config.dry_run {
        session.destination.check_writable().await
    } else {
        session.destination.prepare_for_writes().await
    };
    match ready {
        Ok(()) => true,
        Err(e) => {
            ctx.fail(RunError::from(e.explain("; nothing was written")));
            false
        }
    }
}

/// Copies what the planner sends, `--concurrency` at a time.
async fn transfer_all(
    session: &Parts,
    ctx: &Arc<RunContext>,
    mut copies: tokio::sync::mpsc::Receiver<Work>,
) {
    let config = &session.config;
    let stop = ctx.control.stop().clone();
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    // --max-duration: no transfer starts after the deadline, and those in flight stop
    // (whether or not the planner is still sending work).
    let deadline = config.max_duration.map(|d| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            ctx.fail(RunError::CutOff(
                super::CutOff::Duration,
                format!(
                    "--max-duration {} reached: no more transfers were started, and those \
                     in flight were stopped (their finished blocks are kept); the next run \
                     continues where this one stopped",
                    humantime::format_duration(d)
                ),
            ));
            ctx.control.stop().stop();
        })
    });
    let mut started_bytes = 0u64;
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.stopped() => break,
        };
        let planned = tokio::select! {
            c = copies.recv() => c,
            _ = stop.stopped() => break,
        };
        if planned.is_some() && !prepare(session, ctx).await {
            break;
        }
        let planned = match planned {
            None => break,
            Some(Work::Copy(copy)) => copy,
            Some(Work::Update(update)) => {
                while tasks.try_join_next().is_some() {}
                if config.dry_run {
                    plan_update(session, ctx, &update);
                } else {
                    let (session_ctx, endpoint) = (
                        ctx.clone(),
                        match update.side {
                            Side::Source => session.source.clone(),
                            Side::Destination => session.destination.clone(),
                        },
                    );
                    tasks.spawn(async move {
                        apply_update(&*endpoint, update, &session_ctx).await;
                        drop(permit);
                    });
                }
                continue;
            }
        };
        while tasks.try_join_next().is_some() {}
        if let Some(max) = config.max_transfer {
            // At most one transfer crosses the limit, so every run makes progress.
            if started_bytes >= max {
                ctx.fail(RunError::CutOff(
                    super::CutOff::Transfer,
                    format!(
                        "--max-transfer {} reached: no more transfers were started (those in \
                         flight finished); the next run continues where this one stopped",
                        indicatif::HumanBytes(max)
                    ),
                ));
                break;
            }
            started_bytes += planned.item.size;
        }
        if config.dry_run {
            if let (Some(backup), Some(entry)) = (&session.backup, &planned.backup) {
                ctx.planned(
                    Planned::Backup,
                    &session.destination.describe_path(&entry.path),
                    Some(&backup.describe(&entry.path)),
                    "kept before it is overwritten (--backup-dir)",
                    entry.size,
                    "",
                );
            }
            let carries = if session.destination.capabilities().kind == EndpointKind::Blob {
                planned.settings.describe(&planned.metadata)
            } else {
                String::new()
            };
            ctx.planned(
                match (config.check, &planned.replaces) {
                    (None, _) => Planned::Copy,
                    (Some(_), None) => Planned::OnlyAtSource,
                    (Some(_), Some(_)) => Planned::Differs,
                },
                &session.source.describe_path(&planned.item.path),
                Some(&session.destination.describe_path(&planned.item.path)),
                &planned.reason,
                planned.item.size,
                &carries,
            );
            continue;
        }
        let (source, destination) = (session.source.clone(), session.destination.clone());
        let (shared, ctx) = (session.transfers.clone(), ctx.clone());
        let (store, root) = (session.store.clone(), session.local_root.clone());
        let backup = session.backup.clone();
        let direction = config.direction;
        tasks.spawn(async move {
            let moved = ctx.moving(&planned.item.path, planned.item.size);
            let result = copy_planned(
                &planned,
                (&*source, &*destination),
                (&shared, &ctx),
                backup.as_deref(),
                &|n| moved.add(n),
            )
            .await;
            drop(moved);
            if let Err(e) = &result
                && let Some(kind) = skip_kind(e.class())
            {
                ctx.skipped(&planned.item.path, e.message(), kind);
                drop(permit);
                return;
            }
            let (bytes, md5, error) = match result {
                Ok(copied) => {
                    if let (Some(store), Some(root), Some(side), Some(md5)) =
                        (&store, &root, direction.local_side(), copied.md5)
                    {
                        let key = match side {
                            Side::Source => file_key(root, &planned.item),
                            Side::Destination => {
                                let (root, path) = (root.clone(), planned.item.path.clone());
                                tokio::task::spawn_blocking(move || current_key(&root, &path))
                                    .await
                                    .ok()
                                    .flatten()
                            }
                        };
                        if let Some(key) = key {
                            store.write(Write::Md5(key, md5));
                        }
                    }
                    (copied.bytes, copied.md5, None)
                }
                Err(e) => {
                    if e.class() == ErrorClass::Corrupt
                        && let (Some(store), Some(etag)) = (&store, &planned.item.etag)
                    {
                        store.record_bad_blob(
                            &source.describe_path(&planned.item.path),
                            etag,
                            super::now_ms().max(0) as u64,
                        );
                    }
                    if e.class() == ErrorClass::Auth {
                        // Every other request would be refused too.
                        ctx.fail(RunError::Authentication(e.clone().explain(&format!(
                            "{}; stopping, as every other transfer would be refused too",
                            credential_used(&e, &*source, &*destination)
                        ))));
                    }
                    (0, None, Some(e.to_string()))
                }
            };
            if let Some(notice) = shared.server.take_notice() {
                ctx.warning(&notice);
            }
            ctx.done(ItemDone {
                path: planned.item.path,
                action: direction.action(),
                bytes,
                reason: planned.reason,
                error,
                md5,
            });
            drop(permit);
        });
    }
    // Stop the planner if transfers stopped first, then wait for what is in flight.
    drop(copies);
    finish_transfers(&mut tasks, &stop, ctx).await;
    if let Some(deadline) = deadline {
        deadline.abort();
    }
    count_lost_answers(session, ctx).await;
}

/// The skip an error stands for, if it is one: a link in the way at the destination, or
/// a name the destination holds under another spelling (a collision).
pub(crate) fn skip_kind(class: ErrorClass) -> Option<crate::endpoint::SkipKind> {
    match class {
        ErrorClass::Link => Some(crate::endpoint::SkipKind::Symlink),
        ErrorClass::Collision => Some(crate::endpoint::SkipKind::Unsyncable),
        _ => None,
    }
}

/// Copies one planned entry: an archived destination is deleted first when the plan
/// says so.
async fn copy_planned(
    planned: &PlannedCopy,
    (source, destination): (&dyn Endpoint, &dyn Endpoint),
    (shared, ctx): (&transfer::Shared, &RunContext),
    backup: Option<&super::backup::Backup>,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<transfer::Copied, crate::endpoint::EndpointError> {
    if let (Some(backup), Some(entry)) = (backup, &planned.backup) {
        backup.keep(destination, entry, shared, ctx).await?;
    }
    let mut replaces = planned.replaces.clone();
    if planned.delete_first
        && let Some(version) = replaces.take()
    {
        destination
            .delete(&crate::endpoint::DeleteTarget {
                path: planned.item.path.clone(),
                version,
            })
            .await?;
    }
    transfer::copy(
        transfer::CopyOf {
            item: &planned.item,
            to: &planned.item.path,
            replaces,
            metadata: planned.metadata.clone(),
            settings: planned.settings.clone(),
            on_moved,
        },
        source,
        destination,
        shared,
    )
    .await
}

/// Reports an update a dry run would make.
fn plan_update(session: &Parts, ctx: &RunContext, update: &PlannedUpdate) {
    let endpoint = match update.side {
        Side::Source => &session.source,
        Side::Destination => &session.destination,
    };
    ctx.planned(
        if update.rehydrate {
            Planned::Rehydrate
        } else {
            Planned::Update
        },
        &endpoint.describe_path(&update.update.path),
        None,
        &update.reason,
        0,
        "",
    );
}

/// ` (credential: …)` for an authorisation failure: the credential of the side the error
/// is about, unless the message says it already.
fn credential_used(e: &EndpointError, source: &dyn Endpoint, destination: &dyn Endpoint) -> String {
    let about_source = e
        .target()
        .is_some_and(|t| t.starts_with(&source.describe()));
    let side = if about_source { source } else { destination };
    match side.credential() {
        Some(c) if !e.message().contains(&c) => format!(" (credential: {c})"),
        _ => String::new(),
    }
}

/// Changes a blob's properties, and reports it.
async fn apply_update(endpoint: &dyn Endpoint, update: PlannedUpdate, ctx: &RunContext) {
    let error = endpoint.update(&update.update).await.err();
    if let Some(e) = &error
        && e.class() == ErrorClass::Auth
    {
        ctx.fail(RunError::Authentication(e.clone().explain(&format!(
            "{}; stopping, as every other request would be refused too",
            credential_used(e, endpoint, endpoint)
        ))));
    }
    ctx.done(ItemDone {
        path: update.update.path,
        action: if update.rehydrate {
            super::Action::Rehydrate
        } else {
            super::Action::Update
        },
        bytes: 0,
        reason: update.reason,
        error: error.map(|e| e.to_string()),
        md5: None,
    });
}

/// Counts the commits that landed although the run stopped before their answer came: the
/// destination is asked (briefly) whether it holds what each wrote.
async fn count_lost_answers(session: &Parts, ctx: &RunContext) {
    let unanswered = session.transfers.committing.take_unanswered();
    if unanswered.is_empty() {
        return;
    }
    let destination = &*session.destination;
    let checks = unanswered.into_iter().map(|written| async move {
        let landed = tokio::time::timeout(Duration::from_secs(3), destination.holds(&written))
            .await
            .unwrap_or(false);
        (written, landed)
    });
    for (written, landed) in futures::future::join_all(checks).await {
        if landed {
            ctx.done(ItemDone {
                path: written.path,
                action: session.config.direction.action(),
                bytes: written.size,
                reason: "committed; its answer was lost when the run stopped".into(),
                error: None,
                md5: Some(written.md5),
            });
        }
    }
}

/// Waits for the transfers in flight. After a stop (now or while waiting) they get
/// [`STOP_GRACE`] to finish; the rest are cancelled, which discards their partial writes
/// (temporary files, uncommitted blocks).
async fn finish_transfers(tasks: &mut JoinSet<()>, stop: &super::Stop, ctx: &RunContext) {
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { return },
            _ = stop.stopped() => break,
        }
    }
    let grace = tokio::time::sleep(STOP_GRACE);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { return },
            _ = &mut grace => break,
        }
    }
    ctx.warning(&format!(
        "stopping {} transfers still in flight; nothing partial is left behind",
        tasks.len()
    ));
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}
