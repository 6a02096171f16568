//! The `blobsync` command. Exit codes: 0 all done; 1 some items failed; 2 usage or
//! configuration error; 3 authentication or authorisation failure; 7 refused by a guard;
//! 8 `--max-transfer` and 10 `--max-duration` reached; 75 another two-way sync of the
//! same locations is running; 130 interrupted.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};

use blobsync::cli::{Cli, Command, Environment, Settings, TwoWaySettings, UsageError};
use blobsync::console::{Console, ConsoleOptions};
use blobsync::hooks::HookDispatcher;
use blobsync::jobs::JobRecorder;
use blobsync::logging::RunLog;
use blobsync::plugin::PluginHost;
use blobsync::store::Store;
use blobsync::sync::{
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Observer, Observers, RunError, RunRequest, Session,
    Stop, TwoWayConfig, TwoWaySession, WatchedPlugins, cancelled_before_start, not_started,
};

/// What a run command runs: a one-way sync (or check), or a two-way sync.
enum Job {
    OneWay(Settings),
    TwoWay(TwoWaySettings),
}

impl Job {
    fn settings(&self) -> &Settings {
        match self {
            Job::OneWay(settings) => settings,
            Job::TwoWay(two_way) => &two_way.settings,
        }
    }
}

fn main() -> ExitCode {
    tune_process();
    let env = Environment::capture();
    let args = blobsync::cli::join_dash_values(std::env::args_os());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            if e.use_stderr()
                && let Some(hint) = blobsync::cli::dash_value_hint(&args).or_else(|| {
                    let unknown = e.get(clap::error::ContextKind::InvalidArg)?;
                    blobsync::cli::check_flag_hint(&args, &unknown.to_string())
                })
            {
                eprintln!("{hint}");
            }
            return ExitCode::from(code);
        }
    };
    if !matches!(
        cli.command,
        Command::Sync(_) | Command::Check(_) | Command::Bisync(_)
    ) {
        // Commands that only print end quietly, as other tools do, when their reader goes
        // away (`blobsync jobs list | head`). A sync keeps the signal ignored: it has
        // network connections, whose broken pipes are errors it handles.
        // SAFETY: restoring a signal's default disposition, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Some(Err(e)) = cli.log_level.as_deref().map(blobsync::logging::check_level) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    dispatch(cli, &env)
}

