//! `--metrics-file PATH`: each run's outcome in the Prometheus text format, for
//! node_exporter's textfile collector (`--collector.textfile.directory`), so a scheduled
//! sync is monitored the way operators already monitor cron jobs. The file is replaced
//! atomically (written beside it, then renamed), and keeps the time of the last success
//! across failed runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::sync::{Observer, RunOutcome, Status, now_ms};

/// Writes the metrics file at the end of every run.
#[derive(Debug)]
pub struct MetricsFile {
    path: PathBuf,
}

impl MetricsFile {
    /// Writes to `path`.
    pub fn new(path: PathBuf) -> MetricsFile {
        MetricsFile { path }
    }
}

/// The value of a metric in the text of a metrics file, if it is there.
fn previous(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A label value, escaped as the format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics of `outcome`; `last_success` is the previous file's, kept when this run
/// did not succeed.
pub fn render(outcome: &RunOutcome, now_s: f64, last_success: Option<f64>) -> String {
    let t = &outcome.totals;
    let success = outcome.status == Status::Completed && outcome.error.is_none();
    let labels = format!(
        "{{source=\"{}\",destination=\"{}\"}}",
        label(&outcome.info.source),
        label(&outcome.info.destination)
    );
    let last_success = if success { Some(now_s) } else { last_success };
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name}{labels} {value}");
    };
    metric(
        "blobsync_run_success",
        "1 if the last run completed with every item synced, else 0.",
        if success { 1.0 } else { 0.0 },
    );
    metric(
        "blobsync_run_exit_code",
        "The last run's exit code (0 ok, 1 items failed, 2 usage, 3 auth, 7 refused by a \
         guard, 8 --max-transfer, 10 --max-duration, 130 interrupted).",
        f64::from(outcome.exit_code()),
    );
    metric(
        "blobsync_run_duration_seconds",
        "How long the last run took.",
        outcome.elapsed.as_secs_f64(),
    );
    metric(
        "blobsync_run_timestamp_seconds",
        "When the last run ended, in seconds since the Unix epoch.",
        now_s,
    );
    if let Some(at) = last_success {
        metric(
            "blobsync_last_success_timestamp_seconds",
            "When a run last succeeded, in seconds since the Unix epoch.",
            at,
        );
    }
    let counts: [(&str, &str, u64); 6] = [
        (
            "blobsync_files_copied",
            "Files copied by the last run.",
            t.copied,
        ),
        (
            "blobsync_bytes_copied",
            "Bytes copied by the last run.",
            t.bytes_copied,
        ),
        (
            "blobsync_files_deleted",
            "Entries deleted by the last run.",
            t.deleted,
        ),
        (
            "blobsync_files_failed",
            "Items that failed in the last run.",
            t.failed,
        ),
        (
            "blobsync_files_up_to_date",
            "Files already up to date in the last run.",
            t.up_to_date,
        ),
        (
            "blobsync_retries",
            "Requests the last run tried again.",
            t.retries,
        ),
    ];
    for (name, help, value) in counts {
        metric(name, help, value as f64);
    }
    out
}

/// Replaces `path` with `text` atomically.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".blobsync-metrics-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl Observer for MetricsFile {
    fn event(&self, _event: &crate::sync::Event<'_>) {}

    fn run_finished(&self, outcome: &RunOutcome) {
        let before = std::fs::read_to_string(&self.path).unwrap_or_default();
        let last = previous(&before, "blobsync_last_success_timestamp_seconds");
        let text = render(outcome, now_ms() as f64 / 1000.0, last);
        if let Err(e) = write_atomically(&self.path, &text) {
            tracing::warn!("cannot write the metrics file {}: {e}", self.path.display());
            eprintln!(
                "warning: cannot write the metrics file {}: {e}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_success_is_read_back_and_kept_across_a_failure() {
        let text = "# HELP x y\nblobsync_last_success_timestamp_seconds{source=\"a\",destination=\"b\"} 1700000000.5\nblobsync_run_success{} 0\n";
        assert_eq!(
            previous(text, "blobsync_last_success_timestamp_seconds"),
            Some(1_700_000_000.5)
        );
        assert_eq!(previous(text, "blobsync_last"), None);
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
