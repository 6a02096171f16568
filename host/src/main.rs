//! The `blobsync` command. Exit codes: 0 all done; 1 some items failed; 2 usage or
//! configuration error; 3 authentication or authorisation failure; 130 interrupted.

use std::process::ExitCode;

use clap::Parser;

use blobsync::cli::{Cli, Command, PluginCommand};
use blobsync::endpoint::ErrorClass;
use blobsync::plugin::RunStatus;
use blobsync::sync::{RunError, Stop};

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_AUTH: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

fn init_logging(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    // Diagnostics are off unless asked for; user-facing messages are printed directly.
    let directive = match level {
        Some(l) => format!(
            "{l},azure_core=warn,azure_storage_blob=warn,reqwest=warn,hyper=warn,wasmtime=warn,cranelift=warn"
        ),
        None => "off".to_string(),
    };
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

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
    init_logging(cli.log_level.as_deref());
    match cli.command {
        Command::Sync(args) => sync(&args),
        Command::Plugin(cmd) => plugin(cmd),
    }
}

fn sync(args: &blobsync::cli::SyncArgs) -> ExitCode {
    let config = match blobsync::cli::sync_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
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
    let dry_run = config.dry_run;
    let output = config.output;
    let result = runtime.block_on(blobsync::sync::run(config, stop));
    match result {
        Err(RunError::Plugin(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(RunError::Endpoint(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(class_code(e.class))
        }
        Ok(result) => {
            if let Some(fatal) = &result.fatal {
                eprintln!("error: {fatal}");
            }
            blobsync::sync::Reporter::new(output, blobsync::sync::Verbosity::Normal, None)
                .print_summary(&result.summary, dry_run);
            match (&result.fatal, result.summary.status) {
                (Some(f), _) => ExitCode::from(class_code(f.class)),
                (None, RunStatus::Cancelled) => ExitCode::from(EXIT_INTERRUPTED),
                (None, RunStatus::Completed) => ExitCode::SUCCESS,
                (None, _) => ExitCode::from(EXIT_FAILED),
            }
        }
    }
}

fn class_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Auth => EXIT_AUTH,
        ErrorClass::Usage => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
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