/// Sets the allocator and backtrace defaults, first thing, while the process has one
/// thread.
fn tune_process() {
    // glibc gives every thread that allocates its own arena (up to 8 per core); blobsync's
    // threads mostly hand buffers to each other, so two arenas use far less memory for
    // the same speed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    // The Azure SDK builds error values on some successful paths (an absent optional
    // header); with RUST_BACKTRACE=1 each one captures a backtrace, which cost a third of
    // the CPU of a small-file sync. blobsync never prints library backtraces, so they are
    // off unless asked for explicitly; panic backtraces still follow RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}

/// Runs the command asked for.
fn dispatch(cli: Cli, env: &Environment) -> ExitCode {
    match cli.command {
        Command::Sync(args) => ExitCode::from(sync(
            blobsync::cli::settings(&args, env).map(Job::OneWay),
            cli.log_level.as_deref(),
            env,
        )),
        Command::Check(args) => ExitCode::from(sync(
            blobsync::cli::check_settings(&args, env).map(Job::OneWay),
            cli.log_level.as_deref(),
            env,
        )),
        Command::Bisync(args) => ExitCode::from(sync(
            blobsync::cli::bisync_settings(&args, env).map(Job::TwoWay),
            cli.log_level.as_deref(),
            env,
        )),
        Command::Plugin(cmd) => {
            // `plugin try` shows what plugins log; the other subcommands stay quiet.
            let level = match cmd {
                blobsync::cli::PluginCommand::Try { .. } => {
                    cli.log_level.as_deref().or(Some("info"))
                }
                _ => cli.log_level.as_deref(),
            };
            blobsync::logging::init(level, None, "off", std::io::stderr().is_terminal());
            blobsync::cli::run_plugin(cmd, env)
        }
        Command::Jobs(cmd) => blobsync::cli::run_jobs(cmd, env),
        Command::Backups(cmd) => blobsync::cli::run_backups(cmd, env),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "blobsync", &mut script);
            print_all(&script)
        }
        Command::Man {
            subcommand,
            out_dir,
        } => man(&subcommand, out_dir.as_deref()),
    }
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) ends it quietly, with
/// the status a shell shows for a pipe closed early (128 + SIGPIPE).
fn print_all(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: cannot write: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `blobsync man`: blobsync(1), one subcommand's page, or (`--out-dir`) all of them.
fn man(subcommand: &[String], out_dir: Option<&std::path::Path>) -> ExitCode {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = out_dir {
        return match std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir))
        {
            Ok(()) => {
                println!("wrote the manual pages to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "error: cannot write the manual pages to {}: {e}",
                    dir.display()
                );
                ExitCode::from(EXIT_FAILED)
            }
        };
    }
    let mut page = cmd;
    for name in subcommand {
        match page.find_subcommand(name) {
            Some(sub) => page = sub.clone(),
            None => {
                eprintln!(
                    "error: `{name}` is not a subcommand of `{}`; see `blobsync --help`",
                    page.get_display_name().unwrap_or(page.get_name())
                );
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let mut roff = Vec::new();
    match clap_mangen::Man::new(page).render(&mut roff) {
        Ok(()) => print_all(&roff),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Stops the run on SIGINT or SIGTERM; a second signal exits at once.
async fn handle_signals(stop: Stop, quiet: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    if !quiet {
        eprintln!(
            "\ninterrupted: finishing the transfers in flight (interrupt again to stop at once)"
        );
    }
    tracing::warn!("interrupted by a signal");
    stop.interrupt();
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    // Temporary download files left by this are removed by the next run.
    std::process::exit(EXIT_INTERRUPTED as i32);
}

/// `blobsync sync`, `check` and `bisync`: open a session for the validated settings, run
/// it (once, or on every change with `--watch`), with the console, the log, the job
/// recorder and the hooks observing.
fn sync(job: Result<Job, UsageError>, log_level: Option<&str>, env: &Environment) -> u8 {
    let job_id = blobsync::jobs::new_id();
    let log_path = env
        .data_dir()
        .map(|d| d.join("logs").join(format!("{job_id}.log")));
    let command = blobsync::jobs::redact_command(&std::env::args().collect::<Vec<_>>());
    let job = match job {
        Ok(job) => job,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let settings = job.settings();
    // stderr shows diagnostics only when asked; the job log always records the run.
    let notices = settings.progress && settings.verbosity != blobsync::console::Verbosity::Quiet;
    blobsync::logging::init(
        log_level,
        log_path.as_deref(),
        log_level.unwrap_or("info"),
        notices,
    );
    // File work runs on the blocking pool; more threads than transfers only cost memory.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(settings.sync.concurrency + 8)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let stop = Stop::new();
    let quiet = settings.output == blobsync::console::OutputMode::Json;
    runtime.spawn(handle_signals(stop.clone(), quiet));
    let log_path = log_path.map(|p| p.display().to_string());
    runtime.block_on(async move {
        match job {
            Job::OneWay(settings) => run(settings, job_id, command, log_path, stop).await,
            Job::TwoWay(two_way) => run_two_way(two_way, job_id, command, log_path, stop).await,
        }
    })
}

/// Runs a two-way session once, with its observers (the hooks among them), and closes
/// the database.
async fn run_two_way(
    two_way: TwoWaySettings,
    job_id: String,
    command: String,
    log_path: Option<String>,
    stop: Stop,
) -> u8 {
    let settings = &two_way.settings;
    let store = open_store(settings.database.clone()).await;
    let mut observers = observers(settings, store.as_ref(), command, log_path);
    let request = RunRequest {
        job_id,
        scopes: Vec::new(),
    };
    let Some(database) = store.clone() else {
        let error = RunError::Usage(
            "bisync keeps what each run left in its database, which did not open (see the \
             warning above)"
                .into(),
        );
        return end_before_start(settings, &request, Some(error), observers, store).await;
    };
    let config = TwoWayConfig {
        sync: settings.sync.clone(),
        plan: two_way.plan,
        max_share: two_way.max_share,
        resync: two_way.resync,
        backup1: two_way.backup1.as_deref().cloned(),
        check_access: two_way.check_access.clone(),
        state_in_container: two_way.state_in_container,
    };
    let opened = tokio::select! {
        opened = TwoWaySession::open(config, database) => Some(opened),
        _ = stop.stopped() => None,
    };
    let session = match opened {
        Some(Ok(session)) => session,
        Some(Err(e)) => {
            return end_before_start(settings, &request, Some(e), observers, store).await;
        }
        None => return end_before_start(settings, &request, None, observers, store).await,
    };
    match start_hooks(session.plugins()) {
        Ok(hooks) => observers.extend(hooks),
        Err(e) => {
            let error = RunError::Internal(format!("cannot start the hooks: {e}"));
            return end_before_start(settings, &request, Some(error), observers, store).await;
        }
    }
    let observer: Arc<dyn Observer> = Arc::new(Observers::new(observers));
    let code = session.run(request, &stop, observer).await.exit_code();
    drop(session);
    close(store).await;
    code
}

/// Runs the session the settings describe, with its observers, and closes the database.
async fn run(
    settings: Settings,
    job_id: String,
    command: String,
    log_path: Option<String>,
    stop: Stop,
) -> u8 {
    let store = open_store(settings.database.clone()).await;
    let watching = settings.sync.watch.is_some();
    let observers = observers(&settings, store.as_ref(), command, log_path);
    let request = RunRequest {
        job_id,
        scopes: settings.scopes.clone(),
    };
    let mut session = match open_session(&settings, store.clone(), &stop).await {
        Ok(s) => s,
        Err(error) => return end_before_start(&settings, &request, error, observers, store).await,
    };
    let plugins = match WatchedPlugins::new(
        &session,
        watching.then(|| settings.plugin_sources.clone()),
        Box::new(start_hooks),
    ) {
        Ok(p) => p,
        Err(e) => {
            let error = RunError::Internal(format!("cannot start the hooks: {e}"));
            return end_before_start(&settings, &request, Some(error), observers, store).await;
        }
    };
    let observer: Arc<dyn Observer> = Arc::new(Observers::new(observers));
    let code = if watching {
        watch(&mut session, plugins, &stop, observer, request.job_id).await
    } else {
        let code = session
            .run(request, &stop, plugins.observer(&observer))
            .await
            .exit_code();
        drop(plugins);
        code
    };
    drop(session);
    close(store).await;
    code
}

/// The job database, if one is configured and opens; without it a run goes on with no
/// MD5 cache and no job records.
async fn open_store(database: Option<std::path::PathBuf>) -> Option<Arc<Store>> {
    match database {
        None => None,
        Some(path) => match tokio::task::spawn_blocking(move || Store::open(&path)).await {
            Ok(Ok(store)) => Some(Arc::new(store)),
            Ok(Err(e)) => {
                eprintln!("warning: {e}; continuing without the MD5 cache and job records");
                None
            }
            Err(_) => None,
        },
    }
}

/// The run's observers: the job log, the console, the metrics file and the job recorder.
fn observers(
    settings: &Settings,
    store: Option<&Arc<Store>>,
    command: String,
    log_path: Option<String>,
) -> Vec<Arc<dyn Observer>> {
    let mut observers: Vec<Arc<dyn Observer>> = vec![
        Arc::new(RunLog::default()),
        Arc::new(Console::new(ConsoleOptions {
            mode: settings.output,
            verbosity: settings.verbosity,
            terminal: settings.progress,
            stats: settings.stats,
            watch: settings.sync.watch.is_some(),
        })),
    ];
    if let Some(path) = &settings.metrics_file {
        observers.push(Arc::new(blobsync::metrics::MetricsFile::new(path.clone())));
    }
    if let Some(store) = store {
        observers.push(Arc::new(JobRecorder::new(
            store.clone(),
            settings.job_items,
            command,
            log_path,
        )));
    }
    observers
}

/// Opens the session, unless a signal stops the run first (`Err(None)`).
async fn open_session(
    settings: &Settings,
    store: Option<Arc<Store>>,
    stop: &Stop,
) -> Result<Session, Option<RunError>> {
    let opened = tokio::select! {
        opened = Session::open(settings.sync.clone(), store) => Some(opened),
        _ = stop.stopped() => None,
    };
    match opened {
        Some(Ok(s)) => Ok(s),
        None => Err(None),
        Some(Err(e)) => Err(Some(e)),
    }
}

/// Reports a run that ended before it started (stopped if `error` is `None`) to the
/// observers, closes the database, and returns the exit code.
async fn end_before_start(
    settings: &Settings,
    request: &RunRequest,
    error: Option<RunError>,
    observers: Vec<Arc<dyn Observer>>,
    store: Option<Arc<Store>>,
) -> u8 {
    let outcome = match error {
        None => cancelled_before_start(&settings.sync, request, &Observers::new(observers)),
        Some(e) => not_started(&settings.sync, request, e, &Observers::new(observers)),
    };
    close(store).await;
    outcome.exit_code()
}

/// `--watch`: runs the session on every change until stopped.
async fn watch(
    session: &mut Session,
    plugins: WatchedPlugins,
    stop: &Stop,
    observer: Arc<dyn Observer>,
    job_id: String,
) -> u8 {
    // The first run is recorded under the id the log file is named after.
    let first = Mutex::new(Some(job_id));
    let job_ids = || {
        first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(blobsync::jobs::new_id)
    };
    blobsync::sync::watch(session, plugins, stop, observer, job_ids).await
}

/// The hooks' workers for `plugins`, as a run observer (`None` without hooks).
fn start_hooks(plugins: &PluginHost) -> Result<Option<Arc<dyn Observer>>, String> {
    let hooks = plugins.hooks();
    if hooks.is_empty() {
        return Ok(None);
    }
    let dispatcher = HookDispatcher::start(hooks).map_err(|e| e.to_string())?;
    Ok(Some(Arc::new(dispatcher)))
}

/// Commits what the database writer has queued.
async fn close(store: Option<Arc<Store>>) {
    if let Some(store) = store {
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
}
