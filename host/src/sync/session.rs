//! A session: everything a sync needs, built once — credentials, both endpoints, the
//! plugins (on the process's one wasmtime engine), the database, the bandwidth limit and
//! the buffer budget — and run as many times as needed (watch mode runs it on every
//! change).

use std::sync::Arc;
use std::time::Instant;

use super::config::{Location, SyncConfig};
use super::context::RunContext;
use super::limits::{BufferBudget, RateLimiter};
use super::observer::{Observer, RunControl, RunInfo, RunOutcome, Status, now_ms};
use super::run::Parts;
use super::transfer::Shared;
use super::{Direction, RunError, Side, Stop};
use crate::endpoint::azure::{AzureEndpoint, HttpSettings, resolve_auth, transport};
use crate::endpoint::local::LocalEndpoint;
use crate::endpoint::{Endpoint, ListOrder};
use crate::plugin::{PluginHost, Runtime};
use crate::store::Store;

/// One run of a session.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The job id the run is recorded under.
    pub job_id: String,
    /// Only this relative path and what is below it (`None`: everything).
    pub scope: Option<String>,
}

/// A sync, ready to run.
pub struct Session {
    parts: Parts,
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

impl Session {
    /// Resolves credentials, builds both endpoints and loads every plugin. `store` is the
    /// database for the MD5 cache (`None` runs without one).
    pub async fn open(config: SyncConfig, store: Option<Arc<Store>>) -> Result<Session, RunError> {
        let http = match (&config.source, &config.destination) {
            (Location::Local(_), Location::Local(_)) => None,
            _ => Some(transport(&HttpSettings {
                concurrency: config.concurrency,
            })?),
        };
        let build = |location: &Location, side: Side| -> Result<Arc<dyn Endpoint>, RunError> {
            Ok(match location {
                // The destination of a real run removes what killed downloads left behind.
                Location::Local(path) => Arc::new(LocalEndpoint::new(
                    path.clone(),
                    config.follow_symlinks,
                    side == Side::Destination && !config.dry_run,
                )),
                Location::Blob(blob) => {
                    let Some(http) = &http else {
                        return Err(RunError::Internal("no HTTP transport".into()));
                    };
                    let auth = resolve_auth(blob, &config.auth, http)?;
                    tracing::info!("authenticating to {blob} with {}", auth.describe());
                    Arc::new(AzureEndpoint::new(blob.clone(), auth, http.clone())?)
                }
            })
        };
        let source = build(&config.source, Side::Source)?;
        let destination = build(&config.destination, Side::Destination)?;
        let plugins = {
            let cache = config.cache_dir.clone();
            let set = config.plugins.clone();
            tokio::task::spawn_blocking(move || -> Result<PluginHost, RunError> {
                let runtime = Runtime::shared(cache).map_err(|e| {
                    RunError::Internal(format!("cannot start the plugin runtime: {e:#}"))
                })?;
                Ok(PluginHost::new(&runtime, &set)?)
            })
            .await
            .map_err(|e| RunError::Internal(format!("loading the plugins failed: {e}")))??
        };
        tracing::info!("plugins: {}", plugins.describe());
        Session::with_endpoints(config, source, destination, plugins, store)
    }

