//! Recording runs: an [`Observer`] that writes one row per run and one per item acted on
//! or skipped, through the database's background writer, so recording costs the sync
//! itself almost nothing.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::types::Value;

use super::{ItemRecords, ItemStatus};
use crate::store::{Store, Write};
use crate::sync::{Event, Observer, RunInfo, RunOutcome, now_ms};

/// Records the runs of a session.
pub struct JobRecorder {
    store: Arc<Store>,
    items: ItemRecords,
    command: String,
    log_path: Option<String>,
    current: Mutex<Option<String>>,
    seq: AtomicU64,
}

impl std::fmt::Debug for JobRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRecorder").finish_non_exhaustive()
    }
}

impl JobRecorder {
    /// A recorder into `store`, keeping `items`, for runs of `command` (secrets
    /// redacted) logging to `log_path`.
    pub fn new(
        store: Arc<Store>,
        items: ItemRecords,
        command: String,
        log_path: Option<String>,
    ) -> Self {
        JobRecorder {
            store,
            items,
            command,
            log_path,
            current: Mutex::new(None),
            seq: AtomicU64::new(0),
        }
    }

    fn item(
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
        let Some(job) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|_| keep)
        else {
            return;
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) as i64;
        self.store.write(Write::Sql(
            "INSERT INTO job_items (job_id, seq, path, action, status, bytes, reason, error, time_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            vec![
                Value::Text(job),
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
}

impl JobRecorder {
    /// Records a version kept in a backup location, for `blobsync backups`.
    fn kept(&self, original: &str, kept: &str, bytes: u64) {
        let Some(job) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return;
        };
        self.store.write(Write::Sql(
            "INSERT INTO backups (original, kept, job_id, time_ms, size) VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                Value::Text(super::backups::location_key(original)),
                Value::Text(super::backups::location_key(kept)),
                Value::Text(job),
                Value::Integer(now_ms()),
                Value::Integer(bytes as i64),
            ],
        ));
    }
}

impl Observer for JobRecorder {
    fn run_started(&self, run: &RunInfo) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(run.job_id.clone());
        self.seq.store(0, Ordering::Relaxed);
        self.store.write(Write::Sql(
            "INSERT INTO jobs (id, started_ms, command, source, destination, dry_run, status, log_path, pid, shard) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Running', ?7, ?8, ?9)",
            vec![
                Value::Text(run.job_id.clone()),
                Value::Integer(run.started_ms),
                Value::Text(self.command.clone()),
                Value::Text(run.source.clone()),
                Value::Text(run.destination.clone()),
                Value::Integer(run.dry_run as i64),
                self.log_path.clone().map(Value::Text).unwrap_or(Value::Null),
                Value::Integer(std::process::id() as i64),
                run.shard
                    .map(|s| Value::Text(s.to_string()))
                    .unwrap_or(Value::Null),
            ],
        ));
    }

    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Kept {
                original,
                kept,
                bytes,
                ..
            } => self.kept(original, kept, *bytes),
            Event::Done(item) => self.item(
                &item.path,
                item.action.name(),
                if item.error.is_some() {
                    ItemStatus::Failed
                } else {
                    ItemStatus::Success
                },
                item.bytes,
                &item.reason,
                item.error.as_deref(),
            ),
            Event::Failed { path, message } => {
                self.item(path, "list", ItemStatus::Failed, 0, "", Some(message))
            }
            Event::UpToDate { path, reason } | Event::Skipped { path, reason, .. } => {
                self.item(path, "skip", ItemStatus::Skipped, 0, reason, None)
            }
            Event::Excluded {
                side,
                path,
                plugin,
                reason,
            } => {
                let by = if plugin.is_empty() {
                    String::new()
                } else {
                    format!(" by {plugin}")
                };
                let side = side.map_or("both", crate::sync::Side::name);
                self.item(
                    path,
                    "exclude",
                    ItemStatus::Skipped,
                    0,
                    &format!("excluded{by} ({side}): {reason}"),
                    None,
                )
            }
            Event::Planned {
                action,
                source,
                reason,
                bytes,
                ..
            } => self.item(
                source,
                action.name(),
                ItemStatus::Planned,
                *bytes,
                reason,
                None,
            ),
            _ => {}
        }
    }

    fn run_finished(&self, outcome: &RunOutcome) {
        // Fail-open plugins that failed: one item each, named, with the last error.
        for p in &outcome.plugin_failures {
            self.item(
                &p.plugin,
                "plugin",
                ItemStatus::Failed,
                0,
                &format!(
                    "fail-open plugin: {} failed calls (the run went on)",
                    p.count
                ),
                Some(&p.last_error),
            );
        }
        let totals = serde_json::to_string(&outcome.totals).unwrap_or_else(|_| "{}".into());
        self.store.write(Write::Sql(
            "UPDATE jobs SET ended_ms = ?2, status = ?3, totals = ?4, error = ?5 WHERE id = ?1",
            vec![
                Value::Text(outcome.info.job_id.clone()),
                Value::Integer(now_ms()),
                Value::Text(outcome.status.name().to_string()),
                Value::Text(totals),
                outcome
                    .error
                    .as_ref()
                    .map(|e| Value::Text(e.to_string()))
                    .unwrap_or(Value::Null),
            ],
        ));
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.store.flush();
    }
}
