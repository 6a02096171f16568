//! Diagnostics: a log file per job in the data directory, and optionally stderr.
//!
//! Every line passes through the SAS redaction before it is written, so a signature that
//! reached a log message (a URL in a transport error, say) never reaches the disk.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Log levels, most to least severe.
pub const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Writes whole formatted events, redacted, to a shared file or stderr.
#[derive(Clone)]
struct Redacting {
    file: Option<Arc<Mutex<File>>>,
}

struct RedactingWriter {
    file: Option<Arc<Mutex<File>>>,
    buf: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = crate::endpoint::azure::redact(&String::from_utf8_lossy(&self.buf));
        // Secrets plugins were given (`${env:NAME}`), whatever path they took.
        let text = crate::plugin::redact_secrets(&text).into_owned();
        self.buf.clear();
        match &self.file {
            Some(f) => f
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .write_all(text.as_bytes()),
            None => std::io::stderr().lock().write_all(text.as_bytes()),
        }
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            file: self.file.clone(),
            buf: Vec::with_capacity(256),
        }
    }
}

fn directive(level: &str) -> String {
    // The SDKs' own chatter stays at warnings unless tracing everything. WASI's bindings
    // trace every call's arguments, which are a plugin's data (a URL with a token, say):
    // they stop at debug.
    let deps = if level == "trace" { "trace" } else { "warn" };
    let wasi = if level == "trace" { "debug" } else { "warn" };
    format!(
        "{level},azure_core={deps},azure_identity={deps},azure_storage_blob={deps},\
         typespec_client_core={deps},reqwest={deps},hyper={deps},hyper_util={deps},\
         wasmtime={deps},wasmtime_wasi={wasi},wasmtime_wasi_http={wasi},wasmtime_wasi_io={wasi},\
         cranelift_codegen={deps},notify={deps}"
    )
}

/// Checks a `--log-level` value.
pub fn check_level(level: &str) -> Result<(), String> {
    if LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
        Ok(())
    } else {
        Err(format!(
            "--log-level {level:?}: use one of {}",
            LEVELS.join(", ")
        ))
    }
}

/// Sets up logging: stderr at `stderr_level` (off when `None`), and `file` (if any) at
/// `file_level`. A log file that cannot be created is reported once and skipped.
pub fn init(stderr_level: Option<&str>, file: Option<&Path>, file_level: &str) {
    let stderr_layer = stderr_level.map(|level| {
        tracing_subscriber::fmt::layer()
            .with_writer(Redacting { file: None })
            .with_target(false)
            .with_filter(EnvFilter::new(directive(&level.to_ascii_lowercase())))
    });
    let file = file.and_then(|path| {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match File::options().create(true).append(true).open(path) {
            Ok(f) => Some(Arc::new(Mutex::new(f))),
            Err(e) => {
                eprintln!("warning: cannot write the job log {}: {e}", path.display());
                None
            }
        }
    });
    let file_layer = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_writer(Redacting { file: Some(f) })
            .with_ansi(false)
            .with_target(true)
            .with_filter(EnvFilter::new(directive(&file_level.to_ascii_lowercase())))
    });
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
}

/// Writes what a run does to the log: every action and failure, and every skip and
/// exclusion with its reason at debug level.
#[derive(Debug, Default)]
pub struct RunLog;

impl crate::sync::Observer for RunLog {
    fn run_started(&self, run: &crate::sync::RunInfo) {
        tracing::info!(
            job = %run.job_id,
            "sync {} → {}{}{}",
            run.source,
            run.destination,
            if run.scopes.is_empty() {
                String::new()
            } else {
                format!(" (only {})", run.scopes.join(", "))
            },
            if run.dry_run { " (dry run)" } else { "" }
        );
    }

    fn event(&self, event: &crate::sync::Event<'_>) {
        use crate::sync::Event;
        match event {
            Event::Done(item) => match &item.error {
                Some(error) => {
                    tracing::warn!(path = %item.path, "{} failed: {error}", item.action.name())
                }
                None => tracing::info!(
                    path = %item.path,
                    bytes = item.bytes,
                    "{}: {}",
                    item.action.name(),
                    item.reason
                ),
            },
            Event::Failed { path, message } => tracing::warn!(path, "{message}"),
            Event::Warning(message) => tracing::warn!("{message}"),
            Event::UpToDate { path, reason } => tracing::debug!(path, "skip: {reason}"),
            Event::Skipped { path, reason, .. } => tracing::debug!(path, "skipped: {reason}"),
            Event::Excluded {
                side,
                path,
                plugin,
                reason,
            } => tracing::debug!(
                path,
                side = side.map_or("both", crate::sync::Side::name),
                plugin,
                "excluded: {reason}"
            ),
            Event::Planned { source, reason, .. } => {
                tracing::info!(path = source, "dry run: {reason}")
            }
            _ => {}
        }
    }

    fn run_finished(&self, outcome: &crate::sync::RunOutcome) {
        match &outcome.error {
            Some(e) => tracing::error!("run {}: {e}", outcome.status.name()),
            None => tracing::info!("run {}", outcome.status.name()),
        }
    }

    fn notice(&self, message: &str) {
        tracing::info!("{message}");
    }
}
