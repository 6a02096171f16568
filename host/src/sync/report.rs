//! What a run did: counters, per-item messages, events for hooks, and the summary.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::jobs::{ItemStatus, JobRecorder};
use crate::plugin::{Event, EventAction, Outcome, RunStatus};

/// Run counters, updated from every stage.
#[derive(Debug, Default)]
pub struct Stats {
    /// Files listed at the source that passed the filters.
    pub source_files: AtomicU64,
    /// Files listed at the destination that passed the filters.
    pub destination_files: AtomicU64,
    /// Entries (files or directories) excluded by filters, on either side.
    pub excluded: AtomicU64,
    /// Symbolic links skipped.
    pub symlinks_skipped: AtomicU64,
    /// Other entries the listers skipped (special files).
    pub other_skipped: AtomicU64,
    /// Pairs the comparator found up to date.
    pub up_to_date: AtomicU64,
    /// Files copied.
    pub copied: AtomicU64,
    /// Bytes copied.
    pub bytes_copied: AtomicU64,
    /// Destination entries deleted.
    pub deleted: AtomicU64,
    /// Items that failed (copies, deletes, listing errors, hash errors).
    pub failed: AtomicU64,
    /// Bytes of the source files enumerated.
    pub bytes_enumerated: AtomicU64,
}

impl Stats {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// How much is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only errors and the summary.
    Quiet,
    /// Errors, dry-run actions and the summary.
    Normal,
    /// Also every copy and delete.
    Verbose,
}

/// What happened to one item, for the log and for hooks.
#[derive(Debug, Clone)]
pub struct ItemReport {
    /// Relative path.
    pub path: String,
    /// Upload, download or delete.
    pub action: EventAction,
    /// Bytes moved.
    pub bytes: u64,
    /// Why it was acted on.
    pub reason: String,
    /// The error, if it failed.
    pub error: Option<String>,
    /// MD5 of what was written.
    pub md5: Option<[u8; 16]>,
}

/// Receives batches of events (the hook dispatcher).
pub trait EventSink: Send + Sync {
    /// Delivers a batch; must not block for long.
    fn deliver(&self, events: Vec<Event>);
}

/// Prints and counts what a run does, records it in the job, and forwards events to
/// hooks.
pub struct Reporter {
    /// The counters.
    pub stats: Stats,
    mode: OutputMode,
    verbosity: Verbosity,
    started: Instant,
    pending: Mutex<Vec<Event>>,
    sink: Option<Box<dyn EventSink>>,
    job: Option<Arc<JobRecorder>>,
    progress: Option<ProgressBar>,
}

/// Events per hook batch.
const EVENT_BATCH: usize = 256;

impl Reporter {
    /// A reporter printing in `mode`.
    pub fn new(mode: OutputMode, verbosity: Verbosity, sink: Option<Box<dyn EventSink>>) -> Self {
        Reporter {
            stats: Stats::default(),
            mode,
            verbosity,
            started: Instant::now(),
            pending: Mutex::new(Vec::new()),
            sink,
            job: None,
            progress: None,
        }
    }

    /// Records items in `job`.
    pub fn with_job(mut self, job: Option<Arc<JobRecorder>>) -> Self {
        self.job = job;
        self
    }

