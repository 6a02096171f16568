//! The transfer stage: the copies and updates the planner sends, `--concurrency` at a
//! time, each a task on the runtime ([`super::transfer`] copies one entry). It keeps
//! `--max-transfer` and `--max-duration`, reports what a dry run would do, and after a
//! stop gives the transfers in flight a grace period before it cancels them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::backup::Backup;
use super::context::RunContext;
use super::local_md5::{current_key, file_key};
use super::observer::{ItemDone, Planned};
use super::parts::Parts;
use super::transfer::{self, Shared};
use super::work::{PlannedCopy, PlannedUpdate, Work};
use super::{Direction, RunError, Side, Stop};
use crate::endpoint::{Endpoint, EndpointError, EndpointKind, ErrorClass, Item, SkipKind};
use crate::store::{Store, Write};

/// How long transfers in flight may take to finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Copies what the planner sends, `--concurrency` at a time.
pub(crate) async fn transfer_all(
    session: &Parts,
    ctx: &Arc<RunContext>,
    mut copies: Receiver<Work>,
) {
    let stop = ctx.control.stop().clone();
    let slots = Arc::new(Semaphore::new(session.config.concurrency.max(1)));
    let mut stage = TransferStage {
        session,
        ctx,
        tasks: JoinSet::new(),
        started_bytes: 0,
    };
    // --max-duration: no transfer starts after the deadline, and those in flight stop
    // (whether or not the planner is still sending work).
    let deadline = session.config.max_duration.map(|d| stop_at(ctx.clone(), d));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.stopped() => break,
        };
        let planned = tokio::select! {
            c = copies.recv() => c,
            _ = stop.stopped() => break,
        };
        if planned.is_some() && !session.prepare(ctx).await {
            break;
        }
        let Some(planned) = planned else { break };
        stage.reap();
        match planned {
            Work::Update(update) => stage.update(update, permit),
            Work::Copy(copy) => {
                if !stage.may_start(&copy) {
                    break;
                }
                stage.copy(copy, permit);
            }
        }
    }
    // Stop the planner if transfers stopped first, then wait for what is in flight.
    drop(copies);
    finish_transfers(&mut stage.tasks, &stop, ctx).await;
    if let Some(deadline) = deadline {
        deadline.abort();
    }
    count_lost_answers(session, ctx).await;
}

/// `--max-duration`: once `limit` has passed, the run is cut off and stopped.
fn stop_at(ctx: Arc<RunContext>, limit: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        ctx.fail(RunError::CutOff(
            super::CutOff::Duration,
            format!(
                "--max-duration {} reached: no more transfers were started, and those \
                 in flight were stopped (their finished blocks are kept); the next run \
                 continues where this one stopped",
                humantime::format_duration(limit)
            ),
        ));
        ctx.control.stop().stop();
    })
}

/// What the transfer stage's loop works with: the session, the run, the tasks in flight
/// and the bytes started so far.
struct TransferStage<'a> {
    session: &'a Parts,
    ctx: &'a Arc<RunContext>,
    tasks: JoinSet<()>,
    /// Bytes of the copies started so far (`--max-transfer`).
    started_bytes: u64,
}

impl TransferStage<'_> {
    /// Forgets the tasks that have finished.
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
    }

    /// Counts `copy` against `--max-transfer`; false, and the run is cut off, once the
    /// bytes started have reached it.
    fn may_start(&mut self, copy: &PlannedCopy) -> bool {
        let Some(max) = self.session.config.max_transfer else {
            return true;
        };
        // At most one transfer crosses the limit, so every run makes progress.
        if self.started_bytes >= max {
            self.ctx.fail(RunError::CutOff(
                super::CutOff::Transfer,
                format!(
                    "--max-transfer {} reached: no more transfers were started (those in \
                     flight finished); the next run continues where this one stopped",
                    indicatif::HumanBytes(max)
                ),
            ));
            return false;
        }
        self.started_bytes += copy.item.size;
        true
    }

    /// Changes a blob's properties on a task of its own (a dry run reports it instead).
    fn update(&mut self, update: PlannedUpdate, permit: OwnedSemaphorePermit) {
        if self.session.config.dry_run {
            plan_update(self.session, self.ctx, &update);
            return;
        }
        let (session_ctx, endpoint) = (
            self.ctx.clone(),
            match update.side {
                Side::Source => self.session.source.clone(),
                Side::Destination => self.session.destination.clone(),
            },
        );
        self.tasks.spawn(async move {
            apply_update(&*endpoint, update, &session_ctx).await;
            drop(permit);
        });
    }

    /// Copies one entry on a task of its own (a dry run reports it instead).
    fn copy(&mut self, planned: PlannedCopy, permit: OwnedSemaphorePermit) {
        if self.session.config.dry_run {
            plan_copy(self.session, self.ctx, &planned);
            return;
        }
        let task = CopyTask::new(self.session, self.ctx);
        self.tasks.spawn(async move {
            task.run(planned).await;
            drop(permit);
        });
    }
}

/// What one copy's task owns: the session's endpoints, stores and settings it needs.
struct CopyTask {
    source: Arc<dyn Endpoint>,
    destination: Arc<dyn Endpoint>,
    shared: Arc<Shared>,
    ctx: Arc<RunContext>,
    store: Option<Arc<Store>>,
    root: Option<PathBuf>,
    backup: Option<Arc<Backup>>,
    direction: Direction,
}

