//! Job records: one row per run and one per item acted on or skipped, in the embedded
//! database (see [`crate::store`]), and the queries behind `blobsync jobs`.
//!
//! Rows are written through the store's background writer, so recording a run of 100,000
//! files costs the sync itself almost nothing; a run killed outright stays "Running" in its
//! row, and `jobs list` reports it as interrupted once its process is gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::types::Value;

use crate::store::{Store, StoreError, Write};
use crate::sync::RunSummary;
use crate::sync::report::status_name;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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
    fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Success => "Success",
            ItemStatus::Failed => "Failed",
            ItemStatus::Skipped => "Skipped",
            ItemStatus::Planned => "Planned",
        }
    }
}

/// Records one run.
pub struct JobRecorder {
    store: Arc<Store>,
    id: String,
    seq: AtomicU64,
    items: ItemRecords,
}

impl std::fmt::Debug for JobRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRecorder")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What identifies a run when it starts.
#[derive(Debug, Clone)]
pub struct JobStart {
    /// The job id.
    pub id: String,
    /// The command line, secrets redacted.
    pub command: String,
    /// The source (SAS redacted).
    pub source: String,
    /// The destination (SAS redacted).
    pub destination: String,
    /// A dry run?
    pub dry_run: bool,
    /// The job's log file.
    pub log_path: Option<String>,
}

impl JobRecorder {
    /// Records the start of a run (status "Running").
    pub fn start(store: Arc<Store>, start: &JobStart, items: ItemRecords) -> JobRecorder {
        store.write(Write::Sql(
            "INSERT INTO jobs (id, started_ms, command, source, destination, dry_run, status, log_path, pid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Running', ?7, ?8)",
            vec![
                Value::Text(start.id.clone()),
                Value::Integer(now_ms()),
                Value::Text(start.command.clone()),
                Value::Text(start.source.clone()),
                Value::Text(start.destination.clone()),
                Value::Integer(start.dry_run as i64),
                start.log_path.clone().map(Value::Text).unwrap_or(Value::Null),
                Value::Integer(std::process::id() as i64),
            ],
        ));
        JobRecorder {
            store,
            id: start.id.clone(),
            seq: AtomicU64::new(0),
            items,
        }
    }

    /// The job id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records one item.
    pub fn item(
        &self,
        path: &str,
        action: &str,
        status: ItemStatus,
        bytes: u64,
        reason: &str,
        error: Option<&str>,
    ) {
        let keep = match self.items {
            ItemRecords::All => true,
            ItemRecords::Changes => status != ItemStatus::Skipped,
            ItemRecords::None => false,
        };
        if !keep {
            return;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) as i64;
        self.store.write(Write::Sql(
            "INSERT INTO job_items (job_id, seq, path, action, status, bytes, reason, error, time_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            vec![
                Value::Text(self.id.clone()),
                Value::Integer(seq),
                Value::Text(path.to_string()),
                Value::Text(action.to_string()),
                Value::Text(status.as_str().to_string()),
                Value::Integer(bytes as i64),
                Value::Text(reason.to_string()),
                error.map(|e| Value::Text(e.to_string())).unwrap_or(Value::Null),
                Value::Integer(now_ms()),
            ],
        ));
    }

    /// Records the end of the run and waits until everything is committed.
    pub fn finish(&self, summary: &RunSummary, error: Option<&str>) {
        let s = summary;
        self.store.write(Write::Sql(
            "UPDATE jobs SET ended_ms = ?2, status = ?3, source_files = ?4, destination_files = ?5, \
             excluded = ?6, up_to_date = ?7, copied = ?8, deleted = ?9, failed = ?10, \
             bytes_copied = ?11, error = ?12 WHERE id = ?1",
            vec![
                Value::Text(self.id.clone()),
                Value::Integer(now_ms()),
                Value::Text(status_name(s.status).to_string()),
                Value::Integer(s.source_files as i64),
                Value::Integer(s.destination_files as i64),
                Value::Integer(s.excluded as i64),
                Value::Integer(s.up_to_date as i64),
                Value::Integer(s.copied as i64),
                Value::Integer(s.deleted as i64),
                Value::Integer(s.failed as i64),
                Value::Integer(s.bytes_copied as i64),
                error.map(|e| Value::Text(e.to_string())).unwrap_or(Value::Null),
            ],
        ));
        self.store.flush();
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
    /// Files at the source.
    pub source_files: i64,
    /// Files at the destination.
    pub destination_files: i64,
    /// Excluded by filters.
    pub excluded: i64,
    /// Up to date.
    pub up_to_date: i64,
    /// Copied.
    pub copied: i64,
    /// Deleted.
    pub deleted: i64,
    /// Failed.
    pub failed: i64,
    /// Bytes copied.
    pub bytes_copied: i64,
    /// The error that stopped the run.
    pub error: Option<String>,
    /// The job's log file.
    pub log_path: Option<String>,
}

