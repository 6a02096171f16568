//! `blobsync jobs list | show | clean`: past runs, as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use super::args::{JobsCommand, OutputType};
use crate::jobs::{ItemRow, JobRow, StatusFilter};
use crate::store::Store;
use crate::units::Span;

fn time_text(ms: i64) -> String {
    blobsync_plugin::format_rfc3339_ns(ms.saturating_mul(1_000_000))
}

/// Runs `blobsync jobs …`.
pub fn run_jobs(cmd: JobsCommand, env: &super::Environment) -> ExitCode {
    let Some(path) = env.database() else {
        eprintln!("error: no data directory (set BLOBSYNC_DATA_DIR)");
        return ExitCode::from(crate::sync::EXIT_USAGE);
    };
    if !path.exists() {
        eprintln!("no jobs recorded yet ({} does not exist)", path.display());
        return ExitCode::SUCCESS;
    }
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::sync::EXIT_FAILED);
        }
    };
    let mut out = std::io::stdout().lock();
    let result = match cmd {
        JobsCommand::List { limit, output_type } => list(&store, limit, output_type, &mut out),
        JobsCommand::Show {
            id,
            with_status,
            output_type,
        } => show(&store, &id, with_status, output_type, &mut out),
        JobsCommand::Clean { older_than } => clean(&store, older_than, &mut out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}

/// `jobs list`: the latest `limit` jobs, one JSON object or one table row each.
fn list(
    store: &Store,
    limit: usize,
    output_type: OutputType,
    out: &mut impl Write,
) -> Result<(), String> {
    let jobs = crate::jobs::list(store, limit).map_err(|e| e.to_string())?;
    match output_type {
        OutputType::Json => {
            for j in &jobs {
                let _ = writeln!(out, "{}", serde_json::to_string(j).unwrap_or_default());
            }
        }
        OutputType::Text => list_text(&jobs, out),
    }
    Ok(())
}

/// The table `jobs list` prints.
fn list_text(jobs: &[JobRow], out: &mut impl Write) {
    let _ = writeln!(
        out,
        "{:<36}  {:<24}  {:<19}  {:>8} {:>8} {:>7}  SOURCE → DESTINATION",
        "JOB", "STARTED", "STATUS", "COPIED", "DELETED", "FAILED"
    );
    for j in jobs {
        let dry = if j.dry_run { " (dry run)" } else { "" };
        let shard = j
            .shard
            .as_ref()
            .map(|s| format!(" (shard {s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<36}  {:<24}  {:<19}  {:>8} {:>8} {:>7}  {} → {}{dry}{shard}",
            j.id,
            time_text(j.started_ms),
            j.status,
            j.totals.copied,
            j.totals.deleted,
            j.totals.failed,
            j.source,
            j.destination
        );
    }
}

/// `jobs show`: one job (found by a prefix of its id) and its items with `with_status`.
fn show(
    store: &Store,
    id: &str,
    with_status: StatusFilter,
    output_type: OutputType,
    out: &mut impl Write,
) -> Result<(), String> {
    let job = crate::jobs::find(store, id).map_err(|e| e.to_string())?;
    let items = crate::jobs::items(store, &job.id, with_status).map_err(|e| e.to_string())?;
    match output_type {
        OutputType::Json => {
            let mut v = serde_json::to_value(&job).unwrap_or_default();
            v["items"] = serde_json::to_value(&items).unwrap_or_default();
            let _ = writeln!(out, "{v}");
        }
        OutputType::Text => {
            show_job_text(&job, out);
            show_items_text(&items, out);
        }
    }
    Ok(())
}

/// What `jobs show` prints about the job itself, one field a line.
fn show_job_text(job: &JobRow, out: &mut impl Write) {
    let ended = job.ended_ms.map(time_text).unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "Job:          {}", job.id);
    let _ = writeln!(out, "Status:       {}", job.status);
    let _ = writeln!(out, "Command:      {}", job.command);
    let _ = writeln!(out, "Source:       {}", job.source);
    let _ = writeln!(out, "Destination:  {}", job.destination);
    if let Some(shard) = &job.shard {
        let _ = writeln!(out, "Shard:        {shard}");
    }
    let _ = writeln!(out, "Started:      {}", time_text(job.started_ms));
    let _ = writeln!(out, "Ended:        {ended}");
    let _ = writeln!(
        out,
        "Files:        {} at the source, {} at the destination, {} excluded",
        job.totals.source_files, job.totals.destination_files, job.totals.excluded
    );
    let _ = writeln!(
        out,
        "Result:       {} copied ({} bytes), {} up to date, {} deleted, {} failed",
        job.totals.copied,
        job.totals.bytes_copied,
        job.totals.up_to_date,
        job.totals.deleted,
        job.totals.failed
    );
    if let Some(e) = &job.error {
        let _ = writeln!(out, "Error:        {e}");
    }
    if let Some(log) = &job.log_path {
        let _ = writeln!(out, "Log:          {log}");
    }
}

/// The table of items `jobs show` prints after the job.
fn show_items_text(items: &[ItemRow], out: &mut impl Write) {
    let _ = writeln!(
        out,
        "\n{:<8} {:<9} {:>10}  PATH  (REASON / ERROR)",
        "STATUS", "ACTION", "BYTES"
    );
    for i in items {
        let detail = match &i.error {
            Some(e) if !i.reason.is_empty() => format!("{} / {e}", i.reason),
            Some(e) => e.clone(),
            None => i.reason.clone(),
        };
        let _ = writeln!(
            out,
            "{:<8} {:<9} {:>10}  {}  ({detail})",
            i.status, i.action, i.bytes, i.path
        );
    }
}

/// `jobs clean`: removes the finished jobs that started more than `older_than` ago, or
/// every finished job.
fn clean(store: &Store, older_than: Option<Span>, out: &mut impl Write) -> Result<(), String> {
    let before = older_than.map(|age| {
        let ms = i64::try_from(age.duration().as_millis()).unwrap_or(i64::MAX);
        crate::sync::now_ms().saturating_sub(ms)
    });
    let n = crate::jobs::clean(store, before).map_err(|e| e.to_string())?;
    let _ = writeln!(out, "removed {n} jobs");
    Ok(())
}
