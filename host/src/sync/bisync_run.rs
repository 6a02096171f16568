//! A two-way session (`blobsync bisync`): both directions of a pair of locations, each
//! the parts a one-way `sync` works with (path1 → path2 and path2 → path1, sharing the
//! endpoints), and the pair's state in the database. A run lists both sides once, plans
//! every path against the state ([`super::bisync_plan`]), refuses a plan the guards do
//! not allow, then copies in three rounds of alternating direction and deletes,
//! recording each item's new state as it finishes ([`super::bisync_record`]).

use std::sync::Arc;
use std::time::Instant;

use super::bisync_lock::{lock_name, lock_pair};
use super::bisync_moves::move_round;
use super::bisync_plan::{PlanStage, TwoWayPairs};
use super::bisync_record::StateRecorder;
use super::bisync_rounds::{copy_round, delete_round};
use super::bisync_state_blob::ContainerState;
use super::blob_md5::BlobHasher;
use super::collide::Collisions;
use super::context::RunContext;
use super::hashing::Hashing;
use super::local_md5::LocalHasher;
use super::observer::{Observer, Planned, RunControl, RunInfo, RunOutcome, now_ms};
use super::parts::Parts;
use super::plan::merge;
use super::run::{join_listing, start_listing};
use super::session::{finish, load_plugins, open_parts, status_of};
use super::{Direction, Location, RunError, RunRequest, Side, Stop, SyncConfig};
use crate::bisync::Which;
use crate::bisync::plan::{Plan, PlanOptions};
use crate::endpoint::azure::Http;
use crate::endpoint::{Endpoint, EndpointKind};
use crate::plugin::RunValues;
use crate::store::Store;

/// A two-way sync's configuration.
#[derive(Debug, Clone)]
pub struct TwoWayConfig {
    /// path1 → path2 as a one-way sync of them is configured: the locations, each side's
    /// credentials, the filters, the transfers, dry run.
    pub sync: SyncConfig,
    /// How conflicts are settled.
    pub plan: PlanOptions,
    /// The share of the entries the state knows on a side that one run may delete or
    /// replace there (`--max-changes`).
    pub max_share: f64,
    /// Adopt both trees afresh, as if never synced (`--resync`): the state is dropped,
    /// the same content on both sides is settled, and differing files are conflicts.
    pub resync: bool,
    /// Where path1's overwritten and deleted entries are kept (`--backup-dir1`; path2's
    /// is `sync.backup`, path2 being path1 → path2's destination).
    pub backup1: Option<super::BackupConfig>,
    /// `--check-access`: the name of the check files both sides must hold at the same
    /// paths.
    pub check_access: Option<String>,
    /// Keep the state in the container (path1's, if both sides are containers) instead
    /// of the database (`--state-in-container`).
    pub state_in_container: bool,
}

/// A two-way sync, ready to run.
pub struct TwoWaySession {
    forward: Parts,
    backward: Parts,
    http: Option<Http>,
    store: Arc<Store>,
    pair: i64,
    /// The name of the pair's locks.
    lock: String,
    plan: PlanOptions,
    max_share: f64,
    check_access: Option<String>,
    /// The state kept in a container (`--state-in-container`).
    in_container: Option<ContainerState>,
    resync: bool,
}

/// The same sync the other way round: path2 → path1, keeping path1's entries in
/// `--backup-dir1`.
fn reversed(config: &TwoWayConfig) -> Result<SyncConfig, RunError> {
    let sync = &config.sync;
    let (source, destination) = (sync.destination.clone(), sync.source.clone());
    let direction = Direction::between(&source, &destination).map_err(RunError::Usage)?;
    Ok(SyncConfig {
        source,
        destination,
        direction,
        backup: config.backup1.clone(),
        ..sync.clone()
    })
}

/// Where `--state-in-container` keeps the state: path1's container, else path2's.
fn state_keeper(
    config: &TwoWayConfig,
    forward: &Parts,
    lock: &str,
) -> Result<Option<ContainerState>, RunError> {
    if !config.state_in_container {
        return Ok(None);
    }
    let container = [&forward.source, &forward.destination]
        .into_iter()
        .find(|e| e.capabilities().kind == EndpointKind::Blob)
        .ok_or_else(|| {
            RunError::Usage(
                "--state-in-container keeps the state in a container, and neither \
                 location is one"
                    .into(),
            )
        })?;
    Ok(Some(ContainerState::new(container.clone(), lock)))
}

