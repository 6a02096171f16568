//! Job records: one row per run and one per item acted on or skipped, in the embedded
//! database (see [`crate::store`]), written by [`JobRecorder`]; and the queries behind
//! `blobsync jobs`. A run killed outright stays "Running" in its row, and `jobs list`
//! reports it as interrupted once its process is gone.

pub mod backups;
mod recorder;

pub use recorder::JobRecorder;

use crate::store::{Store, StoreError};
use crate::sync::Totals;

/// A new job id (a random UUID).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which items of a run are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ItemRecords {
    /// Every item: copies, deletes, failures, and each skip with its reason.
    #[default]
    All,
    /// Only what changed or failed (for very large, frequent syncs).
    Changes,
    /// No items, only the run.
    None,
}

/// The status of a recorded item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Copied or deleted.
    Success,
    /// The copy, delete or listing failed.
    Failed,
    /// Up to date, or excluded by a filter.
    Skipped,
    /// A dry run's copy or delete.
    Planned,
}

impl ItemStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Success => "Success",
            ItemStatus::Failed => "Failed",
            ItemStatus::Skipped => "Skipped",
            ItemStatus::Planned => "Planned",
        }
    }
}

/// One job, as `jobs list` and `jobs show` print it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobRow {
    /// The id.
    pub id: String,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, if it ended.
    pub ended_ms: Option<i64>,
    /// Completed, CompletedWithErrors, Failed, Cancelled; Running while it runs, or
    /// Interrupted when its process died without recording an end.
    pub status: String,
    /// The command line (secrets redacted).
    pub command: String,
    /// The source.
    pub source: String,
    /// The destination.
    pub destination: String,
    /// A dry run?
    pub dry_run: bool,
    /// Every counter of the run (as its summary has them).
    #[serde(flatten)]
    pub totals: Totals,
    /// The error that stopped the run.
    pub error: Option<String>,
    /// The job's log file.
    pub log_path: Option<String>,
    /// The shard of a sharded sync (`K/N`).
    pub shard: Option<String>,
}

/// One recorded item.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemRow {
    /// Relative path.
    pub path: String,
    /// upload, download, copy, delete, update, rehydrate, skip, exclude, list.
    pub action: String,
    /// Success, Failed, Skipped, Planned.
    pub status: String,
    /// Bytes moved.
    pub bytes: i64,
    /// Why.
    pub reason: String,
    /// The error, if it failed.
    pub error: Option<String>,
    /// When, ms since the epoch.
    pub time_ms: i64,
}

const JOB_COLUMNS: &str = "id, started_ms, ended_ms, status, command, source, destination, dry_run, \
     totals, error, log_path, pid, shard";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let mut status: String = r.get("status")?;
    let pid: Option<i64> = r.get("pid")?;
    if status == "Running"
        && pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
    {
        status = "Interrupted".into();
    }
    let totals: String = r.get("totals")?;
    Ok(JobRow {
        id: r.get("id")?,
        started_ms: r.get("started_ms")?,
        ended_ms: r.get("ended_ms")?,
        status,
        command: r.get("command")?,
        source: r.get("source")?,
        destination: r.get("destination")?,
        dry_run: r.get::<_, i64>("dry_run")? != 0,
        // Written by this program from `Totals`; a counter it lacks reads as 0.
        totals: serde_json::from_str(&totals).unwrap_or_default(),
        error: r.get("error")?,
        log_path: r.get("log_path")?,
        shard: r.get("shard")?,
    })
}

