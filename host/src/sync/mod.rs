//! One sync run: list both sides → filter → pair → compare → transfer → delete → hooks.
//!
//! Stages run concurrently and are connected by bounded channels: two listing threads,
//! the planner thread (merge + comparator), and the transfers on the tokio runtime.
//! Deletes run only after every copy has finished, and never after a listing error.

pub mod hash;
pub mod hooks;
pub mod plan;
pub mod report;
pub mod stop;
pub mod transfer;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::auth::{AuthOptions, resolve_auth};
use crate::endpoint::azure::{AzureEndpoint, BlobLocation, HttpSettings};
use crate::endpoint::local::LocalEndpoint;
use crate::endpoint::{Endpoint, EndpointError, ErrorClass, ListSink};
use crate::plugin::{
    EventAction, PluginError, PluginHost, PluginSet, RunStatus, Runtime, Side, Summary,
};
use crate::store::Store;

pub use report::{OutputMode, Reporter, RunSummary, Verbosity};
pub use stop::Stop;
pub use transfer::{CheckMd5, TransferOptions};

/// One side of a sync, as given on the command line.
#[derive(Debug, Clone)]
pub enum Location {
    /// A local folder.
    Local(PathBuf),
    /// A container or a folder in one.
    Blob(BlobLocation),
}

impl Location {
    /// The location for messages and records (SAS redacted).
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Blob(b) => b.to_string(),
        }
    }
}

/// `--delete-destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeleteMode {
    /// Never delete.
    False,
    /// Delete destination entries that are not at the source.
    True,
    /// Ask before each delete (needs a terminal).
    Prompt,
}

/// A validated sync: everything a run needs, resolved from flags and the manifest.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Copy from here…
    pub source: Location,
    /// …to here.
    pub destination: Location,
    /// How to authenticate to the blob side.
    pub auth: AuthOptions,
    /// The plugins.
    pub plugins: PluginSet,
    /// Whether to delete destination entries missing at the source.
    pub delete: DeleteMode,
    /// Refuse to delete more than this many entries.
    pub max_delete: Option<u64>,
    /// Print what would happen; change nothing.
    pub dry_run: bool,
    /// Block sizes and checks.
    pub transfer: TransferOptions,
    /// Files transferred at once.
    pub concurrency: usize,
    /// Memory for blocks in flight.
    pub buffer_bytes: u64,
    /// Follow symbolic links when listing a local folder.
    pub follow_symlinks: bool,
    /// Text or JSON.
    pub output: OutputMode,
    /// How much to print.
    pub verbosity: Verbosity,
    /// Compiled-plugin cache (None: compile in memory).
    pub cache_dir: Option<PathBuf>,
    /// Threads hashing local files.
    pub hash_workers: usize,
    /// The database (MD5 cache, job records); `None` runs without one.
    pub database: Option<PathBuf>,
    /// The job's identity.
    pub job: JobMeta,
    /// Which items are recorded.
    pub job_items: crate::jobs::ItemRecords,
    /// Show a progress line (on a terminal).
    pub progress: bool,
    /// Only this relative path and what is below it (watch mode); `None` for everything.
    pub scope: Option<String>,
}

/// Why a run could not start or stopped; the exit code follows from the class.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A plugin failed to load or rejected its configuration.
    #[error("{0}")]
    Plugin(#[from] PluginError),
    /// An endpoint could not be set up (bad credentials, unusable location).
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
}

/// How a run ended.
#[derive(Debug)]
pub struct RunResult {
    /// The totals.
    pub summary: RunSummary,
    /// The error that stopped the run early, or kept it from starting.
    pub fatal: Option<EndpointError>,
    /// The job record's id, if the run was recorded.
    pub job_id: Option<String>,
}

/// The identity of a run, for its job record and log.
#[derive(Debug, Clone, Default)]
pub struct JobMeta {
    /// The job id.
    pub id: String,
    /// The command line, secrets redacted.
    pub command: String,
    /// The job's log file.
    pub log_path: Option<PathBuf>,
}

