//! The `blobsync` command. Exit codes: 0 all done; 1 some items failed; 2 usage or
//! configuration error; 3 authentication or authorisation failure; 130 interrupted.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use blobsync::cli::{Cli, Command, JobsCommand, OutputType, PluginCommand};
use blobsync::endpoint::ErrorClass;
use blobsync::plugin::RunStatus;
use blobsync::sync::{OutputMode, RunResult, Stop};

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_AUTH: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // glibc gives every thread that allocates its own arena (up to 8 per core); blobsync's
    // threads mostly hand buffers to each other, so two arenas use far less memory for
    // the same speed.
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(Err(e)) = cli.log_level.as_deref().map(blobsync::logging::check_level) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match cli.command {
        Command::Sync(args) => sync(&args, cli.log_level.as_deref()),
        Command::Plugin(cmd) => {
            blobsync::logging::init(cli.log_level.as_deref(), None, "off");
            plugin(cmd)
        }
        Command::Jobs(cmd) => jobs(cmd),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "blobsync",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
    }
}

/// The exit code of a finished run.
fn exit_code(result: &RunResult) -> u8 {
    match (&result.fatal, result.summary.status) {
        (Some(f), _) => class_code(f.class),
        (None, RunStatus::Cancelled) => EXIT_INTERRUPTED,
        (None, RunStatus::Completed) => 0,
        (None, _) => EXIT_FAILED,
    }
}

fn class_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Auth => EXIT_AUTH,
        ErrorClass::Usage => EXIT_USAGE,
        _ => EXIT_FAILED,
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

fn sync(args: &blobsync::cli::SyncArgs, log_level: Option<&str>) -> ExitCode {
    let id = blobsync::jobs::new_id();
    let log_path = blobsync::store::data_dir().map(|d| d.join("logs").join(format!("{id}.log")));
    let args_text: Vec<String> = std::env::args().collect();
    let job = blobsync::sync::JobMeta {
        id,
        command: blobsync::jobs::redact_command(&args_text),
        log_path: log_path.clone(),
    };
    let config = match blobsync::cli::sync_config(args, job) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // stderr shows diagnostics only when asked; the job log always records the run.
    blobsync::logging::init(log_level, log_path.as_deref(), log_level.unwrap_or("info"));
    // File work runs on the blocking pool; more threads than transfers only cost memory.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(config.concurrency + 8)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let stop = Stop::new();
    let quiet = config.output == OutputMode::Json;
    runtime.spawn(handle_signals(stop.clone(), quiet));
    if args.watch {
        let rescan = blobsync::jobs::parse_age(&args.watch_rescan).unwrap_or_default();
        let debounce = std::time::Duration::from_millis(args.watch_debounce_ms);
        let code = runtime.block_on(blobsync::sync::watch::watch(config, stop, debounce, rescan));
        return ExitCode::from(code);
    }
    let (dry_run, output) = (config.dry_run, config.output);
    let result = runtime.block_on(blobsync::sync::run(config, stop));
    let code = exit_code(&result);
    if let Some(fatal) = &result.fatal {
        match output {
            OutputMode::Text => eprintln!("error: {fatal}"),
            OutputMode::Json => println!(
                "{}",
                serde_json::json!({ "type": "error", "action": "run", "error": fatal.message })
            ),
        }
    }
    result
        .summary
        .print(output, dry_run, result.job_id.as_deref(), code);
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}