/// What names a location in the state: a local folder's absolute path, a blob
/// location's URL (without its SAS).
fn identity(location: &Location) -> String {
    match location {
        Location::Local(p) => std::path::absolute(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        Location::Blob(_) => location.display(),
    }
}

impl TwoWaySession {
    /// Resolves both sides' credentials, builds the endpoints, loads the plugins (once
    /// per direction) and finds the pair's state in `store`.
    pub async fn open(config: TwoWayConfig, store: Arc<Store>) -> Result<TwoWaySession, RunError> {
        let (forward, http) = open_parts(config.sync.clone(), Some(store.clone())).await?;
        let backward = reversed(&config)?;
        let plugins = load_plugins(&backward).await?;
        let limits = super::endpoints::Limits::of(&backward);
        let backup1 = super::endpoints::build_backup(&backward, http.as_ref(), &limits)?;
        let mut session = TwoWaySession::assemble(config, forward, plugins, store)?;
        session.backward.backup = backup1;
        session.http = http;
        Ok(session)
    }

    /// A two-way session over endpoints built elsewhere (the in-memory endpoint in
    /// tests).
    pub fn with_endpoints(
        config: TwoWayConfig,
        path1: Arc<dyn Endpoint>,
        path2: Arc<dyn Endpoint>,
        store: Arc<Store>,
    ) -> Result<TwoWaySession, RunError> {
        let runtime = crate::plugin::Runtime::shared(config.sync.cache_dir.clone())
            .map_err(|e| RunError::Internal(format!("cannot start the plugin runtime: {e:#}")))?;
        let plugins = || crate::plugin::PluginHost::new(&runtime, &config.sync.plugins);
        let forward = Parts::new(
            config.sync.clone(),
            path1,
            path2,
            plugins()?,
            Some(store.clone()),
        )?;
        let backward = plugins()?;
        TwoWaySession::assemble(config, forward, backward, store)
    }

    /// The session from its forward parts and the backward direction's plugins.
    fn assemble(
        config: TwoWayConfig,
        forward: Parts,
        plugins: crate::plugin::PluginHost,
        store: Arc<Store>,
    ) -> Result<TwoWaySession, RunError> {
        let backward = Parts::new(
            reversed(&config)?,
            forward.destination.clone(),
            forward.source.clone(),
            plugins,
            Some(store.clone()),
        )?;
        let order = forward.order;
        let order_name = format!(
            "{}{}",
            order.describe(),
            if order.encoded { ", encoded" } else { "" }
        );
        let failed = |e: crate::store::StoreError| RunError::Internal(format!("{e}"));
        let (path1, path2) = (
            identity(&config.sync.source),
            identity(&config.sync.destination),
        );
        let pair = store
            .bisync_pair(&path1, &path2, &order_name)
            .map_err(failed)?;
        if config.resync && !config.sync.dry_run {
            store.bisync_clear(pair.id).map_err(failed)?;
        }
        if pair.stale_order.is_some() {
            store
                .bisync_rekey(pair.id, &order_name, |p| order.sort_key(p))
                .map_err(failed)?;
        }
        let lock = lock_name(&path1, &path2);
        let in_container = state_keeper(&config, &forward, &lock)?;
        Ok(TwoWaySession {
            forward,
            backward,
            http: None,
            store,
            pair: pair.id,
            lock,
            plan: PlanOptions {
                resolvers: !config.sync.plugins.resolvers.is_empty(),
                ..config.plan
            },
            max_share: config.max_share,
            check_access: config.check_access,
            in_container,
            resync: config.resync,
        })
    }

    /// The plugins (path1 → path2's; the hooks are started from them).
    pub fn plugins(&self) -> &crate::plugin::PluginHost {
        &self.forward.plugins
    }

    /// path1 → path2, as configured.
    pub fn config(&self) -> &SyncConfig {
        &self.forward.config
    }

    /// Runs both ways once.
    pub async fn run(
        &self,
        request: RunRequest,
        stop: &Stop,
        observer: Arc<dyn Observer>,
    ) -> RunOutcome {
        let stop = stop.child();
        let control = RunControl::new(stop.clone());
        let info = RunInfo {
            job_id: request.job_id.clone(),
            source: self.config().source.display(),
            destination: self.config().destination.display(),
            dry_run: self.config().dry_run,
            check: false,
            scopes: Vec::new(),
            started_ms: now_ms(),
            shard: None,
            control: control.clone(),
        };
        let recorder = Arc::new(StateRecorder::new(
            observer,
            self.store.clone(),
            self.pair,
            self.forward.order,
        ));
        recorder.run_started(&info);
        let started = Instant::now();
        let retries_before = self.retries();
        let ctx = Arc::new(RunContext::new(recorder.clone(), control.clone()));
        let values = RunValues {
            started_ms: info.started_ms.max(0) as u64,
            job_id: request.job_id,
            local_root: self.forward.local_root.clone(),
            follow_links: self.config().follow_symlinks,
            time_precision_ns: self.precision(),
        };
        self.locked(&ctx, &recorder, &values).await;
        let mut totals = ctx.totals();
        let plugin_failures = crate::plugin::combine_failures(
            self.forward
                .plugins
                .take_tolerated()
                .into_iter()
                .chain(self.backward.plugins.take_tolerated()),
        );
        totals.plugin_failures += plugin_failures.iter().map(|p| p.count).sum::<u64>();
        totals.retries = self.retries().saturating_sub(retries_before);
        let error = control.fatal();
        let status = status_of(error.as_ref(), &stop, &totals, false);
        let outcome = RunOutcome {
            info,
            status,
            totals,
            elapsed: started.elapsed(),
            error,
            plugin_failures,
        };
        finish(outcome, &*recorder)
    }

    fn retries(&self) -> u64 {
        self.http.as_ref().map_or(0, Http::retries)
    }

    fn precision(&self) -> u64 {
        self.forward
            .source
            .capabilities()
            .time_precision_ns
            .max(self.forward.destination.capabilities().time_precision_ns)
    }

    /// Runs with both locks held: a pair another run holds is the run's error.
    async fn locked(&self, ctx: &Arc<RunContext>, recorder: &StateRecorder, values: &RunValues) {
        let folder = self.store.path().parent().map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
        let endpoints = [&*self.forward.source, &*self.forward.destination];
        if !self.config().dry_run {
            // Both sides are there before anything else (a container is created).
            for endpoint in endpoints {
                if let Err(e) = endpoint.prepare_for_writes().await {
                    ctx.fail(RunError::from(e.explain("; nothing was written")));
                    return;
                }
            }
        }
        match lock_pair(&folder, &self.lock, endpoints).await {
            Ok(locks) => {
                self.execute(ctx, recorder, values).await;
                locks.release().await;
            }
            Err(e) => ctx.fail(e),
        }
    }

    /// Plans, checks the plan against the guards, and carries it out.
    async fn execute(&self, ctx: &Arc<RunContext>, recorder: &StateRecorder, values: &RunValues) {
        if let Some(state) = &self.in_container {
            let order = self.forward.order;
            match state.load(&self.store, self.pair, order, self.resync).await {
                Ok(paths) => {
                    tracing::info!("the state of {paths} paths was read from the container")
                }
                Err(e) => return ctx.fail(e),
            }
        }
        let Some(mut plan) = self.plan(ctx, values).await else {
            return;
        };
        let access = self.check_access.as_deref();
        if let Some(why) = access
            .and_then(|name| plan.access_refusal(name))
            .or_else(|| plan.refusal(self.max_share))
        {
            ctx.fail(RunError::Refused(why));
            return;
        }
        for conflict in &plan.conflicts {
            ctx.conflict(conflict);
        }
        if self.config().dry_run {
            self.report(ctx, &mut plan);
            return;
        }
        self.carry_out(ctx, recorder, values, plan).await;
        self.save_state(ctx).await;
    }

    /// Writes the state to the container, where it is kept there: after the run, and
    /// after each round of copies, so that a run cut short leaves its progress.
    async fn save_state(&self, ctx: &RunContext) {
        if let Some(state) = &self.in_container
            && let Err(e) = state.save(&self.store, self.pair).await
        {
            ctx.fail(e);
        }
    }

    /// Carries the plan out: the settled and forgotten paths' state, the moves, the
    /// copies in three rounds, the deletes.
    async fn carry_out(
        &self,
        ctx: &Arc<RunContext>,
        recorder: &StateRecorder,
        values: &RunValues,
        plan: Plan,
    ) {
        for known in &plan.settled {
            recorder.record(known);
            ctx.up_to_date(&known.path, "the same content on both sides");
        }
        for path in &plan.forget {
            recorder.forget(path);
        }
        let [moves1, moves2] = plan.moves;
        for (parts, toward, moves) in [
            (&self.backward, Which::Path1, moves1),
            (&self.forward, Which::Path2, moves2),
        ] {
            ctx.set_toward(Some(toward));
            move_round(parts, ctx, recorder, moves).await;
        }
        let [first, second, third] = plan.rounds;
        let rounds = [
            (&self.forward, Which::Path2, first),
            (&self.backward, Which::Path1, second),
            (&self.forward, Which::Path2, third),
        ];
        for (parts, toward, copies) in rounds {
            ctx.set_toward(Some(toward));
            let any = !copies.is_empty();
            copy_round(parts, ctx, recorder, values, copies).await;
            if ctx.stopped() || ctx.control.fatal().is_some() {
                return;
            }
            if any {
                self.save_state(ctx).await;
            }
        }
        let [on1, on2] = plan.deletes;
        for (parts, toward, deletes) in [
            (&self.backward, Which::Path1, on1),
            (&self.forward, Which::Path2, on2),
        ] {
            ctx.set_toward(Some(toward));
            delete_round(parts, ctx, recorder, deletes).await;
        }
    }

    /// Lists both sides and plans every path against the state.
    async fn plan(&self, ctx: &Arc<RunContext>, values: &RunValues) -> Option<Plan> {
        let (threads, (path1, path2)) = match start_listing(&self.forward, ctx, Vec::new(), values)
        {
            Ok(listing) => listing,
            Err(e) => {
                ctx.fail(RunError::Internal(format!("cannot start listing: {e}")));
                return None;
            }
        };
        let (store, pair, order) = (self.store.clone(), self.pair, self.forward.order);
        let collisions = Collisions::for_destination(&self.forward.destination.capabilities());
        let (options, hashing, task_ctx) = (self.plan, self.hashing(ctx), ctx.clone());
        let check_name = self.check_access.clone();
        let resolvers = self.forward.plugins.resolver_chain_for(values);
        let settle_into = (!self.config().dry_run).then(|| (self.store.clone(), self.pair));
        let planned = tokio::task::spawn_blocking(move || {
            let ctx = &*task_ctx;
            let stage = PlanStage {
                options,
                check_name,
                resolvers: Some(resolvers),
                settle_into,
            };
            let mut pairs = TwoWayPairs::new(ctx, order, store.bisync_known(pair), hashing, stage);
            let outcome = merge(
                path1.into_iter(),
                path2.into_iter(),
                order,
                collisions,
                ctx,
                &mut pairs,
            )?;
            let unsafe_deletes = outcome.deletes_unsafe();
            if let Some(why) = unsafe_deletes {
                ctx.warning(&format!(
                    "nothing is deleted on either side this run because {why}; fix that \
                     and run again"
                ));
            }
            pairs.into_plan(unsafe_deletes.is_none())
        })
        .await;
        join_listing(threads).await;
        match planned {
            Ok(Ok(plan)) if !ctx.stopped() => Some(plan),
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                ctx.fail(e);
                None
            }
            Err(e) => {
                ctx.fail(RunError::Internal(format!("the planner failed: {e}")));
                None
            }
        }
    }

    /// The hash service for pairs changed on both sides whose content decides: the local
    /// side's files, each blob side's blobs that lack a Content-MD5.
    fn hashing(&self, ctx: &RunContext) -> Hashing {
        let config = self.config();
        let local = match (&self.forward.local_root, config.direction.local_side()) {
            (Some(root), Some(side)) => Some(LocalHasher::new(
                root.clone(),
                config.follow_symlinks && side == Side::Source,
                side,
                config.hash_workers,
                Some(self.store.clone()),
            )),
            _ => None,
        };
        let blobs = |endpoint: &Arc<dyn Endpoint>| {
            (endpoint.capabilities().kind == EndpointKind::Blob).then(|| BlobHasher {
                endpoint: endpoint.clone(),
                runtime: tokio::runtime::Handle::current(),
                missing_only: true,
                stop: ctx.control.stop().clone(),
            })
        };
        let blobs = (
            blobs(&self.forward.source),
            blobs(&self.forward.destination),
        );
        Hashing::new(local, blobs, false)
    }

    /// What a dry run reports: each copy and delete with its reason.
    fn report(&self, ctx: &RunContext, plan: &mut Plan) {
        let (one, two) = (&self.forward.source, &self.forward.destination);
        let side = |w: Which| -> &Arc<dyn Endpoint> { if w == Which::Path1 { one } else { two } };
        for round in &mut plan.rounds {
            let read = round.for_each(|copy| {
                ctx.planned(
                    Planned::Copy,
                    &side(copy.from).describe_path(&copy.item.path),
                    Some(&side(copy.from.other()).describe_path(&copy.to)),
                    &copy.reason,
                    copy.item.size,
                    "",
                );
            });
            if let Err(e) = read {
                return ctx.fail(RunError::Internal(e));
            }
        }
        for m in plan.moves.iter().flatten() {
            let at = side(m.on);
            ctx.planned(
                Planned::Copy,
                &at.describe_path(&m.item.path),
                Some(&at.describe_path(&m.to)),
                &m.reason,
                m.item.size,
                "",
            );
        }
        for delete in plan.deletes.iter().flatten() {
            ctx.planned(
                Planned::Remove,
                &side(delete.on).describe_path(&delete.item.path),
                None,
                &delete.reason,
                0,
                "",
            );
        }
    }
}