impl CopyTask {
    /// What a copy's task takes from the session and the run.
    fn new(session: &Parts, ctx: &Arc<RunContext>) -> CopyTask {
        CopyTask {
            source: session.source.clone(),
            destination: session.destination.clone(),
            shared: session.transfers.clone(),
            ctx: ctx.clone(),
            store: session.store.clone(),
            root: session.local_root.clone(),
            backup: session.backup.clone(),
            direction: session.config.direction,
        }
    }

    /// Copies `planned` and reports it: done, failed, or skipped when the error stands
    /// for a skip.
    async fn run(self, planned: PlannedCopy) {
        let ctx = &self.ctx;
        let moved = ctx.moving(planned.to(), planned.item.size);
        let result = copy_planned(
            &planned,
            (&*self.source, &*self.destination),
            (&self.shared, ctx),
            self.backup.as_deref(),
            &|n| moved.add(n),
        )
        .await;
        drop(moved);
        if let Err(e) = &result
            && let Some(kind) = skip_kind(e.class())
        {
            ctx.skipped(planned.to(), e.message(), kind);
            return;
        }
        let (bytes, md5, error) = match result {
            Ok(copied) => {
                if let Some(md5) = copied.md5 {
                    self.remember_md5(&planned, md5).await;
                }
                (copied.bytes, copied.md5, None)
            }
            Err(e) => {
                self.failed(&planned.item, &e);
                (0, None, Some(e.to_string()))
            }
        };
        if let Some(notice) = self.shared.server.take_notice() {
            ctx.warning(&notice);
        }
        ctx.done(ItemDone {
            path: planned.to.unwrap_or(planned.item.path),
            action: self.direction.action(),
            bytes,
            reason: planned.reason,
            error,
            md5,
            toward: None,
        });
    }

    /// Keeps the MD5 of a copied local file in the cache (the database), under the
    /// file's identity as listed (uploads) or as written (downloads).
    async fn remember_md5(&self, planned: &PlannedCopy, md5: [u8; 16]) {
        let (Some(store), Some(root), Some(side)) =
            (&self.store, &self.root, self.direction.local_side())
        else {
            return;
        };
        let key = match side {
            Side::Source => file_key(root, &planned.item),
            Side::Destination => {
                let (root, path) = (root.clone(), planned.to().to_string());
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

    /// Records what a failed copy means beyond itself: a damaged source blob is
    /// remembered, and refused credentials stop the run.
    fn failed(&self, item: &Item, e: &EndpointError) {
        if e.class() == ErrorClass::Corrupt
            && let (Some(store), Some(etag)) = (&self.store, &item.etag)
        {
            store.record_bad_blob(
                &self.source.describe_path(&item.path),
                etag,
                super::now_ms().max(0) as u64,
            );
        }
        if e.class() == ErrorClass::Auth {
            // Every other request would be refused too.
            self.ctx
                .fail(RunError::Authentication(e.clone().explain(&format!(
                    "{}; stopping, as every other transfer would be refused too",
                    credential_used(e, &*self.source, &*self.destination)
                ))));
        }
    }
}

/// The skip an error stands for, if it is one: a link in the way at the destination, or
/// a name the destination holds under another spelling (a collision).
pub(crate) fn skip_kind(class: ErrorClass) -> Option<SkipKind> {
    match class {
        ErrorClass::Link => Some(SkipKind::Symlink),
        ErrorClass::Collision => Some(SkipKind::Unsyncable),
        _ => None,
    }
}

/// Copies one planned entry: an archived destination is deleted first when the plan
/// says so.
async fn copy_planned(
    planned: &PlannedCopy,
    (source, destination): (&dyn Endpoint, &dyn Endpoint),
    (shared, ctx): (&Shared, &RunContext),
    backup: Option<&Backup>,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<transfer::Copied, EndpointError> {
    if let (Some(backup), Some(entry)) = (backup, &planned.backup) {
        backup.keep(destination, entry, shared, ctx).await?;
    }
    let mut replaces = planned.replaces.clone();
    if planned.delete_first
        && let Some(version) = replaces.take()
    {
        destination
            .delete(&crate::endpoint::DeleteTarget {
                path: planned.to().to_string(),
                version,
            })
            .await?;
    }
    transfer::copy(
        transfer::CopyOf {
            item: &planned.item,
            to: planned.to(),
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

/// Reports a copy a dry run would make, and the backup it would keep first.
fn plan_copy(session: &Parts, ctx: &RunContext, planned: &PlannedCopy) {
    let config = &session.config;
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
        Some(&session.destination.describe_path(planned.to())),
        &planned.reason,
        planned.item.size,
        &carries,
    );
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
        toward: None,
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
                toward: None,
            });
        }
    }
}

/// Waits for the transfers in flight. After a stop (now or while waiting) they get
/// [`STOP_GRACE`] to finish; the rest are cancelled, which discards their partial writes
/// (temporary files, uncommitted blocks).
async fn finish_transfers(tasks: &mut JoinSet<()>, stop: &Stop, ctx: &RunContext) {
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
