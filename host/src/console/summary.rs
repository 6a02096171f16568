//! The text a finished run prints: the summary block (for `check`, the check block) and,
//! in watch mode, one line per run.

use indicatif::HumanBytes;

use crate::sync::{RunOutcome, Totals, now_ms};
use crate::terminal_text::shown;

/// The line a run prints in watch mode: when the run was, what it covered (a full sync,
/// or the paths that changed) and what it did. `None` for a run over changed paths that
/// changed nothing.
pub(super) fn watch_line(outcome: &RunOutcome) -> Option<String> {
    let t = &outcome.totals;
    let changed = t.copied + t.deleted + t.failed > 0;
    let full = outcome.info.scopes.is_empty();
    if !(changed || full) {
        return None;
    }
    let now = blobsync_plugin::format_rfc3339_ns(now_ms() * 1_000_000);
    Some(format!(
        "{now} {}: {} copied, {} deleted, {} failed, {} up to date ({:.2} s)",
        if full {
            "full sync".to_string()
        } else {
            shown(&outcome.info.scopes.join(", ")).into_owned()
        },
        t.copied,
        t.deleted,
        t.failed,
        t.up_to_date,
        outcome.elapsed.as_secs_f64()
    ))
}

/// One line of a block: its label and its value.
type Row = (&'static str, String);

/// A titled block of lines, the values in a column after the labels.
fn block(title: &str, rows: &[Row]) -> String {
    let mut s = format!("\n{title}\n");
    for (k, v) in rows {
        s.push_str(&format!("  {k:<32}{v}\n"));
    }
    s
}

/// The text block printed at the end of a `check`.
fn check_text(outcome: &RunOutcome) -> String {
    let t = &outcome.totals;
    let mut rows: Vec<Row> = vec![
        ("Files at the source:", t.source_files.to_string()),
        ("Files at the destination:", t.destination_files.to_string()),
        ("Excluded by filters:", t.excluded.to_string()),
        ("Matching:", t.up_to_date.to_string()),
        ("Only at the source:", t.only_at_source.to_string()),
        (
            "Only at the destination:",
            t.only_at_destination.to_string(),
        ),
        ("Differing:", t.differ.to_string()),
    ];
    if t.archived > 0 {
        rows.push(("Archived, not compared:", t.archived.to_string()));
    }
    rows.push(("Failed:", t.failed.to_string()));
    rows.push((
        "Elapsed:",
        format!("{:.2} s", outcome.elapsed.as_secs_f64()),
    ));
    rows.push(("Final status:", outcome.status.name().to_string()));
    block("Check (nothing was changed)", &rows)
}

/// The text block printed at the end of a run.
pub fn summary_text(outcome: &RunOutcome) -> String {
    if outcome.info.check {
        return check_text(outcome);
    }
    let t = &outcome.totals;
    let dry_run = outcome.info.dry_run;
    let secs = outcome.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        t.bytes_copied as f64 / secs
    } else {
        0.0
    };
    let title = if dry_run {
        "Dry run (nothing was changed)"
    } else {
        "Summary"
    };
    let mut rows = listed_rows(t);
    rows.extend(done_rows(t, dry_run));
    rows.push(("Failed:", t.failed.to_string()));
    if t.retries > 0 {
        rows.push(("Retries:", t.retries.to_string()));
    }
    if t.plugin_failures > 0 {
        let by: Vec<String> = outcome
            .plugin_failures
            .iter()
            .map(|p| format!("{}: {}", shown(&p.plugin), p.count))
            .collect();
        rows.push((
            "Plugin failures (fail-open):",
            format!("{} ({})", t.plugin_failures, by.join(", ")),
        ));
    }
    rows.push((
        "Elapsed:",
        format!("{secs:.2} s ({}/s)", HumanBytes(rate as u64)),
    ));
    rows.push(("Final status:", outcome.status.name().to_string()));
    block(title, &rows)
}

/// What was listed: files on each side, and what was left out (the kinds of skip only
/// when there were some).
fn listed_rows(t: &Totals) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![
        ("Files at the source:", t.source_files.to_string()),
        ("Files at the destination:", t.destination_files.to_string()),
        ("Excluded by filters:", t.excluded.to_string()),
    ];
    if t.symlinks_skipped > 0 {
        rows.push(("Symbolic links skipped:", t.symlinks_skipped.to_string()));
    }
    if t.special_skipped > 0 {
        rows.push(("Special files skipped:", t.special_skipped.to_string()));
    }
    if t.unsyncable > 0 {
        rows.push(("Not syncable (names):", t.unsyncable.to_string()));
    }
    rows
}

/// What the run did (or, for a dry run, would do): copies, deletes, and the rarer
/// backups, property updates and archived blobs only when there were some.
fn done_rows(t: &Totals, dry_run: bool) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![
        ("Up to date (skipped):", t.up_to_date.to_string()),
        (
            if dry_run { "Would copy:" } else { "Copied:" },
            format!("{} ({})", t.copied, HumanBytes(t.bytes_copied)),
        ),
        (
            if dry_run { "Would delete:" } else { "Deleted:" },
            t.deleted.to_string(),
        ),
    ];
    if t.backed_up > 0 {
        rows.push((
            if dry_run {
                "Would keep in backup:"
            } else {
                "Kept in backup:"
            },
            t.backed_up.to_string(),
        ));
    }
    if t.updated > 0 {
        rows.push((
            if dry_run {
                "Would update properties:"
            } else {
                "Properties updated:"
            },
            t.updated.to_string(),
        ));
    }
    if t.archived > 0 {
        rows.push(("Archived, skipped:", t.archived.to_string()));
    }
    if t.rehydrating > 0 {
        rows.push(("Rehydration requested:", t.rehydrating.to_string()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{RunControl, RunInfo, Status, Stop};

    fn outcome(totals: Totals, dry_run: bool, check: bool) -> RunOutcome {
        RunOutcome {
            info: RunInfo {
                job_id: "job".into(),
                source: "src".into(),
                destination: "dst".into(),
                dry_run,
                check,
                scopes: Vec::new(),
                started_ms: 0,
                shard: None,
                control: RunControl::new(Stop::new()),
            },
            status: Status::CompletedWithErrors,
            totals,
            elapsed: std::time::Duration::from_millis(1500),
            error: None,
            plugin_failures: Vec::new(),
        }
    }

    #[test]
    fn a_dry_run_summary_shows_the_rare_lines_only_when_they_count() {
        let totals = Totals {
            source_files: 3,
            copied: 2,
            bytes_copied: 3000,
            backed_up: 1,
            failed: 1,
            ..Totals::default()
        };
        assert_eq!(
            summary_text(&outcome(totals, true, false)),
            "\nDry run (nothing was changed)\n\
             \x20 Files at the source:            3\n\
             \x20 Files at the destination:       0\n\
             \x20 Excluded by filters:            0\n\
             \x20 Up to date (skipped):           0\n\
             \x20 Would copy:                     2 (2.93 KiB)\n\
             \x20 Would delete:                   0\n\
             \x20 Would keep in backup:           1\n\
             \x20 Failed:                         1\n\
             \x20 Elapsed:                        1.50 s (1.95 KiB/s)\n\
             \x20 Final status:                   CompletedWithErrors\n"
        );
    }

    #[test]
    fn a_check_has_its_own_block() {
        let totals = Totals {
            differ: 4,
            ..Totals::default()
        };
        let text = summary_text(&outcome(totals, true, true));
        assert!(
            text.starts_with("\nCheck (nothing was changed)\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  Differing:                      4\n"),
            "{text}"
        );
        assert!(!text.contains("Archived"), "{text}");
    }
}