/// The source and destination endpoints.
pub type EndpointPair = (Arc<dyn Endpoint>, Arc<dyn Endpoint>);

/// Builds both endpoints.
pub fn endpoints(config: &SyncConfig) -> Result<EndpointPair, EndpointError> {
    let http = HttpSettings {
        concurrency: config.concurrency,
    };
    let build = |location: &Location, side: Side| -> Result<Arc<dyn Endpoint>, EndpointError> {
        Ok(match location {
            // The destination of a real run removes what killed downloads left behind.
            Location::Local(path) => Arc::new(LocalEndpoint::new(
                path.clone(),
                config.follow_symlinks,
                side == Side::Destination && !config.dry_run,
            )),
            Location::Blob(blob) => {
                let transport = crate::endpoint::azure::transport(&http)?;
                let auth = resolve_auth(blob, &config.auth, &transport)?;
                tracing::info!("authenticating to {blob} with {}", auth.describe());
                Arc::new(AzureEndpoint::new(blob.clone(), auth, transport)?)
            }
        })
    };
    Ok((
        build(&config.source, Side::Source)?,
        build(&config.destination, Side::Destination)?,
    ))
}

/// Runs a sync to completion. Every run is recorded as a job (when the database can be
/// opened), including runs that could not start.
pub async fn run(config: SyncConfig, stop: Stop) -> RunResult {
    let store = match config.database.clone() {
        None => None,
        Some(path) => match tokio::task::spawn_blocking(move || Store::open(&path)).await {
            Ok(Ok(store)) => Some(Arc::new(store)),
            Ok(Err(e)) => {
                eprintln!("warning: {e}; continuing without the MD5 cache and job records");
                None
            }
            Err(_) => None,
        },
    };
    let job = store.as_ref().map(|s| {
        let start = crate::jobs::JobStart {
            id: config.job.id.clone(),
            command: config.job.command.clone(),
            source: config.source.display(),
            destination: config.destination.display(),
            dry_run: config.dry_run,
            log_path: config
                .job
                .log_path
                .as_ref()
                .map(|p| p.display().to_string()),
        };
        Arc::new(crate::jobs::JobRecorder::start(
            s.clone(),
            &start,
            config.job_items,
        ))
    });
    let result = match run_job(&config, &stop, store.clone(), job.clone()).await {
        Ok(result) => result,
        Err(e) => {
            // The run could not start: record it as failed, with zeros.
            let class = match &e {
                RunError::Plugin(_) => ErrorClass::Usage,
                RunError::Endpoint(e) => e.class,
            };
            let summary =
                Reporter::new(config.output, config.verbosity, None).summary(RunStatus::Failed);
            RunResult {
                summary,
                fatal: Some(EndpointError::new(class, e.to_string())),
                job_id: None,
            }
        }
    };
    if let Some(job) = &job {
        let error = result.fatal.as_ref().map(|f| f.message.clone());
        let job = job.clone();
        let summary = result.summary.clone();
        let _ = tokio::task::spawn_blocking(move || job.finish(&summary, error.as_deref())).await;
    }
    if let Some(store) = store {
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
    RunResult {
        job_id: job.map(|j| j.id().to_string()),
        ..result
    }
}

async fn run_job(
    config: &SyncConfig,
    stop: &Stop,
    store: Option<Arc<Store>>,
    job: Option<Arc<crate::jobs::JobRecorder>>,
) -> Result<RunResult, RunError> {
    let (source, destination) = endpoints(config)?;

    let plugins = {
        let cache = config.cache_dir.clone();
        let set = config.plugins.clone();
        tokio::task::spawn_blocking(move || -> Result<PluginHost, PluginError> {
            let runtime = Arc::new(Runtime::new(cache).map_err(|e| PluginError::Load {
                plugin: "(runtime)".into(),
                source_desc: "wasmtime".into(),
                reason: e.to_string(),
            })?);
            PluginHost::new(&runtime, &set)
        })
        .await
        .expect("plugin loading does not panic")?
    };
    tracing::info!("plugins: {}", plugins.describe());

    let hooks = Arc::new(
        hooks::HookDispatcher::start(plugins.hooks(), stop.clone()).map_err(|e| {
            EndpointError::new(ErrorClass::Other, format!("cannot start hooks: {e}"))
        })?,
    );
    let has_hooks = !plugins.hooks().is_empty();
    let reporter = Arc::new(
        Reporter::new(
            config.output,
            config.verbosity,
            has_hooks.then(|| Box::new(hooks.clone()) as Box<dyn report::EventSink>),
        )
        .with_job(job.clone())
        .with_progress(config.progress),
    );
    reporter.start(
        &config.source.display(),
        &config.destination.display(),
        config.dry_run,
    );
    // The progress line (terminal) or progress objects (JSON), until the run ends.
    let ticker = {
        let reporter = reporter.clone();
        let every = match config.output {
            OutputMode::Json => Duration::from_secs(2),
            OutputMode::Text => Duration::from_millis(250),
        };
        let wanted = config.progress || config.output == OutputMode::Json;
        tokio::spawn(async move {
            if !wanted {
                return;
            }
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                interval.tick().await;
                reporter.tick();
            }
        })
    };

    let outcome = execute(
        config,
        &plugins,
        source.clone(),
        destination.clone(),
        &reporter,
        stop,
        store.clone(),
    )
    .await;
    ticker.abort();
    reporter.finish_progress();
    reporter.flush_events();

    let fatal = outcome.fatal;
    let summary_status = if fatal.is_some() {
        RunStatus::Failed
    } else if stop.is_interrupted() {
        RunStatus::Cancelled
    } else if stop.is_stopped() {
        // A fail-closed hook stopped the run.
        RunStatus::Failed
    } else if reporter.stats.failed.load(Ordering::Relaxed) > 0 {
        RunStatus::CompletedWithErrors
    } else {
        RunStatus::Completed
    };
    let summary = reporter.summary(summary_status);
    let hook_summary = Summary {
        job_id: job.as_ref().map(|j| j.id().to_string()).unwrap_or_default(),
        source: config.source.display(),
        destination: config.destination.display(),
        dry_run: config.dry_run,
        status: summary_status,
        source_files: summary.source_files,
        destination_files: summary.destination_files,
        copied: summary.copied,
        skipped: summary.up_to_date,
        deleted: summary.deleted,
        failed: summary.failed,
        bytes_transferred: summary.bytes_copied,
        elapsed_ms: summary.elapsed.as_millis() as u64,
    };
    drop(reporter);
    let hook_failures = match Arc::try_unwrap(hooks) {
        Ok(dispatcher) => tokio::task::spawn_blocking(move || dispatcher.finish(hook_summary))
            .await
            .unwrap_or(0),
        Err(shared) => shared.failures(),
    };
    let mut summary = summary;
    summary.plugin_failures += hook_failures + plugins.tolerated_failures();
    let fatal = fatal.or_else(|| {
        (summary_status == RunStatus::Failed).then(|| {
            EndpointError::new(
                ErrorClass::Plugin,
                "a fail-closed hook failed; the run was stopped",
            )
        })
    });
    Ok(RunResult {
        summary,
        fatal,
        job_id: None,
    })
}

