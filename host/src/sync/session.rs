//! A session: everything a sync needs, built once — credentials, both endpoints, the
//! plugins (on the process's one wasmtime engine), the database, the bandwidth limit and
//! the buffer budget — and run as many times as needed (watch mode runs it on every
//! change).

use std::sync::Arc;
use std::time::Instant;

use super::config::SyncConfig;
use super::context::RunContext;
use super::observer::{Observer, RunControl, RunInfo, RunOutcome, Status, now_ms};
use super::parts::Parts;
use super::{RunError, Stop};
use crate::endpoint::Endpoint;
use crate::endpoint::azure::Http;
use crate::plugin::{PluginHost, RunValues, Runtime};
use crate::store::Store;

/// One run of a session.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The job id the run is recorded under.
    pub job_id: String,
    /// Only these relative paths and what is below them (empty: everything).
    pub scopes: Vec<String>,
}

/// A sync, ready to run.
pub struct Session {
    parts: Parts,
    /// The HTTP client of the blob side(s), which counts retries.
    http: Option<Http>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("source", &self.parts.source.describe())
            .field("destination", &self.parts.destination.describe())
            .field("plugins", &self.parts.plugins)
            .finish_non_exhaustive()
    }
}

/// How long learning what the endpoints are may take before the run goes on without.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Session {
    /// Resolves credentials, builds both endpoints and loads every plugin. `store` is the
    /// database for the MD5 cache (`None` runs without one).
    pub async fn open(config: SyncConfig, store: Option<Arc<Store>>) -> Result<Session, RunError> {
        let (parts, http) = open_parts(config, store).await?;
        Ok(Session { parts, http })
    }

    /// A session over endpoints built elsewhere (the in-memory endpoint in tests), used as
    /// they are: wrap them to keep to a bandwidth cap or a buffer budget.
    pub fn with_endpoints(
        config: SyncConfig,
        source: Arc<dyn Endpoint>,
        destination: Arc<dyn Endpoint>,
        plugins: PluginHost,
        store: Option<Arc<Store>>,
    ) -> Result<Session, RunError> {
        Ok(Session {
            parts: Parts::new(config, source, destination, plugins, store)?,
            http: None,
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.parts.config
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &PluginHost {
        &self.parts.plugins
    }

    /// Uses `plugins`, loaded from `set`, from the next run on (watch mode's reload).
    pub fn replace_plugins(&mut self, set: crate::plugin::PluginSet, plugins: PluginHost) {
        self.parts.config.plugins = set;
        self.parts.plugins = plugins;
    }

    /// Runs one sync. The outcome's status and error come from what happened: the first
    /// fatal error recorded where it occurred, an interrupt, or failed items.
    pub async fn run(
        &self,
        request: RunRequest,
        stop: &Stop,
        observer: Arc<dyn Observer>,
    ) -> RunOutcome {
        let stop = stop.child();
        let control = RunControl::new(stop.clone());
        let info = self.info(&request, control.clone());
        observer.run_started(&info);
        let started = Instant::now();
        // Only this run's failures are this run's (watch mode probes plugins in between).
        self.parts.plugins.take_tolerated();
        let retries_before = self.retries();
        let ctx = Arc::new(RunContext::new(observer.clone(), control.clone()));
        let values = RunValues {
            started_ms: info.started_ms.max(0) as u64,
            job_id: request.job_id.clone(),
            local_root: self.parts.local_root.clone(),
            follow_links: self.parts.config.follow_symlinks,
            time_precision_ns: self
                .parts
                .source
                .capabilities()
                .time_precision_ns
                .max(self.parts.destination.capabilities().time_precision_ns),
        };
        super::run::execute(&self.parts, &ctx, request.scopes, values).await;
        let mut totals = ctx.totals();
        let plugin_failures = self.parts.plugins.take_tolerated();
        totals.plugin_failures += plugin_failures.iter().map(|p| p.count).sum::<u64>();
        totals.retries = self.retries().saturating_sub(retries_before);
        let error = control.fatal();
        let status = status_of(
            error.as_ref(),
            &stop,
            &totals,
            self.config().check.is_some(),
        );
        finish(
            RunOutcome {
                info,
                status,
                totals,
                elapsed: started.elapsed(),
                error,
                plugin_failures,
            },
            &*observer,
        )
    }

    /// Retries made so far by the session's HTTP clients.
    fn retries(&self) -> u64 {
        self.http.as_ref().map_or(0, Http::retries)
    }

    fn info(&self, request: &RunRequest, control: RunControl) -> RunInfo {
        RunInfo {
            job_id: request.job_id.clone(),
            source: self.config().source.display(),
            destination: self.config().destination.display(),
            dry_run: self.config().dry_run,
            check: self.config().check.is_some(),
            scopes: request.scopes.clone(),
            started_ms: now_ms(),
            shard: self.config().shard,
            control,
        }
    }
}

/// Resolves credentials, builds both endpoints and loads every plugin: the parts of a
/// session, and the HTTP client of its blob side(s).
pub(crate) async fn open_parts(
    config: SyncConfig,
    store: Option<Arc<Store>>,
) -> Result<(Parts, Option<Http>), RunError> {
    let limits = super::endpoints::Limits::of(&config);
    let (source, destination, http) = super::endpoints::build(&config, &limits)?;
    // Best effort: on a network that fails, the listing says so (with its retries).
    let probes = async { tokio::join!(source.probe(), destination.probe()) };
    if tokio::time::timeout(PROBE_TIMEOUT, probes).await.is_err() {
        tracing::debug!("probing the endpoints took too long; going on without");
    }
    let precision = source
        .capabilities()
        .time_precision_ns
        .max(destination.capabilities().time_precision_ns);
    if precision > 1 {
        // The built-in comparator reads this from the run values (blobsync.time-precision-ns).
        tracing::info!(
            "modification times are compared to within {} (the coarser side's precision)",
            humantime::format_duration(std::time::Duration::from_nanos(precision))
        );
    }
    let plugins = load_plugins(&config).await?;
    tracing::info!("plugins: {}", plugins.describe());
    super::overlap::check(&config.source, &config.destination, &plugins)?;
    let backup = super::endpoints::build_backup(&config, http.as_ref(), &limits)?;
    let mut parts = Parts::new(config, source, destination, plugins, store)?;
    parts.backup = backup;
    Ok((parts, http))
}

/// Loads the plugins `config` names, on the process's one wasmtime engine.
pub(crate) async fn load_plugins(config: &SyncConfig) -> Result<PluginHost, RunError> {
    let cache = config.cache_dir.clone();
    let set = config.plugins.clone();
    tokio::task::spawn_blocking(move || -> Result<PluginHost, RunError> {
        let runtime = Runtime::shared(cache)
            .map_err(|e| RunError::Internal(format!("cannot start the plugin runtime: {e:#}")))?;
        Ok(PluginHost::new(&runtime, &set)?)
    })
    .await
    .map_err(|e| RunError::Internal(format!("loading the plugins failed: {e}")))?
}

/// A run's status, from its first fatal error, its stop, and its totals (`check`: the
/// differences it found).
pub(crate) fn status_of(
    error: Option<&RunError>,
    stop: &Stop,
    totals: &super::Totals,
    check: bool,
) -> Status {
    if matches!(error, Some(RunError::CutOff(..))) {
        Status::CutOff
    } else if error.is_some() {
        Status::Failed
    } else if stop.is_interrupted() {
        Status::Cancelled
    } else if check && totals.only_at_source + totals.differ + totals.only_at_destination > 0 {
        Status::Differences
    } else if totals.failed > 0 {
        Status::CompletedWithErrors
    } else {
        Status::Completed
    }
}

/// Lets the observers add what they know at the end, then tells them the run ended.
pub(crate) fn finish(mut outcome: RunOutcome, observer: &dyn Observer) -> RunOutcome {
    let completion = observer.run_completing(&outcome);
    outcome.totals.plugin_failures += completion
        .plugin_failures
        .iter()
        .map(|p| p.count)
        .sum::<u64>();
    outcome.plugin_failures = crate::plugin::combine_failures(
        std::mem::take(&mut outcome.plugin_failures)
            .into_iter()
            .chain(completion.plugin_failures),
    );
    if let (Some(e), None) = (completion.error, &outcome.error) {
        outcome.error = Some(e);
        outcome.status = Status::Failed;
    }
    observer.run_finished(&outcome);
    outcome
}

/// Records a run that could not start (bad credentials, a plugin that does not load):
/// the observers see it start and fail at once.
pub fn not_started(
    config: &SyncConfig,
    request: &RunRequest,
    error: RunError,
    observer: &dyn Observer,
) -> RunOutcome {
    ended_before_start(config, request, Some(error), observer)
}

/// The outcome of a run interrupted before it started (while the session was opened).
pub fn cancelled_before_start(
    config: &SyncConfig,
    request: &RunRequest,
    observer: &dyn Observer,
) -> RunOutcome {
    ended_before_start(config, request, None, observer)
}

fn ended_before_start(
    config: &SyncConfig,
    request: &RunRequest,
    error: Option<RunError>,
    observer: &dyn Observer,
) -> RunOutcome {
    let info = RunInfo {
        job_id: request.job_id.clone(),
        source: config.source.display(),
        destination: config.destination.display(),
        dry_run: config.dry_run,
        check: config.check.is_some(),
        scopes: request.scopes.clone(),
        started_ms: now_ms(),
        shard: config.shard,
        control: RunControl::new(Stop::new()),
    };
    observer.run_started(&info);
    finish(
        RunOutcome {
            info,
            status: if error.is_some() {
                Status::Failed
            } else {
                Status::Cancelled
            },
            totals: Default::default(),
            elapsed: Default::default(),
            plugin_failures: Vec::new(),
            error,
        },
        observer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointKind, ListOrder, MemoryEndpoint};
    use crate::sync::DeleteMode;
    use crate::sync::testing::{run_once as run, session_of, upload_config as config};

    fn session(
        config: SyncConfig,
        source: &MemoryEndpoint,
        destination: &MemoryEndpoint,
    ) -> Session {
        session_of(
            config,
            Arc::new(source.clone()),
            Arc::new(destination.clone()),
        )
    }

    #[test]
    fn one_session_syncs_filters_deletes_and_then_has_nothing_to_do() {
        let source = MemoryEndpoint::new(EndpointKind::Local);
        let destination = MemoryEndpoint::new(EndpointKind::Blob);
        source.insert("a.txt", b"alpha", 1_700_000_000_000_000_001);
        source.insert("dir/b.txt", b"beta", 1_700_000_000_000_000_002);
        source.insert("scratch.tmp", b"excluded", 1_700_000_000_000_000_003);
        destination.insert("stale.txt", b"old", 5);
        destination.insert("keep.tmp", b"excluded on the destination too", 5);
        let session = session(config(DeleteMode::True), &source, &destination);

        let (first, events) = run(&session);
        assert_eq!(first.status, Status::Completed, "{:?}", events.lines());
        assert_eq!(first.exit_code(), 0);
        assert_eq!(first.totals.copied, 2);
        assert_eq!(first.totals.deleted, 1);
        assert_eq!(first.totals.excluded, 2);
        assert_eq!(destination.paths(), ["a.txt", "dir/b.txt", "keep.tmp"]);
        assert_eq!(destination.get("dir/b.txt").unwrap(), &b"beta"[..]);

        // The same session again: everything is up to date.
        let (second, _) = run(&session);
        assert_eq!(second.totals.copied, 0);
        assert_eq!(second.totals.up_to_date, 2);
        assert_eq!(second.status, Status::Completed);
    }

    /// Names that sort differently in each order: fullwidth and private-use characters,
    /// supplementary-plane ones, `-`, `.` and `/` next to each other, and names stored
    /// encoded (`\\`, a trailing `.`).
    const AWKWARD: &[&str] = &[
        "a！.txt",
        "a😀.txt",
        "a\u{e000}.txt",
        "a.txt",
        "a-b",
        "a/x",
        "a/x/y",
        "a.b/c",
        "a0",
        "back\\slash",
        "trail.",
        "trail/x",
        "z",
    ];

    #[test]
    fn every_order_merges_awkward_names_and_then_has_nothing_to_do() {
        for order in [
            ListOrder::UTF16,
            ListOrder::UTF16.encoded(),
            ListOrder::PATH_COMPONENTS,
            ListOrder::PATH_COMPONENTS.encoded(),
            ListOrder::BYTES,
        ] {
            let source = MemoryEndpoint::new(EndpointKind::Local);
            let destination = MemoryEndpoint::new(EndpointKind::Blob).with_order(order);
            for (i, name) in AWKWARD.iter().enumerate() {
                source.insert(name, name.as_bytes(), 1_700_000_000_000_000_000 + i as i64);
            }
            destination.insert("a.c-stale", b"old", 5);
            destination.insert("a/stale", b"old", 5);
            let session = session(config(DeleteMode::True), &source, &destination);
            let (first, events) = run(&session);
            assert_eq!(
                (first.status, first.totals.copied, first.totals.deleted),
                (Status::Completed, AWKWARD.len() as u64, 2),
                "{order:?}: {:?}",
                events.lines()
            );
            let (second, events) = run(&session);
            assert_eq!(
                (
                    second.totals.copied,
                    second.totals.up_to_date,
                    second.totals.deleted
                ),
                (0, AWKWARD.len() as u64, 0),
                "{order:?}: {:?}",
                events.lines()
            );
            assert_eq!(second.status, Status::Completed);
        }
    }

    #[test]
    fn listings_in_two_orders_are_a_usage_error_naming_both() {
        let runtime = Runtime::shared(None).unwrap();
        let flat = MemoryEndpoint::new(EndpointKind::Blob).with_order(ListOrder::UTF16);
        let hierarchical =
            MemoryEndpoint::new(EndpointKind::Blob).with_order(ListOrder::PATH_COMPONENTS);
        let config = config(DeleteMode::False);
        let e = Session::with_endpoints(
            config.clone(),
            Arc::new(hierarchical),
            Arc::new(flat),
            PluginHost::new(&runtime, &config.plugins).unwrap(),
            None,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), crate::sync::EXIT_USAGE);
        let message = e.to_string();
        assert!(
            message.contains("path-component order")
                && message.contains("UTF-16")
                && message.contains("hierarchical namespace"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_source_is_a_usage_error_that_deletes_nothing() {
        let source = MemoryEndpoint::new(EndpointKind::Local);
        let destination = MemoryEndpoint::new(EndpointKind::Blob);
        destination.insert("precious.txt", b"x", 5);
        let scratch = tempfile::tempdir().unwrap();
        let nowhere = scratch.path().join("missing");
        let mut config = config(DeleteMode::True);
        config.plugins.filters.clear();
        let plugins = PluginHost::new(&Runtime::shared(None).unwrap(), &config.plugins).unwrap();
        let session = Session::with_endpoints(
            config,
            Arc::new(source),
            Arc::new(crate::endpoint::LocalEndpoint::new(
                scratch.path().join("created"),
                false,
                false,
            )),
            plugins,
            None,
        )
        .unwrap();
        // An empty source and a missing destination folder: nothing to do (the folder is
        // created).
        let (outcome, _) = run(&session);
        assert_eq!(outcome.status, Status::Completed);
        assert!(scratch.path().join("created").is_dir());

        let missing = Session::with_endpoints(
            session.config().clone(),
            Arc::new(crate::endpoint::LocalEndpoint::new(nowhere, false, false)),
            Arc::new(destination.clone()),
            PluginHost::new(&Runtime::shared(None).unwrap(), &session.config().plugins).unwrap(),
            None,
        )
        .unwrap();
        let (outcome, _) = run(&missing);
        assert_eq!(outcome.status, Status::Failed);
        assert_eq!(outcome.exit_code(), crate::sync::EXIT_USAGE);
        let message = outcome.error.unwrap().to_string();
        assert!(
            message.contains("nothing was copied or deleted"),
            "{message}"
        );
        assert_eq!(destination.paths(), ["precious.txt"]);
    }
}
