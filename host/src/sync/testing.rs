//! Test support: an observer that keeps what it is told, a run context around it, and
//! sessions over in-memory endpoints for the pipeline's unit tests.

use std::sync::{Arc, Mutex};

use super::context::RunContext;
use super::observer::{Event, Observer, RunControl, RunOutcome};
use super::session::{RunRequest, Session};
use super::{
    BlobOptions, CheckMd5, DeleteMode, Direction, Location, Stop, SyncConfig, TransferOptions,
};
use crate::endpoint::Endpoint;
use crate::endpoint::azure::{AuthOptions, BlobLocation};
use crate::plugin::{PluginHost, PluginKind, PluginSet, PluginSpec, Runtime};

/// Keeps every event as a line of text.
#[derive(Default)]
pub(crate) struct Collect(pub(crate) Mutex<Vec<String>>);

impl Collect {
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn has(&self, needle: &str) -> bool {
        self.lines().iter().any(|l| l.contains(needle))
    }
}

impl Observer for Collect {
    fn event(&self, event: &Event<'_>) {
        let line = match event {
            Event::Progress(_) => return,
            Event::Done(item) => {
                format!("done {} {} {:?}", item.action.name(), item.path, item.error)
            }
            Event::Warning(w) => format!("warning {w}"),
            Event::Failed { path, message } => format!("failed {path}: {message}"),
            Event::Excluded { path, .. } => format!("excluded {path}"),
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

/// A run context reporting to a fresh [`Collect`].
pub(crate) fn context() -> (RunContext, Arc<Collect>) {
    let collect = Arc::new(Collect::default());
    let ctx = RunContext::new(collect.clone(), RunControl::new(Stop::new()));
    (ctx, collect)
}

/// An upload's configuration for the pipeline's unit tests: the built-in glob filter
/// excluding `*.tmp`, the time comparator, deletes as `delete` says.
pub(crate) fn upload_config(delete: DeleteMode) -> SyncConfig {
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
            resolvers: vec![],
            hooks: vec![],
        },
        delete,
        max_delete: None,
        max_changes: None,
        check: None,
        missing_md5: Default::default(),
        list_parallelism: 1,
        backup: None,
        max_transfer: None,
        max_duration: None,
        dry_run: false,
        allow_empty_source: false,
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
        retry: Default::default(),
        timeouts: Default::default(),
        // No guessed Content-Types: what the tests upload carries what they set.
        blob: BlobOptions {
            guess_types: false,
            s2s: Default::default(),
            ..Default::default()
        },
        shard: None,
    }
}

/// A session over two endpoints (each usually a `MemoryEndpoint`, perhaps `Faulty`).
pub(crate) fn session_of(
    config: SyncConfig,
    source: Arc<dyn Endpoint>,
    destination: Arc<dyn Endpoint>,
) -> Session {
    let runtime = Runtime::shared(None).unwrap();
    let plugins = PluginHost::new(&runtime, &config.plugins).unwrap();
    Session::with_endpoints(config, source, destination, plugins, None).unwrap()
}

/// A runtime as the command has one (a multi-threaded one: the stages block).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One run of `session`, and what it reported.
pub(crate) fn run_once(session: &Session) -> (RunOutcome, Arc<Collect>) {
    let collect = Arc::new(Collect::default());
    let rt = runtime();
    let outcome = rt.block_on(session.run(
        RunRequest {
            job_id: "test".into(),
            scopes: Vec::new(),
        },
        &Stop::new(),
        collect.clone(),
    ));
    (outcome, collect)
}