/// Puts the MD5 of a file just uploaded (the listed version, which the upload verified
/// was unchanged) or just downloaded (the new file) into the cache.
async fn remember_md5(
    store: &Arc<Store>,
    root: &std::path::Path,
    local: Side,
    item: &crate::endpoint::Item,
    md5: [u8; 16],
) {
    let key = match local {
        Side::Source => hash::file_key(root, item),
        Side::Destination => {
            let path = root.join(&item.entry.path);
            tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::MetadataExt;
                let m = std::fs::metadata(&path).ok()?;
                Some(crate::store::FileKey {
                    path: path.to_string_lossy().into_owned(),
                    size: m.len(),
                    mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                    dev: m.dev(),
                    ino: m.ino(),
                    ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
                })
            })
            .await
            .ok()
            .flatten()
        }
    };
    if let Some(key) = key {
        store.write(crate::store::Write::Md5(key, md5));
    }
}

/// Asks on the terminal about each delete (`--delete-destination=prompt`), like azcopy:
/// Yes, No, Yes for all, No for all. End of input answers No for the rest.
fn prompt_deletes(
    targets: Vec<crate::endpoint::DeleteTarget>,
    described: &[String],
) -> Vec<crate::endpoint::DeleteTarget> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut all: Option<bool> = None;
    let mut approved = Vec::new();
    for (target, label) in targets.into_iter().zip(described) {
        let yes = match all {
            Some(answer) => answer,
            None => loop {
                eprint!("Delete {label}? [Y] Yes  [N] No  [A] Yes for all  [L] No for all: ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        eprintln!();
                        all = Some(false);
                        break false;
                    }
                    Ok(_) => {}
                }
                match line.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => break true,
                    "n" | "no" => break false,
                    "a" => {
                        all = Some(true);
                        break true;
                    }
                    "l" => {
                        all = Some(false);
                        break false;
                    }
                    _ => eprintln!("please answer Y, N, A or L"),
                }
            },
        };
        if yes {
            approved.push(target);
        }
    }
    approved
}

