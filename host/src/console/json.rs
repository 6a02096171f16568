//! The objects `--output-type json` prints, one per line: a run's start, its progress, its
//! events, a run error and the summary (schema [`JSON_SCHEMA_VERSION`], documented in the
//! README). Building them is all this file does; the console decides when to print one.

use serde_json::{Value, json};

use crate::bisync::Which;
use crate::bisync::plan::Conflict;
use crate::endpoint::{Item, SkipKind};
use crate::sync::{Event, Planned, Progress, RunInfo, RunOutcome, Side};

/// The version of the `--output-type json` schema; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// The first object of a run.
pub(super) fn start(run: &RunInfo) -> Value {
    json!({
        "type": "start",
        "schema": JSON_SCHEMA_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
        "job": run.job_id,
        "source": run.source,
        "destination": run.destination,
        "dry_run": run.dry_run,
        "shard": run.shard.map(|s| s.to_string()),
        "time_ms": run.started_ms,
    })
}

/// How far job `job` has come, `elapsed_ms` after it started.
pub(super) fn progress(job: &str, p: &Progress<'_>, elapsed_ms: u64) -> Value {
    let t = p.totals;
    json!({
        "type": "progress",
        "job": job,
        "source_files": t.source_files,
        "destination_files": t.destination_files,
        "up_to_date": t.up_to_date,
        "copied": t.copied,
        "bytes_copied": t.bytes_copied,
        "bytes_moved": t.bytes_moved,
        "bytes_planned": t.bytes_planned,
        "planning": p.planning,
        "moving": p.moving.iter().map(|(path, moved, size)| json!({
            "path": path, "bytes_moved": moved, "size": size,
        })).collect::<Vec<_>>(),
        "deleted": t.deleted,
        "failed": t.failed,
        "elapsed_ms": elapsed_ms,
    })
}

/// The object an event prints, if it prints one: errors, warnings, names that cannot be
/// synced and dry-run actions always; finished items, kept entries, exclusions and other
/// skips only when `verbose` (`-v`). Progress has its own object, [`progress`].
pub(super) fn event(event: &Event<'_>, verbose: bool) -> Option<Value> {
    let value = match event {
        Event::Done(item) if item.error.is_some() || verbose => {
            let mut v = json!({
                "type": if item.error.is_some() { "error" } else { "transfer" },
                "action": item.action.name(),
                "path": item.path,
                "bytes": item.bytes,
                "reason": item.reason,
                "error": item.error,
            });
            if let Some(to) = item.toward {
                v["direction"] = json!(direction(to));
            }
            v
        }
        Event::Conflict(c) => conflict(c),
        Event::Failed { path, message } => json!({
            "type": "error", "action": "list", "path": path, "error": message,
        }),
        Event::Skipped {
            path,
            reason,
            kind: SkipKind::Unsyncable,
        } => json!({
            "type": "skipped", "path": path, "reason": reason, "kind": "not-syncable",
        }),
        Event::Kept {
            path,
            original,
            kept,
            bytes,
        } if verbose => json!({
            "type": "kept", "path": path, "original": original, "kept": kept,
            "bytes": bytes,
        }),
        Event::Warning(message) => warning(message),
        Event::Planned {
            action,
            source,
            destination,
            reason,
            bytes,
            carries,
        } => planned(*action, source, *destination, reason, *bytes, carries),
        Event::Excluded {
            side,
            path,
            plugin,
            reason,
        } if verbose => json!({
            "type": "excluded", "side": side.map_or("both", Side::name), "path": path,
            "plugin": plugin, "reason": reason,
        }),
        Event::Skipped { path, reason, .. } if verbose => json!({
            "type": "skipped", "path": path, "reason": reason,
        }),
        _ => return None,
    };
    Some(value)
}

/// Which way a two-way run's item went: `path1-to-path2` or `path2-to-path1`.
fn direction(toward: Which) -> String {
    format!("{}-to-{}", toward.other().name(), toward.name())
}

/// A two-way run's conflict: both sides' entries, the side that keeps the name, and
/// where the other version is kept (a conflict copy's name), if it is renamed.
fn conflict(c: &Conflict) -> Value {
    let side = |item: &Item| {
        json!({
            "size": item.size,
            "mtime_ns": item.preserved_mtime_ns(),
            "md5": item.md5.map(hex::encode),
        })
    };
    json!({
        "type": "conflict", "path": c.path, "winner": c.winner.name(),
        "reason": c.reason, "kept_as": c.kept_as,
        "path1": side(&c.path1), "path2": side(&c.path2),
    })
}

/// A dry run's action, or for `check` a difference.
fn planned(
    action: Planned,
    source: &str,
    destination: Option<&str>,
    reason: &str,
    bytes: u64,
    carries: &str,
) -> Value {
    let verb = action.name();
    if action.is_difference() {
        return json!({
            "type": "difference", "kind": verb, "path": source,
            "other": destination, "reason": reason,
        });
    }
    // A remove names the entry it removes as the destination.
    if action == Planned::Remove {
        return json!({
            "type": "dry-run", "action": verb, "source": null,
            "destination": source, "bytes": bytes, "reason": reason,
        });
    }
    json!({
        "type": "dry-run", "action": verb, "source": source,
        "destination": destination, "bytes": bytes, "reason": reason,
        "carries": carries,
    })
}

/// Something the user should know that is not a failure.
pub(super) fn warning(message: &str) -> Value {
    json!({ "type": "warning", "message": message })
}

/// The error that ended a run.
pub(super) fn run_error(error: &str) -> Value {
    json!({
        "type": "error", "action": "run", "error": error,
    })
}

/// The JSON summary object.
pub fn summary_json(outcome: &RunOutcome, exit_code: u8) -> Value {
    let mut v = serde_json::to_value(outcome.totals).unwrap_or_else(|_| json!({}));
    v["type"] = json!("summary");
    v["status"] = json!(outcome.status.name());
    v["job"] = json!(outcome.info.job_id);
    v["exit_code"] = json!(exit_code);
    v["dry_run"] = json!(outcome.info.dry_run);
    if let Some(shard) = outcome.info.shard {
        v["shard"] = json!(shard.to_string());
    }
    v["elapsed_ms"] = json!(outcome.elapsed.as_millis() as u64);
    v["plugin_failures_by_plugin"] = json!(outcome.plugin_failures);
    v
}
