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

/// The target of notices meant for the person at the terminal (a long plugin compile),
/// shown on stderr when it is a terminal whatever the log level.
pub const NOTICE_TARGET: &str = "blobsync::notice";

/// A notice logged after a delay, unless dropped first: "compiling plugin X" only when
/// the compile takes long enough to wonder about.
pub struct Notice(Option<std::sync::mpsc::Sender<()>>);

impl Notice {
    /// Logs `message` as a notice after `delay`, unless dropped sooner.
    pub fn after(delay: std::time::Duration, message: String) -> Notice {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("notice".into())
            .spawn(move || {
                if rx.recv_timeout(delay) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                    tracing::info!(target: NOTICE_TARGET, "{message}");
                }
            });
        Notice(spawned.ok().map(|_| tx))
    }
}

impl Drop for Notice {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

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
         cranelift_codegen={deps},notify={deps},{NOTICE_TARGET}=off"
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
/// `file_level`; with `notices`, notices are shown on stderr as plain lines. A log file
/// that cannot be created is reported once and skipped.
pub fn init(stderr_level: Option<&str>, file: Option<&Path>, file_level: &str, notices: bool) {
    let notice_layer = notices.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(Redacting { file: None })
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_filter(EnvFilter::new(format!("off,{NOTICE_TARGET}=info")))
    });
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
        .with(notice_layer)
        .with(file_layer)
        .try_init();
}

/// Writes what a run does to the log: every action and failure, every skip and exclusion
/// with its reason at debug level, and a status line every minute.
#[derive(Debug, Default)]
pub struct RunLog {
    status: std::sync::Mutex<Option<crate::progress::Every>>,
}

/// How often the log gets a status line.
const LOG_STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl crate::sync::Observer for RunLog {
    fn run_started(&self, run: &crate::sync::RunInfo) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(crate::progress::Every::new(LOG_STATUS_EVERY));
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
            Event::Conflict(c) => tracing::info!(path = %c.path, "{}", c.reason),
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
            Event::Kept {
                path, kept, bytes, ..
            } => tracing::info!(path, bytes, "kept in the backup location as {kept}"),
            Event::Progress(p) => {
                let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(line) = status.as_mut().and_then(|every| every.due(p)) {
                    tracing::info!("progress: {line}");
                }
            }
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
