//! `blobsync jobs list | show | clean`: past runs, as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use super::args::{JobsCommand, OutputType};

fn time_text(ms: i64) -> String {
    blobsync_plugin::format_rfc3339_ns(ms.saturating_mul(1_000_000))
}

/// Runs `blobsync jobs …`.
pub fn run_jobs(cmd: JobsCommand) -> ExitCode {
    let Some(path) = crate::store::default_path() else {
        eprintln!("error: no data directory (set BLOBSYNC_DATA_DIR)");
        return ExitCode::from(crate::sync::EXIT_USAGE);
    };
    if !path.exists() {
        eprintln!("no jobs recorded yet ({} does not exist)", path.display());
        return ExitCode::SUCCESS;
    }
    let store = match crate::store::Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::sync::EXIT_FAILED);
        }
    };
    let mut out = std::io::stdout().lock();
    let result: Result<(), String> = (|| {
        match cmd {
            JobsCommand::List { limit, output_type } => {
                let jobs = crate::jobs::list(&store, limit).map_err(|e| e.to_string())?;
                match output_type {
                    OutputType::Json => {
                        for j in &jobs {
                            let _ =
                                writeln!(out, "{}", serde_json::to_string(j).unwrap_or_default());
                        }
                    }
                    OutputType::Text => {
                        let _ = writeln!(
                            out,
                            "{:<36}  {:<24}  {:<19}  {:>8} {:>8} {:>7}  SOURCE → DESTINATION",
                            "JOB", "STARTED", "STATUS", "COPIED", "DELETED", "FAILED"
                        );
                        for j in &jobs {
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
                }
            }
            JobsCommand::Show {
                id,
                with_status,
                output_type,
            } => {
                let job = crate::jobs::find(&store, &id).map_err(|e| e.to_string())?;
                let items =
                    crate::jobs::items(&store, &job.id, with_status).map_err(|e| e.to_string())?;
                match output_type {
                    OutputType::Json => {
                        let mut v = serde_json::to_value(&job).unwrap_or_default();
                        v["items"] = serde_json::to_value(&items).unwrap_or_default();
                        let _ = writeln!(out, "{v}");
                    }
                    OutputType::Text => {
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
                            job.totals.source_files,
                            job.totals.destination_files,
                            job.totals.excluded
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
                        let _ = writeln!(
                            out,
                            "\n{:<8} {:<9} {:>10}  PATH  (REASON / ERROR)",
                            "STATUS", "ACTION", "BYTES"
                        );
                        for i in &items {
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
                }
            }
            JobsCommand::Clean { older_than } => {
                let before = older_than.map(|age| {
                    let ms = i64::try_from(age.duration().as_millis()).unwrap_or(i64::MAX);
                    crate::sync::now_ms().saturating_sub(ms)
                });
                let n = crate::jobs::clean(&store, before).map_err(|e| e.to_string())?;
                let _ = writeln!(out, "removed {n} jobs");
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}