/// For a run whose process died before recording its end, the totals its recorded items
/// add up to (items are written as they finish, so they are what landed).
fn reconcile(c: &rusqlite::Connection, job: &mut JobRow) -> rusqlite::Result<()> {
    if job.status != "Interrupted" {
        return Ok(());
    }
    let mut stmt = c.prepare_cached(
        "SELECT action, status, COUNT(*), COALESCE(SUM(bytes), 0) FROM job_items \
         WHERE job_id = ?1 GROUP BY action, status",
    )?;
    let rows = stmt.query_map([&job.id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?.unsigned_abs(),
            r.get::<_, i64>(3)?.unsigned_abs(),
        ))
    })?;
    let (mut copied, mut bytes, mut deleted, mut failed, mut skipped) = (0u64, 0u64, 0, 0, 0);
    for row in rows {
        let (action, status, n, b) = row?;
        match (action.as_str(), status.as_str()) {
            ("upload" | "download" | "copy", "Success") => {
                copied += n;
                bytes += b;
            }
            ("delete", "Success") => deleted += n,
            (_, "Failed") => failed += n,
            ("skip", "Skipped") => skipped += n,
            _ => {}
        }
    }
    let t = &mut job.totals;
    t.copied = t.copied.max(copied);
    t.bytes_copied = t.bytes_copied.max(bytes);
    t.deleted = t.deleted.max(deleted);
    t.failed = t.failed.max(failed);
    t.up_to_date = t.up_to_date.max(skipped);
    Ok(())
}

/// The most recent jobs first.
pub fn list(store: &Store, limit: usize) -> Result<Vec<JobRow>, StoreError> {
    store.read(|c| {
        let mut stmt = c.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs ORDER BY started_ms DESC LIMIT ?1"
        ))?;
        let mut rows = stmt
            .query_map([limit as i64], job_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for row in &mut rows {
            reconcile(c, row)?;
        }
        Ok(rows)
    })
}

/// Why `find` found no single job.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// No job id starts with the prefix.
    #[error("no job {0} (see `blobsync jobs list`)")]
    NotFound(String),
    /// Several do.
    #[error("{0} matches several jobs; give more of the id")]
    Ambiguous(String),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The job whose id starts with `prefix`.
pub fn find(store: &Store, prefix: &str) -> Result<JobRow, FindError> {
    let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
    let mut rows = store.read(|c| {
        let mut stmt = c.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id LIKE ?1 LIMIT 2"
        ))?;
        let mut rows = stmt
            .query_map([pattern], job_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for row in &mut rows {
            reconcile(c, row)?;
        }
        Ok(rows)
    })?;
    match rows.len() {
        0 => Err(FindError::NotFound(prefix.to_string())),
        1 => Ok(rows.remove(0)),
        _ => Err(FindError::Ambiguous(prefix.to_string())),
    }
}

/// `--with-status` of `jobs show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    /// Every item.
    All,
    /// Copied or deleted.
    Success,
    /// Failed.
    Failed,
    /// Up to date or excluded.
    Skipped,
    /// A dry run's planned actions.
    Planned,
}

/// The items of a job, in the order they were recorded.
pub fn items(
    store: &Store,
    job_id: &str,
    filter: StatusFilter,
) -> Result<Vec<ItemRow>, StoreError> {
    let status = match filter {
        StatusFilter::All => None,
        StatusFilter::Success => Some("Success"),
        StatusFilter::Failed => Some("Failed"),
        StatusFilter::Skipped => Some("Skipped"),
        StatusFilter::Planned => Some("Planned"),
    };
    store.read(|c| {
        let mut stmt = c.prepare(
            "SELECT path, action, status, bytes, reason, error, time_ms FROM job_items \
             WHERE job_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY seq",
        )?;
        let rows = stmt.query_map(rusqlite::params![job_id, status], |r| {
            Ok(ItemRow {
                path: r.get(0)?,
                action: r.get(1)?,
                status: r.get(2)?,
                bytes: r.get(3)?,
                reason: r.get(4)?,
                error: r.get(5)?,
                time_ms: r.get(6)?,
            })
        })?;
        rows.collect()
    })
}