fn plugin(cmd: PluginCommand) -> ExitCode {
    match cmd {
        PluginCommand::Build {
            dir,
            out,
            target_dir,
            quiet,
        } => {
            let opts = blobsync::plugin::build::BuildOptions {
                dir,
                out,
                target_dir,
                quiet,
            };
            match blobsync::plugin::build::build(&opts) {
                Ok(built) => {
                    println!("wrote:     {}", built.path.display());
                    println!("{}", built.info);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        PluginCommand::Inspect { file } => {
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", file.display());
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            match blobsync::plugin::inspect::describe(&bytes) {
                Ok(info) => {
                    println!("file:      {}", file.display());
                    println!("{info}");
                    if let Some((_, version)) = &info.plugin {
                        let ok = blobsync::plugin::inspect::compatible(
                            version,
                            blobsync::plugin::INTERFACE_VERSION,
                        );
                        println!(
                            "loadable:  {} (this blobsync implements blobsync:plugin@{})",
                            if ok { "yes" } else { "no" },
                            blobsync::plugin::INTERFACE_VERSION
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
    }
}

fn time_text(ms: i64) -> String {
    blobsync_plugin::format_rfc3339_ns(ms.saturating_mul(1_000_000))
}

fn jobs(cmd: JobsCommand) -> ExitCode {
    let Some(path) = blobsync::store::default_path() else {
        eprintln!("error: no data directory (set BLOBSYNC_DATA_DIR)");
        return ExitCode::from(EXIT_USAGE);
    };
    if !path.exists() {
        eprintln!("no jobs recorded yet ({} does not exist)", path.display());
        return ExitCode::SUCCESS;
    }
    let store = match blobsync::store::Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let mut out = std::io::stdout().lock();
    let result: Result<(), String> = (|| {
        match cmd {
            JobsCommand::List { limit, output_type } => {
                let jobs = blobsync::jobs::list(&store, limit).map_err(|e| e.to_string())?;
                match output_type {
                    OutputType::Json => {
                        for j in &jobs {
                            let _ =
                                writeln!(out, "{}", serde_json::to_string(j).unwrap_or_default());
                        }
                    }
                    OutputType::Text => {
                        let _ = writeln!(
                            out,
                            "{:<36}  {:<24}  {:<19}  {:>8} {:>8} {:>7}  SOURCE → DESTINATION",
                            "JOB", "STARTED", "STATUS", "COPIED", "DELETED", "FAILED"
                        );
                        for j in &jobs {
                            let dry = if j.dry_run { " (dry run)" } else { "" };
                            let _ = writeln!(
                                out,
                                "{:<36}  {:<24}  {:<19}  {:>8} {:>8} {:>7}  {} → {}{dry}",
                                j.id,
                                time_text(j.started_ms),
                                j.status,
                                j.copied,
                                j.deleted,
                                j.failed,
                                j.source,
                                j.destination
                            );
                        }
                    }
                }
            }
            JobsCommand::Show {
                id,
                with_status,
                output_type,
            } => {
                let job = blobsync::jobs::find(&store, &id).map_err(|e| e.to_string())?;
                let items = blobsync::jobs::items(&store, &job.id, with_status)
                    .map_err(|e| e.to_string())?;
                match output_type {
                    OutputType::Json => {
                        let mut v = serde_json::to_value(&job).unwrap_or_default();
                        v["items"] = serde_json::to_value(&items).unwrap_or_default();
                        let _ = writeln!(out, "{v}");
                    }
                    OutputType::Text => {
                        let ended = job.ended_ms.map(time_text).unwrap_or_else(|| "-".into());
                        let _ = writeln!(out, "Job:          {}", job.id);
                        let _ = writeln!(out, "Status:       {}", job.status);
                        let _ = writeln!(out, "Command:      {}", job.command);
                        let _ = writeln!(out, "Source:       {}", job.source);
                        let _ = writeln!(out, "Destination:  {}", job.destination);
                        let _ = writeln!(out, "Started:      {}", time_text(job.started_ms));
                        let _ = writeln!(out, "Ended:        {ended}");
                        let _ = writeln!(
                            out,
                            "Files:        {} at the source, {} at the destination, {} excluded",
                            job.source_files, job.destination_files, job.excluded
                        );
                        let _ = writeln!(
                            out,
                            "Result:       {} copied ({} bytes), {} up to date, {} deleted, {} failed",
                            job.copied, job.bytes_copied, job.up_to_date, job.deleted, job.failed
                        );
                        if let Some(e) = &job.error {
                            let _ = writeln!(out, "Error:        {e}");
                        }
                        if let Some(log) = &job.log_path {
                            let _ = writeln!(out, "Log:          {log}");
                        }
                        let _ = writeln!(
                            out,
                            "\n{:<8} {:<9} {:>10}  PATH  (REASON / ERROR)",
                            "STATUS", "ACTION", "BYTES"
                        );
                        for i in &items {
                            let detail = match &i.error {
                                Some(e) if !i.reason.is_empty() => format!("{} / {e}", i.reason),
                                Some(e) => e.clone(),
                                None => i.reason.clone(),
                            };
                            let _ = writeln!(
                                out,
                                "{:<8} {:<9} {:>10}  {}  ({detail})",
                                i.status, i.action, i.bytes, i.path
                            );
                        }
                    }
                }
            }
            JobsCommand::Clean { older_than } => {
                let before = match older_than {
                    None => None,
                    Some(age) => {
                        let age = blobsync::jobs::parse_age(&age)?;
                        Some(blobsync::jobs::now_ms() - age.as_millis() as i64)
                    }
                };
                let n = blobsync::jobs::clean(&store, before).map_err(|e| e.to_string())?;
                let _ = writeln!(out, "removed {n} jobs");
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