/// True if a filter excludes a directory above `scope`, or `scope` itself taken as a
/// directory (a scoped listing starts inside it, so these verdicts are asked for here).
fn scope_excluded(plugins: &PluginHost, scope: &str) -> Result<bool, PluginError> {
    if !plugins.has_filters() {
        return Ok(false);
    }
    let dirs: Vec<crate::plugin::Entry> = scope
        .match_indices('/')
        .map(|(i, _)| &scope[..i])
        .chain(std::iter::once(scope))
        .map(|dir| crate::plugin::Entry {
            path: dir.to_string(),
            size: 0,
            mtime_ns: 0,
            md5: None,
            is_dir: true,
            endpoint: crate::plugin::EndpointKind::Local,
            metadata: Vec::new(),
        })
        .collect();
    let verdicts = plugins.filter_chain().apply(Side::Source, &dirs)?;
    Ok(verdicts.iter().any(Option::is_some))
}

/// Waits for the transfers in flight. After a stop (now or while waiting) they get
/// [`STOP_GRACE`] to finish; the rest are cancelled, which discards their partial writes
/// (temporary files, uncommitted blocks).
async fn finish_transfers(tasks: &mut JoinSet<()>, stop: &Stop, reporter: &Reporter) {
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
    reporter.warning(&format!(
        "stopping {} transfers still in flight; nothing partial is left behind",
        tasks.len()
    ));
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// How long transfers in flight may take to finish after an interrupt.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What `execute` ends with.
struct Executed {
    fatal: Option<EndpointError>,
}

async fn execute(
    config: &SyncConfig,
    plugins: &PluginHost,
    source: Arc<dyn Endpoint>,
    destination: Arc<dyn Endpoint>,
    reporter: &Arc<Reporter>,
    stop: &Stop,
    store: Option<Arc<Store>>,
) -> Executed {
    let scope = config.scope.as_deref().unwrap_or("").trim_matches('/');
    if !scope.is_empty() {
        match scope_excluded(plugins, scope) {
            Ok(false) => {}
            Ok(true) => {
                tracing::debug!("{scope} is excluded by a filter; nothing to sync");
                return Executed { fatal: None };
            }
            Err(e) => {
                return Executed {
                    fatal: Some(e.into()),
                };
            }
        }
    }
    let handle = tokio::runtime::Handle::current();
    let (src_tx, src_rx) = std::sync::mpsc::sync_channel(16);
    let (dst_tx, dst_rx) = std::sync::mpsc::sync_channel(16);
    let listing = (|| -> std::io::Result<_> {
        let a = source.clone().start_listing(
            Side::Source,
            scope,
            plugins.filter_chain(),
            ListSink::new(src_tx),
            handle.clone(),
        )?;
        let b = destination.clone().start_listing(
            Side::Destination,
            scope,
            plugins.filter_chain(),
            ListSink::new(dst_tx),
            handle.clone(),
        )?;
        Ok((a, b))
    })();
    let listing_threads = match listing {
        Ok(t) => t,
        Err(e) => {
            return Executed {
                fatal: Some(EndpointError::new(
                    ErrorClass::Other,
                    format!("cannot start listing: {e}"),
                )),
            };
        }
    };

    let (local_root, local_side) = match (&config.source, &config.destination) {
        (Location::Local(p), _) => (p.clone(), Side::Source),
        (_, Location::Local(p)) => (p.clone(), Side::Destination),
        _ => unreachable!("one side of a sync is local"),
    };
    let local_root = Arc::new(std::path::absolute(&local_root).unwrap_or(local_root));
    let hasher = plugins.comparator_info().needs_md5.then(|| {
        hash::LocalHasher::new(
            (*local_root).clone(),
            local_side,
            config.hash_workers,
            store.clone(),
        )
    });
    let (copy_tx, mut copy_rx) = tokio::sync::mpsc::channel(4096);
    let planner = plan::Planner {
        source: src_rx,
        destination: dst_rx,
        comparator: plugins.comparator(),
        hasher,
        copies: copy_tx,
        reporter: reporter.clone(),
        collect_deletes: config.delete != DeleteMode::False,
        stop: stop.clone(),
        case: Default::default(),
    };
    let planner = tokio::task::spawn_blocking(move || planner.run());

    let action = match destination.capabilities().kind {
        crate::plugin::EndpointKind::AzureBlob => EventAction::Upload,
        crate::plugin::EndpointKind::Local => EventAction::Download,
    };
    // The first authorisation failure of a transfer stops the run: every other request
    // would be refused too.
    let auth_failure: Arc<std::sync::Mutex<Option<EndpointError>>> = Arc::default();
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let budget = transfer::BufferBudget::new(config.buffer_bytes);
    let mut tasks = JoinSet::new();
    let mut flush = tokio::time::interval(Duration::from_millis(500));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
            _ = stop.stopped() => break,
        };
        let planned = tokio::select! {
            c = copy_rx.recv() => c,
            _ = flush.tick() => { reporter.flush_events(); drop(permit); continue; }
            _ = stop.stopped() => break,
        };
        let Some(planned) = planned else { break };
        while tasks.try_join_next().is_some() {}
        if config.dry_run {
            reporter.dry_run(
                "copy",
                &source.describe_path(&planned.item.entry.path),
                Some(&destination.describe_path(&planned.item.entry.path)),
                &planned.reason,
                planned.item.entry.size,
            );
            reporter.stats.copied.fetch_add(1, Ordering::Relaxed);
            reporter
                .stats
                .bytes_copied
                .fetch_add(planned.item.entry.size, Ordering::Relaxed);
            continue;
        }
        let (src, dst, rep, opts, budget) = (
            source.clone(),
            destination.clone(),
            reporter.clone(),
            config.transfer.clone(),
            budget.clone(),
        );
        let (auth_failure, stop) = (auth_failure.clone(), stop.clone());
        let (store, local_root) = (store.clone(), local_root.clone());
        tasks.spawn(async move {
            let result = transfer::copy(&planned.item, &*src, &*dst, &opts, &budget).await;
            let (bytes, md5, error) = match result {
                Ok(c) => {
                    if let Some(store) = &store {
                        remember_md5(store, &local_root, local_side, &planned.item, c.md5).await;
                    }
                    (c.bytes, Some(c.md5), None)
                }
                Err(e) => {
                    if e.class == ErrorClass::Auth {
                        let mut slot = auth_failure.lock().unwrap_or_else(|p| p.into_inner());
                        if slot.is_none() {
                            *slot = Some(EndpointError::new(
                                ErrorClass::Auth,
                                format!(
                                    "{}; stopping, as every other transfer would be refused too",
                                    e.message
                                ),
                            ));
                            stop.stop();
                        }
                    }
                    (0, None, Some(e.message))
                }
            };
            rep.item(report::ItemReport {
                path: planned.item.entry.path,
                action,
                bytes,
                reason: planned.reason,
                error,
                md5,
            });
            drop(permit);
        });
    }
    // Stop the planner if transfers stopped first, then wait for everything. After a stop,
    // transfers in flight get a few seconds to finish; the rest are cancelled, which
    // discards their partial writes (temporary files, uncommitted blocks).
    drop(copy_rx);
    finish_transfers(&mut tasks, stop, reporter).await;
    let outcome = planner.await.unwrap_or_else(|_| plan::PlanOutcome {
        fatal: Some(EndpointError::new(
            ErrorClass::Other,
            "internal error: the planner panicked",
        )),
        ..Default::default()
    });
    let (a, b) = listing_threads;
    let _ = tokio::task::spawn_blocking(move || {
        let _ = a.join();
        let _ = b.join();
    })
    .await;

    let auth = auth_failure
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(fatal) = auth.or(outcome.fatal) {
        return Executed { fatal: Some(fatal) };
    }
    if !config.dry_run
        && !stop.is_stopped()
        && let Err(e) = destination.prepare_for_writes().await
    {
        reporter.failure(&destination.describe(), &e.message);
    }
    if config.delete != DeleteMode::False && !stop.is_stopped() {
        delete_phase(
            config,
            &outcome.deletes,
            outcome.listing_errors,
            outcome.order_violation,
            &*destination,
            reporter,
            stop,
        )
        .await;
    }
    Executed { fatal: None }
}

