//! An example audit hook for blobsync.
//!
//! Appends one JSON object per line to the hook's output file: one `"event"` record for
//! every upload, download or delete (successful or not; in a two-way sync with its
//! `direction`), one `"conflict"` record for every conflict a two-way sync settled, and
//! one `"run"` record when the run ends. It is a two-way hook (`export_two_way_hook!`),
//! so it hears directions and conflicts; in a one-way sync `direction` is `null`. The hook has no file system access of its own: the manifest grants it an
//! append-only output file with `output = "…"`, and it writes through the host.
//!
//! Config: `label` (optional) is copied into every record, e.g. a team or system name.
//!
//! ```json
//! {"record":"event","label":"web","path":"index.html","action":"upload","direction":null,"outcome":"success","bytes":1024,"md5":"…","reason":"not at the destination","error":null,"time_ms":1700000000000}
//! {"record":"conflict","label":"web","path":"a.txt","winner":"path2","kept_as":"a.conflict-path1-20261207T101500.txt","reason":"…","path1":{"size":10,…},"path2":{…},"time_ms":…}
//! {"record":"run","label":"web","job":"…","status":"completed","copied":1,"deleted":0,"failed":0,"bytes":1024,…}
//! ```

use blobsync_plugin::Config;
use blobsync_plugin::hook::{
    self, Direction, Event, EventAction, Facts, Hook, Outcome, RunStatus, SettledConflict, Summary,
};
use serde_json::json;

struct Audit {
    label: Option<String>,
    write_errors: u64,
}

impl Audit {
    fn write(&mut self, record: serde_json::Value) {
        if let Err(message) = hook::write_line(&record.to_string()) {
            self.write_errors += 1;
            if self.write_errors == 1 {
                blobsync_plugin::log::error(&format!("audit records are being lost: {message}"));
            }
        }
    }
}

impl Hook for Audit {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["label"])?;
        Ok(Audit {
            label: config.get("label").map(String::from),
            write_errors: 0,
        })
    }

    fn on_event(&mut self, e: &Event) {
        self.on_directed_event(e, None);
    }

    fn on_directed_event(&mut self, e: &Event, direction: Option<Direction>) {
        let action = match e.action {
            EventAction::Upload => "upload",
            EventAction::Download => "download",
            EventAction::Delete => "delete",
        };
        let outcome = match e.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        };
        let record = json!({
            "record": "event",
            "label": self.label,
            "path": e.path,
            "action": action,
            "direction": direction.map(Direction::name),
            "outcome": outcome,
            "bytes": e.bytes,
            "md5": e.md5_hex(),
            "reason": e.reason,
            "error": e.error,
            "time_ms": e.time_ms,
        });
        self.write(record);
    }

    fn on_conflict(&mut self, c: &SettledConflict) {
        let facts = |f: &Facts| {
            json!({
                "size": f.size,
                "mtime_ns": f.mtime_ns,
                "md5": f.md5.as_ref().map(|d| hex(d)),
            })
        };
        let record = json!({
            "record": "conflict",
            "label": self.label,
            "path": c.path,
            "winner": c.winner.name(),
            "kept_as": c.kept_as,
            "reason": c.reason,
            "path1": facts(&c.path1),
            "path2": facts(&c.path2),
            "time_ms": c.time_ms,
        });
        self.write(record);
    }

    fn on_complete(&mut self, s: &Summary) {
        let status = match s.status {
            RunStatus::Completed => "completed",
            RunStatus::CompletedWithErrors => "completed-with-errors",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        };
        let record = json!({
            "record": "run",
            "label": self.label,
            "job": s.job_id,
            "source": s.source,
            "destination": s.destination,
            "dry_run": s.dry_run,
            "status": status,
            "source_files": s.source_files,
            "destination_files": s.destination_files,
            "copied": s.copied,
            "skipped": s.skipped,
            "deleted": s.deleted,
            "failed": s.failed,
            "bytes": s.bytes_transferred,
            "elapsed_ms": s.elapsed_ms,
            "lost_records": self.write_errors,
        });
        self.write(record);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

blobsync_plugin::export_two_way_hook!(Audit);