/// Removes finished jobs that started before `before_ms` (all finished jobs when `None`),
/// with their items and log files. Returns how many jobs were removed.
pub fn clean(store: &Store, before_ms: Option<i64>) -> Result<usize, StoreError> {
    let cutoff = before_ms.unwrap_or(i64::MAX);
    let logs: Vec<String> = store.read(|c| {
        let mut stmt = c.prepare(
            "SELECT log_path FROM jobs WHERE started_ms < ?1 AND status != 'Running' AND log_path IS NOT NULL",
        )?;
        let rows = stmt.query_map([cutoff], |r| r.get(0))?;
        rows.collect()
    })?;
    let removed = store.transaction(|tx| {
        tx.execute(
            "DELETE FROM job_items WHERE job_id IN \
             (SELECT id FROM jobs WHERE started_ms < ?1 AND status != 'Running')",
            [cutoff],
        )?;
        tx.execute(
            "DELETE FROM jobs WHERE started_ms < ?1 AND status != 'Running'",
            [cutoff],
        )
    })?;
    for log in logs {
        let _ = std::fs::remove_file(log);
    }
    Ok(removed)
}

/// Redacts secrets from a command line for the job record: SAS signatures, and the
/// values of `--account-key`.
pub fn redact_command(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push("REDACTED".to_string());
            hide_next = false;
            continue;
        }
        if arg == "--account-key" {
            hide_next = true;
            out.push(arg.clone());
        } else if arg.starts_with("--account-key=") {
            out.push("--account-key=REDACTED".into());
        } else {
            out.push(crate::endpoint::azure::redact(arg));
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn command_lines_are_redacted() {
        let args: Vec<String> = [
            "blobsync",
            "sync",
            "/a",
            "https://x.blob.core.windows.net/c?sv=1&sig=SECRET",
            "--account-key",
            "KEY==",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = redact_command(&args);
        assert!(!r.contains("SECRET") && !r.contains("KEY=="), "{r}");
        assert!(
            r.contains("sig=REDACTED") && r.contains("--account-key REDACTED"),
            "{r}"
        );
        assert_eq!(
            redact_command(&["--account-key=abc".to_string()]),
            "--account-key=REDACTED"
        );
    }

    #[test]
    fn record_list_show_clean() {
        use crate::sync::{
            Action, Event, ItemDone, Observer, RunControl, RunInfo, RunOutcome, Status, Stop,
            Totals,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
        let rec = JobRecorder::new(
            store.clone(),
            ItemRecords::All,
            "blobsync sync a b".into(),
            None,
        );
        let info = RunInfo {
            job_id: new_id(),
            source: "a".into(),
            destination: "b".into(),
            dry_run: false,
            check: false,
            scopes: Vec::new(),
            started_ms: crate::sync::now_ms(),
            shard: crate::sync::Shard::new(1, 4),
            control: RunControl::new(Stop::new()),
        };
        rec.run_started(&info);
        let done = |path: &str, error: Option<&str>| ItemDone {
            path: path.into(),
            action: Action::Upload,
            bytes: if error.is_some() { 0 } else { 3 },
            reason: "not at the destination".into(),
            error: error.map(String::from),
            md5: None,
            toward: None,
        };
        rec.event(&Event::Done(&done("x", None)));
        rec.event(&Event::UpToDate {
            path: "y",
            reason: "same size and modification time",
        });
        rec.event(&Event::Done(&done("z", Some("boom"))));
        rec.run_finished(&RunOutcome {
            plugin_failures: Vec::new(),
            info: info.clone(),
            status: Status::CompletedWithErrors,
            totals: Totals {
                source_files: 3,
                destination_files: 1,
                up_to_date: 1,
                copied: 1,
                bytes_copied: 3,
                failed: 1,
                ..Totals::default()
            },
            elapsed: std::time::Duration::from_millis(5),
            error: None,
        });
        let id = &info.job_id;
        let jobs = list(&store, 10).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, "CompletedWithErrors");
        assert_eq!(jobs[0].shard.as_deref(), Some("1/4"));
        assert_eq!(find(&store, &id[..8]).unwrap().totals.copied, 1);
        assert_eq!(
            items(&store, id, StatusFilter::Failed).unwrap()[0]
                .error
                .as_deref(),
            Some("boom")
        );
        assert_eq!(items(&store, id, StatusFilter::All).unwrap().len(), 3);
        assert_eq!(clean(&store, None).unwrap(), 1);
        assert!(list(&store, 10).unwrap().is_empty());
        assert!(matches!(find(&store, "nope"), Err(FindError::NotFound(_))));
    }
}