async fn delete_phase(
    config: &SyncConfig,
    deletes: &[crate::endpoint::DeleteTarget],
    listing_errors: u64,
    order_violation: bool,
    destination: &dyn Endpoint,
    reporter: &Reporter,
    stop: &Stop,
) {
    if deletes.is_empty() {
        return;
    }
    if listing_errors > 0 || order_violation {
        reporter.warning(&format!(
            "{} entries at the destination are not at the source, but nothing was deleted because \
             {}; fix that and run again",
            deletes.len(),
            if listing_errors > 0 {
                "some paths could not be listed"
            } else {
                "a listing was out of order"
            }
        ));
        return;
    }
    if let Some(max) = config.max_delete
        && deletes.len() as u64 > max
    {
        reporter.failure(
            &destination.describe(),
            &format!(
                "{} entries would be deleted, more than --max-delete {max}; nothing was \
                     deleted (check the source, or raise --max-delete)",
                deletes.len()
            ),
        );
        return;
    }
    if config.dry_run {
        for d in deletes {
            reporter.dry_run(
                "remove",
                &destination.describe_path(&d.path),
                None,
                "not at the source",
                d.size,
            );
            reporter.stats.deleted.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
    let approved: Vec<crate::endpoint::DeleteTarget>;
    let deletes = if config.delete == DeleteMode::Prompt {
        let described: Vec<String> = deletes
            .iter()
            .map(|d| destination.describe_path(&d.path))
            .collect();
        let targets = deletes.to_vec();
        approved = tokio::task::spawn_blocking(move || prompt_deletes(targets, &described))
            .await
            .unwrap_or_default();
        &approved[..]
    } else {
        deletes
    };
    let results = futures::stream::iter(deletes)
        .take_while(|_| std::future::ready(!stop.is_stopped()))
        .map(|d| async move { (d, destination.delete(d).await) })
        .buffer_unordered(config.concurrency.max(1));
    futures::pin_mut!(results);
    while let Some((target, result)) = results.next().await {
        reporter.item(report::ItemReport {
            path: target.path.clone(),
            action: EventAction::Delete,
            bytes: 0,
            reason: "not at the source".into(),
            error: result.err().map(|e| e.message),
            md5: None,
        });
    }
}