    /// Shows a progress line on the terminal (text output to a terminal only).
    pub fn with_progress(mut self, show: bool) -> Self {
        if show && self.mode == OutputMode::Text && self.verbosity != Verbosity::Quiet {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            self.progress = Some(bar);
        }
        self
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Prints without tearing the progress line.
    fn print(&self, f: impl FnOnce()) {
        match &self.progress {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
    }

    /// Refreshes the progress line, or prints a JSON progress object.
    pub fn tick(&self) {
        let s = &self.stats;
        let (src, dst) = (
            Stats::get(&s.source_files),
            Stats::get(&s.destination_files),
        );
        let (copied, bytes, failed) = (
            Stats::get(&s.copied),
            Stats::get(&s.bytes_copied),
            Stats::get(&s.failed),
        );
        let secs = self.elapsed().as_secs_f64().max(0.001);
        match (&self.progress, self.mode) {
            (Some(bar), _) => {
                bar.set_message(format!(
                    "scanned {src} source / {dst} destination · copied {copied} ({}, {}/s) · {} up to date · {failed} failed",
                    human_bytes(bytes),
                    human_bytes((bytes as f64 / secs) as u64),
                    Stats::get(&s.up_to_date),
                ));
                bar.tick();
            }
            (None, OutputMode::Json) => self.json_line(serde_json::json!({
                "type": "progress",
                "job": self.job_id(),
                "source_files": src,
                "destination_files": dst,
                "up_to_date": Stats::get(&s.up_to_date),
                "copied": copied,
                "bytes_copied": bytes,
                "deleted": Stats::get(&s.deleted),
                "failed": failed,
                "elapsed_ms": self.elapsed().as_millis() as u64,
            })),
            (None, OutputMode::Text) => {}
        }
    }

    /// Removes the progress line (before the summary).
    pub fn finish_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }

    fn job_id(&self) -> Option<&str> {
        self.job.as_deref().map(JobRecorder::id)
    }

    /// Announces the run (JSON output only).
    pub fn start(&self, source: &str, destination: &str, dry_run: bool) {
        if self.mode == OutputMode::Json {
            self.json_line(serde_json::json!({
                "type": "start",
                "schema": JSON_SCHEMA_VERSION,
                "version": env!("CARGO_PKG_VERSION"),
                "job": self.job_id(),
                "source": source,
                "destination": destination,
                "dry_run": dry_run,
                "time_ms": crate::jobs::now_ms(),
            }));
        }
    }

    /// An item was copied, deleted or failed.
    pub fn item(&self, report: ItemReport) {
        let failed = report.error.is_some();
        match (&report.error, report.action) {
            (Some(_), _) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            (None, EventAction::Delete) => {
                self.stats.deleted.fetch_add(1, Ordering::Relaxed);
            }
            (None, _) => {
                self.stats.copied.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .bytes_copied
                    .fetch_add(report.bytes, Ordering::Relaxed);
            }
        }
        let verb = match report.action {
            EventAction::Upload => "upload",
            EventAction::Download => "download",
            EventAction::Delete => "delete",
        };
        if let Some(job) = &self.job {
            let status = if failed {
                ItemStatus::Failed
            } else {
                ItemStatus::Success
            };
            job.item(
                &report.path,
                verb,
                status,
                report.bytes,
                &report.reason,
                report.error.as_deref(),
            );
        }
        match self.mode {
            OutputMode::Text => self.print(|| {
                if let Some(error) = &report.error {
                    eprintln!("error: {verb} {}: {error}", report.path);
                } else if self.verbosity >= Verbosity::Verbose {
                    println!("{verb}: {} ({})", report.path, report.reason);
                }
            }),
            OutputMode::Json => {
                if failed || self.verbosity >= Verbosity::Verbose {
                    self.json_line(serde_json::json!({
                        "type": if failed { "error" } else { "transfer" },
                        "action": verb,
                        "path": report.path,
                        "bytes": report.bytes,
                        "reason": report.reason,
                        "error": report.error,
                    }));
                }
            }
        }
        if failed {
            tracing::warn!(path = %report.path, "{verb} failed: {}", report.error.as_deref().unwrap_or(""));
        } else {
            tracing::info!(path = %report.path, bytes = report.bytes, "{verb}: {}", report.reason);
        }
        self.push_event(Event {
            path: report.path,
            action: report.action,
            bytes: report.bytes,
            outcome: if failed {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            reason: report.reason,
            error: report.error,
            md5: report.md5.map(|m| m.to_vec()),
            time_ms: crate::jobs::now_ms() as u64,
        });
    }

    /// A failure that is not one item's copy or delete (a listing or hashing error).
    pub fn failure(&self, path: &str, message: &str) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(job) = &self.job {
            job.item(path, "list", ItemStatus::Failed, 0, "", Some(message));
        }
        match self.mode {
            OutputMode::Text => self.print(|| eprintln!("error: {path}: {message}")),
            OutputMode::Json => self.json_line(serde_json::json!({
                "type": "error", "action": "list", "path": path, "error": message,
            })),
        }
        tracing::warn!(path, "{message}");
    }

    /// A warning for the user (not counted as a failure).
    pub fn warning(&self, message: &str) {
        match self.mode {
            OutputMode::Text => self.print(|| eprintln!("warning: {message}")),
            OutputMode::Json => {
                self.json_line(serde_json::json!({ "type": "warning", "message": message }))
            }
        }
        tracing::warn!("{message}");
    }

    /// A pair the comparator found up to date.
    pub fn up_to_date(&self, path: &str, reason: &str) {
        self.stats.up_to_date.fetch_add(1, Ordering::Relaxed);
        if let Some(job) = &self.job {
            job.item(path, "skip", ItemStatus::Skipped, 0, reason, None);
        }
        tracing::debug!(path, "skip: {reason}");
    }

    /// True when every action is printed.
    pub fn verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    /// An entry excluded by a filter.
    pub fn excluded(&self, side: &str, path: &str, plugin: &str, reason: &str) {
        self.stats.excluded.fetch_add(1, Ordering::Relaxed);
        let by = if plugin.is_empty() {
            String::new()
        } else {
            format!(" by {plugin}")
        };
        if let Some(job) = &self.job {
            job.item(
                path,
                "exclude",
                ItemStatus::Skipped,
                0,
                &format!("excluded{by} ({side}): {reason}"),
                None,
            );
        }
        tracing::debug!(path, side, plugin, "excluded: {reason}");
        if self.verbosity >= Verbosity::Verbose {
            match self.mode {
                OutputMode::Text => {
                    self.print(|| println!("excluded{by} ({side}): {path}: {reason}"))
                }
                OutputMode::Json => self.json_line(serde_json::json!({
                    "type": "excluded", "side": side, "path": path, "plugin": plugin,
                    "reason": reason,
                })),
            }
        }
    }

    /// An entry a lister skipped.
    pub fn skipped(&self, path: &str, reason: &str, symlink: bool) {
        let counter = if symlink {
            &self.stats.symlinks_skipped
        } else {
            &self.stats.other_skipped
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(job) = &self.job {
            job.item(path, "skip", ItemStatus::Skipped, 0, reason, None);
        }
        tracing::debug!(path, "skipped: {reason}");
    }

    /// A copy or delete that a dry run would do.
    pub fn dry_run(&self, action: &str, from: &str, to: Option<&str>, reason: &str, bytes: u64) {
        if let Some(job) = &self.job {
            job.item(from, action, ItemStatus::Planned, bytes, reason, None);
        }
        match self.mode {
            OutputMode::Text => self.print(|| match to {
                Some(to) => println!("DRYRUN: {action} {from} to {to} ({reason})"),
                None => println!("DRYRUN: {action} {from} ({reason})"),
            }),
            OutputMode::Json => self.json_line(serde_json::json!({
                "type": "dry-run", "action": action, "source": from, "destination": to,
                "bytes": bytes, "reason": reason,
            })),
        }
    }

    fn push_event(&self, event: Event) {
        if self.sink.is_none() {
            return;
        }
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.push(event);
            if pending.len() < EVENT_BATCH {
                return;
            }
            std::mem::take(&mut *pending)
        };
        if let Some(sink) = &self.sink {
            sink.deliver(batch);
        }
    }

    /// Sends buffered events to the hooks (called periodically and at the end).
    pub fn flush_events(&self) {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if let (Some(sink), false) = (&self.sink, batch.is_empty()) {
            sink.deliver(batch);
        }
    }

    /// The run's totals.
    pub fn summary(&self, status: RunStatus) -> RunSummary {
        let s = &self.stats;
        RunSummary {
            status,
            source_files: Stats::get(&s.source_files),
            destination_files: Stats::get(&s.destination_files),
            excluded: Stats::get(&s.excluded),
            symlinks_skipped: Stats::get(&s.symlinks_skipped),
            up_to_date: Stats::get(&s.up_to_date),
            copied: Stats::get(&s.copied),
            bytes_copied: Stats::get(&s.bytes_copied),
            bytes_enumerated: Stats::get(&s.bytes_enumerated),
            deleted: Stats::get(&s.deleted),
            failed: Stats::get(&s.failed),
            plugin_failures: 0,
            elapsed: self.elapsed(),
        }
    }
}

/// The version of the `--output-type json` schema (see the README); bumped on any
/// incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// The totals of a finished run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// How it ended.
    pub status: RunStatus,
    /// Files at the source (after filters).
    pub source_files: u64,
    /// Files at the destination (after filters).
    pub destination_files: u64,
    /// Entries excluded by filters.
    pub excluded: u64,
    /// Symbolic links skipped.
    pub symlinks_skipped: u64,
    /// Files already up to date.
    pub up_to_date: u64,
    /// Files copied.
    pub copied: u64,
    /// Bytes copied.
    pub bytes_copied: u64,
    /// Bytes enumerated at the source.
    pub bytes_enumerated: u64,
    /// Entries deleted.
    pub deleted: u64,
    /// Failed items.
    pub failed: u64,
    /// Plugin failures tolerated (fail-open).
    pub plugin_failures: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The status name used in output and job records.
pub fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "Completed",
        RunStatus::CompletedWithErrors => "CompletedWithErrors",
        RunStatus::Failed => "Failed",
        RunStatus::Cancelled => "Cancelled",
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

impl RunSummary {
    /// The text block printed at the end of a run.
    pub fn to_text(&self, dry_run: bool) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.bytes_copied as f64 / secs
        } else {
            0.0
        };
        let mut s = String::new();
        let title = if dry_run {
            "Dry run (nothing was changed)"
        } else {
            "Summary"
        };
        s.push_str(&format!("\n{title}\n"));
        let line = |s: &mut String, k: &str, v: String| s.push_str(&format!("  {k:<32}{v}\n"));
        line(
            &mut s,
            "Files at the source:",
            self.source_files.to_string(),
        );
        line(
            &mut s,
            "Files at the destination:",
            self.destination_files.to_string(),
        );
        line(&mut s, "Excluded by filters:", self.excluded.to_string());
        if self.symlinks_skipped > 0 {
            line(
                &mut s,
                "Symbolic links skipped:",
                self.symlinks_skipped.to_string(),
            );
        }
        line(&mut s, "Up to date (skipped):", self.up_to_date.to_string());
        let copied_label = if dry_run { "Would copy:" } else { "Copied:" };
        line(
            &mut s,
            copied_label,
            format!("{} ({})", self.copied, human_bytes(self.bytes_copied)),
        );
        let deleted_label = if dry_run { "Would delete:" } else { "Deleted:" };
        line(&mut s, deleted_label, self.deleted.to_string());
        line(&mut s, "Failed:", self.failed.to_string());
        if self.plugin_failures > 0 {
            line(
                &mut s,
                "Plugin failures (fail-open):",
                self.plugin_failures.to_string(),
            );
        }
        line(
            &mut s,
            "Elapsed:",
            format!("{secs:.2} s ({}/s)", human_bytes(rate as u64)),
        );
        line(
            &mut s,
            "Final status:",
            status_name(self.status).to_string(),
        );
        s
    }

    /// Prints the summary in `mode`, with the job id and exit code.
    pub fn print(&self, mode: OutputMode, dry_run: bool, job: Option<&str>, exit_code: u8) {
        let mut out = std::io::stdout().lock();
        match mode {
            OutputMode::Text => {
                let _ = write!(out, "{}", self.to_text(dry_run));
                if let Some(job) = job {
                    let _ = writeln!(out, "  {:<32}{job}", "Job:");
                }
            }
            OutputMode::Json => {
                let mut v = self.to_json(dry_run);
                v["job"] = serde_json::json!(job);
                v["exit_code"] = serde_json::json!(exit_code);
                let _ = writeln!(out, "{v}");
            }
        }
    }

    /// The JSON summary object.
    pub fn to_json(&self, dry_run: bool) -> serde_json::Value {
        serde_json::json!({
            "type": "summary",
            "status": status_name(self.status),
            "dry_run": dry_run,
            "source_files": self.source_files,
            "destination_files": self.destination_files,
            "excluded": self.excluded,
            "symlinks_skipped": self.symlinks_skipped,
            "up_to_date": self.up_to_date,
            "copied": self.copied,
            "bytes_copied": self.bytes_copied,
            "bytes_enumerated": self.bytes_enumerated,
            "deleted": self.deleted,
            "failed": self.failed,
            "plugin_failures": self.plugin_failures,
            "elapsed_ms": self.elapsed.as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(3 << 30), "3.00 GiB");
    }
}