    /// A session over endpoints built elsewhere (the in-memory endpoint in tests).
    pub fn with_endpoints(
        config: SyncConfig,
        source: Arc<dyn Endpoint>,
        destination: Arc<dyn Endpoint>,
        plugins: PluginHost,
        store: Option<Arc<Store>>,
    ) -> Result<Session, RunError> {
        let order = match (
            source.capabilities().order,
            destination.capabilities().order,
        ) {
            (Some(a), Some(b)) if a != b => {
                return Err(RunError::Usage(format!(
                    "{} lists in {} and {} in {}; they cannot be merged",
                    source.describe(),
                    a.describe(),
                    destination.describe(),
                    b.describe()
                )));
            }
            (Some(order), _) | (None, Some(order)) => order,
            (None, None) => ListOrder::default(),
        };
        let local_root = match (&config.source, &config.destination) {
            (Location::Local(p), _) | (_, Location::Local(p)) => {
                Some(std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            }
            _ => None,
        };
        let transfers = Arc::new(Shared {
            options: config.transfer.clone(),
            budget: BufferBudget::new(config.buffer_bytes),
            rate: config.cap_mbps.map(RateLimiter::new),
            check_source_md5: config.direction == Direction::Download,
        });
        Ok(Session {
            parts: Parts {
                config,
                source,
                destination,
                plugins,
                store,
                transfers,
                order,
                local_root,
            },
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
        let tolerated_before = self.parts.plugins.tolerated_failures();
        let ctx = Arc::new(RunContext::new(observer.clone(), control.clone()));
        super::run::execute(&self.parts, &ctx, request.scope).await;
        let mut totals = ctx.totals();
        totals.plugin_failures += self
            .parts
            .plugins
            .tolerated_failures()
            .saturating_sub(tolerated_before);
        let error = control.fatal();
        let status = if error.is_some() {
            Status::Failed
        } else if stop.is_interrupted() {
            Status::Cancelled
        } else if totals.failed > 0 {
            Status::CompletedWithErrors
        } else {
            Status::Completed
        };
        finish(
            RunOutcome {
                info,
                status,
                totals,
                elapsed: started.elapsed(),
                error,
            },
            &*observer,
        )
    }

    fn info(&self, request: &RunRequest, control: RunControl) -> RunInfo {
        RunInfo {
            job_id: request.job_id.clone(),
            source: self.config().source.display(),
            destination: self.config().destination.display(),
            dry_run: self.config().dry_run,
            scope: request.scope.clone(),
            started_ms: now_ms(),
            control,
        }
    }
}

/// Lets the observers add what they know at the end, then tells them the run ended.
fn finish(mut outcome: RunOutcome, observer: &dyn Observer) -> RunOutcome {
    let completion = observer.run_completing(&outcome);
    outcome.totals.plugin_failures += completion.plugin_failures;
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
    let info = RunInfo {
        job_id: request.job_id.clone(),
        source: config.source.display(),
        destination: config.destination.display(),
        dry_run: config.dry_run,
        scope: request.scope.clone(),
        started_ms: now_ms(),
        control: RunControl::new(Stop::new()),
    };
    observer.run_started(&info);
    finish(
        RunOutcome {
            info,
            status: Status::Failed,
            totals: Default::default(),
            elapsed: Default::default(),
            error: Some(error),
        },
        observer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::azure::{AuthOptions, BlobLocation};
    use crate::endpoint::{EndpointKind, MemoryEndpoint};
    use crate::plugin::{PluginKind, PluginSet, PluginSpec};
    use crate::sync::testing::Collect;
    use crate::sync::{CheckMd5, DeleteMode, TransferOptions};

    fn config(delete: DeleteMode) -> SyncConfig {
        SyncConfig {
            source: Location::Local("/memory/source".into()),
            destination: Location::Blob(
                BlobLocation::parse("http://127.0.0.1:1/devstoreaccount1/memory").unwrap(),
            ),
            direction: Direction::Upload,
            auth: AuthOptions::default(),
            plugins: PluginSet {
                filters: vec![PluginSpec::builtin(
                    PluginKind::Filter,
                    "glob-filter",
                    vec![("exclude-pattern".into(), "*.tmp".into())],
                    "test",
                )],
                comparator: PluginSpec::builtin(
                    PluginKind::Comparator,
                    "mtime-compare",
                    vec![],
                    "test",
                ),
                annotators: vec![],
                hooks: vec![],
            },
            delete,
            max_delete: None,
            dry_run: false,
            transfer: TransferOptions {
                block_size: 4 << 20,
                put_blob_size: 4 << 20,
                blocks_in_flight: 4,
                check_md5: CheckMd5::FailIfDifferent,
                put_md5: true,
            },
            concurrency: 4,
            buffer_bytes: 64 << 20,
            cap_mbps: None,
            follow_symlinks: false,
            cache_dir: None,
            hash_workers: 2,
            watch: None,
        }
    }

    fn session(
        config: SyncConfig,
        source: &MemoryEndpoint,
        destination: &MemoryEndpoint,
    ) -> Session {
        let runtime = Runtime::shared(None).unwrap();
        let plugins = PluginHost::new(&runtime, &config.plugins).unwrap();
        Session::with_endpoints(
            config,
            Arc::new(source.clone()),
            Arc::new(destination.clone()),
            plugins,
            None,
        )
        .unwrap()
    }

    fn run(session: &Session) -> (RunOutcome, Arc<Collect>) {
        let collect = Arc::new(Collect::default());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = rt.block_on(session.run(
            RunRequest {
                job_id: "test".into(),
                scope: None,
            },
            &Stop::new(),
            collect.clone(),
        ));
        (outcome, collect)
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

    #[test]
    fn a_missing_source_is_a_usage_error_that_deletes_nothing() {
        let source = MemoryEndpoint::new(EndpointKind::Local);
        let destination = MemoryEndpoint::new(EndpointKind::Blob);
        destination.insert("precious.txt", b"x", 5);
        let scratch = tempfile::tempdir().unwrap();
        let nowhere = scratch.path().join("missing");
        let mut config = config(DeleteMode::True);
        config.plugins.filters.clear();
        let session = Session::with_endpoints(
            config,
            Arc::new(source),
            Arc::new(crate::endpoint::LocalEndpoint::new(
                scratch.path().join("created"),
                false,
                false,
            )),
            PluginHost::new(
                &Runtime::shared(None).unwrap(),
                &PluginSet {
                    filters: vec![],
                    comparator: PluginSpec::builtin(
                        PluginKind::Comparator,
                        "mtime-compare",
                        vec![],
                        "test",
                    ),
                    annotators: vec![],
                    hooks: vec![],
                },
            )
            .unwrap(),
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