/// One recorded item.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemRow {
    /// Relative path.
    pub path: String,
    /// upload, download, delete, skip, exclude, list.
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
     source_files, destination_files, excluded, up_to_date, copied, deleted, failed, bytes_copied, \
     error, log_path, pid";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let mut status: String = r.get(3)?;
    let pid: Option<i64> = r.get(18)?;
    if status == "Running"
        && pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
    {
        status = "Interrupted".into();
    }
    Ok(JobRow {
        id: r.get(0)?,
        started_ms: r.get(1)?,
        ended_ms: r.get(2)?,
        status,
        command: r.get(4)?,
        source: r.get(5)?,
        destination: r.get(6)?,
        dry_run: r.get::<_, i64>(7)? != 0,
        source_files: r.get(8)?,
        destination_files: r.get(9)?,
        excluded: r.get(10)?,
        up_to_date: r.get(11)?,
        copied: r.get(12)?,
        deleted: r.get(13)?,
        failed: r.get(14)?,
        bytes_copied: r.get(15)?,
        error: r.get(16)?,
        log_path: r.get(17)?,
    })
}

/// The most recent jobs first.
pub fn list(store: &Store, limit: usize) -> Result<Vec<JobRow>, StoreError> {
    store.read(|c| {
        let mut stmt = c.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs ORDER BY started_ms DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], job_row)?;
        rows.collect()
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
        let rows = stmt.query_map([pattern], job_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
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

/// Parses an age such as `30d`, `12h`, `90m` or `45s`.
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not an age such as 30d, 12h or 90m"))?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3600,
        "m" => n * 60,
        "s" => n,
        "w" => n * 7 * 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h, d or w")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
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
    fn ages() {
        assert_eq!(parse_age("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse_age("90m").unwrap().as_secs(), 5400);
        assert!(parse_age("soon").is_err());
        assert!(parse_age("5y").is_err());
    }

    #[test]
    fn record_list_show_clean() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
        let start = JobStart {
            id: new_id(),
            command: "blobsync sync a b".into(),
            source: "a".into(),
            destination: "b".into(),
            dry_run: false,
            log_path: None,
        };
        let rec = JobRecorder::start(store.clone(), &start, ItemRecords::All);
        rec.item(
            "x",
            "upload",
            ItemStatus::Success,
            3,
            "not at the destination",
            None,
        );
        rec.item(
            "y",
            "skip",
            ItemStatus::Skipped,
            0,
            "same size and modification time",
            None,
        );
        rec.item(
            "z",
            "upload",
            ItemStatus::Failed,
            0,
            "not at the destination",
            Some("boom"),
        );
        let summary = RunSummary {
            status: crate::plugin::RunStatus::CompletedWithErrors,
            source_files: 3,
            destination_files: 1,
            excluded: 0,
            symlinks_skipped: 0,
            up_to_date: 1,
            copied: 1,
            bytes_copied: 3,
            bytes_enumerated: 3,
            deleted: 0,
            failed: 1,
            plugin_failures: 0,
            elapsed: std::time::Duration::from_millis(5),
        };
        rec.finish(&summary, None);
        let jobs = list(&store, 10).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, "CompletedWithErrors");
        assert_eq!(find(&store, &start.id[..8]).unwrap().copied, 1);
        assert_eq!(
            items(&store, &start.id, StatusFilter::Failed).unwrap()[0]
                .error
                .as_deref(),
            Some("boom")
        );
        assert_eq!(
            items(&store, &start.id, StatusFilter::All).unwrap().len(),
            3
        );
        assert_eq!(clean(&store, None).unwrap(), 1);
        assert!(list(&store, 10).unwrap().is_empty());
        assert!(matches!(find(&store, "nope"), Err(FindError::NotFound(_))));
    }
}
