//! What a run prints: a progress line on a terminal, errors and warnings, dry-run
//! actions, every action with `-v`, and the summary — as text, or as one JSON object per
//! line (`--output-type json`, schema [`JSON_SCHEMA_VERSION`], documented in the README).

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use serde_json::json;

use crate::endpoint::SkipKind;
use crate::sync::{Action, Event, Observer, Planned, Progress, RunInfo, RunOutcome, Side, now_ms};

/// `println!` that does not panic when the reader went away (`| head`): a sync goes on.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that does not panic when stderr is closed.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// The version of the `--output-type json` schema; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

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
    /// Errors, warnings, dry-run actions and the summary.
    Normal,
    /// Also every copy, delete and exclusion.
    Verbose,
}

/// How JSON progress objects are spaced.
const JSON_PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The console observer.
pub struct Console {
    mode: OutputMode,
    verbosity: Verbosity,
    /// Show the live progress display (text output on a terminal).
    progress: bool,
    /// Print a status line to stderr this often (`--stats`), when not on a terminal.
    stats: Option<Duration>,
    /// Watch mode: one line per run instead of a summary block.
    watch: bool,
    state: Mutex<State>,
}

/// Item errors of one kind shown before the rest are only counted.
const SHOWN_ALIKE: u64 = 3;

#[derive(Default)]
struct State {
    /// Item errors seen, by kind (the message without the item's path).
    repeated: std::collections::BTreeMap<String, u64>,
    display: Option<crate::progress::LiveDisplay>,
    stats: Option<crate::progress::Every>,
    started: Option<Instant>,
    job: String,
    last_json_progress: Option<Instant>,
}

/// How a console shows a run.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
    /// Text or JSON.
    pub mode: OutputMode,
    /// How much is printed.
    pub verbosity: Verbosity,
    /// stderr is a terminal: a live progress display.
    pub terminal: bool,
    /// `--stats`: a status line this often (on a terminal, the display is live instead).
    pub stats: Option<Duration>,
    /// Watch mode.
    pub watch: bool,
}

impl Console {
    /// A console printing as `options` say.
    pub fn new(options: ConsoleOptions) -> Self {
        let ConsoleOptions {
            mode,
            verbosity,
            terminal,
            stats,
            watch,
        } = options;
        let text = mode == OutputMode::Text && verbosity != Verbosity::Quiet;
        Console {
            mode,
            verbosity,
            progress: terminal && text && !watch,
            stats: stats.filter(|_| text && !terminal),
            watch,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an item error; true for the first few of its kind, which are shown (the
    /// rest are summed up at the end: "… and 31 more like this").
    fn first_of_its_kind(&self, verb: &str, path: &str, error: &str) -> bool {
        let kind = format!("{verb} …: {}", error.replace(path, "…"));
        let mut state = self.state();
        let seen = state.repeated.entry(kind).or_default();
        *seen += 1;
        *seen <= SHOWN_ALIKE
    }

    /// Prints without tearing the progress display.
    fn print(&self, f: impl FnOnce()) {
        let state = self.state();
        match &state.display {
            Some(display) => display.suspend(f),
            None => {
                drop(state);
                f()
            }
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
    }

    fn progress(&self, p: &Progress<'_>) {
        let mut state = self.state();
        if let Some(display) = &mut state.display {
            display.update(p);
            return;
        }
        if let Some(line) = state.stats.as_mut().and_then(|every| every.due(p)) {
            drop(state);
            errln!("{line}");
            return;
        }
        if self.mode != OutputMode::Json
            || state
                .last_json_progress
                .is_some_and(|at| at.elapsed() < JSON_PROGRESS_EVERY)
        {
            return;
        }
        state.last_json_progress = Some(Instant::now());
        let secs = state.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let job = state.job.clone();
        drop(state);
        let t = p.totals;
        self.json_line(json!({
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
            "elapsed_ms": (secs * 1000.0) as u64,
        }));
    }

    /// The summary of a finished run: a block of text, or a JSON object.
    fn summary(&self, outcome: &RunOutcome) {
        let code = outcome.exit_code();
        let mut out = std::io::stdout().lock();
        match self.mode {
            OutputMode::Text => {
                let _ = write!(out, "{}", summary_text(outcome));
                let _ = writeln!(out, "  {:<32}{}", "Job:", outcome.info.job_id);
                if let Some(shard) = outcome.info.shard {
                    let _ = writeln!(out, "  {:<32}{shard}", "Shard:");
                }
            }
            OutputMode::Json => {
                let _ = writeln!(out, "{}", summary_json(outcome, code));
            }
        }
        let _ = out.flush();
    }

    /// One line per run in watch mode.
    fn watch_line(&self, outcome: &RunOutcome) {
        if self.mode == OutputMode::Json {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                summary_json(outcome, outcome.exit_code())
            );
            return;
        }
        let t = &outcome.totals;
        let changed = t.copied + t.deleted + t.failed > 0;
        let full = outcome.info.scopes.is_empty();
        if self.verbosity > Verbosity::Quiet && (changed || full) {
            let now = blobsync_plugin::format_rfc3339_ns(now_ms() * 1_000_000);
            outln!(
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
            );
        }
    }
}

impl Observer for Console {
    fn run_started(&self, run: &RunInfo) {
        {
            let mut state = self.state();
            state.started = Some(Instant::now());
            state.job = run.job_id.clone();
            state.last_json_progress = Some(Instant::now());
            if self.progress {
                state.display = Some(crate::progress::LiveDisplay::new());
            }
            state.stats = self.stats.map(crate::progress::Every::new);
        }
        if self.mode == OutputMode::Json {
            self.json_line(json!({
                "type": "start",
                "schema": JSON_SCHEMA_VERSION,
                "version": env!("CARGO_PKG_VERSION"),
                "job": run.job_id,
                "source": run.source,
                "destination": run.destination,
                "dry_run": run.dry_run,
                "shard": run.shard.map(|s| s.to_string()),
                "time_ms": run.started_ms,
            }));
        }
    }

    fn event(&self, event: &Event<'_>) {
        let verbose = self.verbosity >= Verbosity::Verbose;
        match (event, self.mode) {
            (Event::Progress(progress), _) => self.progress(progress),
            (Event::Done(item), OutputMode::Text) => {
                let verb = item.action.name();
                if let Some(error) = &item.error
                    && !self.first_of_its_kind(verb, &item.path, error)
                {
                    return;
                }
                self.print(|| match &item.error {
                    Some(error) => {
                        errln!("error: {verb} {}: {}", shown(&item.path), shown(error))
                    }
                    None if verbose || item.action == Action::Rehydrate => {
                        outln!("{verb}: {} ({})", shown(&item.path), shown(&item.reason))
                    }
                    None => {}
                })
            }
            (Event::Done(item), OutputMode::Json) if item.error.is_some() || verbose => self
                .json_line(json!({
                    "type": if item.error.is_some() { "error" } else { "transfer" },
                    "action": item.action.name(),
                    "path": item.path,
                    "bytes": item.bytes,
                    "reason": item.reason,
                    "error": item.error,
                })),
            (Event::Failed { path, message }, OutputMode::Text)
                if self.first_of_its_kind("list", path, message) =>
            {
                self.print(|| errln!("error: {}: {}", shown(path), shown(message)))
            }
            (Event::Failed { path, message }, OutputMode::Json) => self.json_line(json!({
                "type": "error", "action": "list", "path": path, "error": message,
            })),
            (
                Event::Skipped {
                    path,
                    reason,
                    kind: SkipKind::Unsyncable,
                },
                OutputMode::Text,
            ) => self.print(|| errln!("warning: {}: {}", shown(path), shown(reason))),
            (
                Event::Skipped {
                    path,
                    reason,
                    kind: SkipKind::Unsyncable,
                },
                OutputMode::Json,
            ) => self.json_line(json!({
                "type": "skipped", "path": path, "reason": reason, "kind": "not-syncable",
            })),
            (
                Event::Kept {
                    path,
                    original,
                    kept,
                    bytes,
                },
                mode,
            ) if verbose => match mode {
                OutputMode::Text => {
                    self.print(|| outln!("kept: {} (as {})", shown(path), shown(kept)))
                }
                OutputMode::Json => self.json_line(json!({
                    "type": "kept", "path": path, "original": original, "kept": kept,
                    "bytes": bytes,
                })),
            },
            (Event::Warning(message), OutputMode::Text) => {
                self.print(|| errln!("warning: {}", shown(message)))
            }
            (Event::Warning(message), OutputMode::Json) => {
                self.json_line(json!({ "type": "warning", "message": message }))
            }
            (
                Event::Planned {
                    action,
                    source,
                    destination,
                    reason,
                    bytes,
                    carries,
                },
                mode,
            ) => {
                let verb = action.name();
                match mode {
                    OutputMode::Text if action.is_difference() => self.print(|| {
                        let what = match action {
                            Planned::OnlyAtSource => "only at the source",
                            Planned::OnlyAtDestination => "only at the destination",
                            _ => "differs",
                        };
                        match action {
                            Planned::Differs => {
                                outln!("{what}: {} ({})", shown(source), shown(reason))
                            }
                            _ => outln!("{what}: {}", shown(source)),
                        }
                    }),
                    OutputMode::Json if action.is_difference() => self.json_line(json!({
                        "type": "difference", "kind": verb, "path": source,
                        "other": destination, "reason": reason,
                    })),
                    OutputMode::Text => self.print(|| {
                        match destination {
                            Some(to) => outln!(
                                "DRYRUN: {verb} {} to {} ({})",
                                shown(source),
                                shown(to),
                                shown(reason)
                            ),
                            None => {
                                outln!("DRYRUN: {verb} {} ({})", shown(source), shown(reason))
                            }
                        }
                        if verbose && !carries.is_empty() {
                            outln!("  it would carry: {}", shown(carries));
                        }
                    }),
                    // A remove names the entry it removes as the destination.
                    OutputMode::Json if *action == Planned::Remove => self.json_line(json!({
                        "type": "dry-run", "action": verb, "source": null,
                        "destination": source, "bytes": bytes, "reason": reason,
                    })),
                    OutputMode::Json => self.json_line(json!({
                        "type": "dry-run", "action": verb, "source": source,
                        "destination": destination, "bytes": bytes, "reason": reason,
                        "carries": carries,
                    })),
                }
            }
            (
                Event::Excluded {
                    side,
                    path,
                    plugin,
                    reason,
                },
                mode,
            ) if verbose => {
                let side = side.map_or("both", Side::name);
                match mode {
                    OutputMode::Text => {
                        let by = if plugin.is_empty() {
                            String::new()
                        } else {
                            format!(" by {}", shown(plugin))
                        };
                        self.print(|| {
                            outln!("excluded{by} ({side}): {}: {}", shown(path), shown(reason))
                        })
                    }
                    OutputMode::Json => self.json_line(json!({
                        "type": "excluded", "side": side, "path": path, "plugin": plugin,
                        "reason": reason,
                    })),
                }
            }
            (Event::Skipped { path, reason, .. }, mode) if verbose => match mode {
                OutputMode::Text => {
                    self.print(|| outln!("skipped: {} ({})", shown(path), shown(reason)))
                }
                OutputMode::Json => self.json_line(json!({
                    "type": "skipped", "path": path, "reason": reason,
                })),
            },
            _ => {}
        }
    }

    fn run_finished(&self, outcome: &RunOutcome) {
        if let Some(mut display) = self.state().display.take() {
            display.finish();
        }
        let repeated = std::mem::take(&mut self.state().repeated);
        for (kind, seen) in repeated {
            if seen > SHOWN_ALIKE {
                errln!(
                    "error: … and {} more like this: {}",
                    seen - SHOWN_ALIKE,
                    shown(&kind)
                );
            }
        }
        if let Some(error) = &outcome.error {
            match self.mode {
                OutputMode::Text => errln!("error: {}", shown(&error.to_string())),
                OutputMode::Json => self.json_line(json!({
                    "type": "error", "action": "run", "error": error.to_string(),
                })),
            }
        }
        if self.watch {
            self.watch_line(outcome);
        } else {
            self.summary(outcome);
        }
    }

    fn notice(&self, message: &str) {
        match self.mode {
            OutputMode::Text if self.verbosity > Verbosity::Quiet => {
                errln!("{}", shown(message))
            }
            OutputMode::Text => {}
            OutputMode::Json => self.json_line(json!({ "type": "warning", "message": message })),
        }
    }
}

/// Text as it is safe to print on a terminal: control characters (an escape sequence in
/// a blob name could clear the screen or retitle the window) are shown escaped, `\u{1b}`.
/// JSON output escapes them itself.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// The text block printed at the end of a `check`.
fn check_text(outcome: &RunOutcome) -> String {
    let t = &outcome.totals;
    let mut s = String::from("\nCheck (nothing was changed)\n");
    let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<32}{v}\n"));
    line("Files at the source:", t.source_files.to_string());
    line("Files at the destination:", t.destination_files.to_string());
    line("Excluded by filters:", t.excluded.to_string());
    line("Matching:", t.up_to_date.to_string());
    line("Only at the source:", t.only_at_source.to_string());
    line(
        "Only at the destination:",
        t.only_at_destination.to_string(),
    );
    line("Differing:", t.differ.to_string());
    if t.archived > 0 {
        line("Archived, not compared:", t.archived.to_string());
    }
    line("Failed:", t.failed.to_string());
    line(
        "Elapsed:",
        format!("{:.2} s", outcome.elapsed.as_secs_f64()),
    );
    line("Final status:", outcome.status.name().to_string());
    s
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
    let mut s = String::new();
    let title = if dry_run {
        "Dry run (nothing was changed)"
    } else {
        "Summary"
    };
    s.push_str(&format!("\n{title}\n"));
    let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<32}{v}\n"));
    line("Files at the source:", t.source_files.to_string());
    line("Files at the destination:", t.destination_files.to_string());
    line("Excluded by filters:", t.excluded.to_string());
    if t.symlinks_skipped > 0 {
        line("Symbolic links skipped:", t.symlinks_skipped.to_string());
    }
    if t.special_skipped > 0 {
        line("Special files skipped:", t.special_skipped.to_string());
    }
    if t.unsyncable > 0 {
        line("Not syncable (names):", t.unsyncable.to_string());
    }
    line("Up to date (skipped):", t.up_to_date.to_string());
    line(
        if dry_run { "Would copy:" } else { "Copied:" },
        format!("{} ({})", t.copied, HumanBytes(t.bytes_copied)),
    );
    line(
        if dry_run { "Would delete:" } else { "Deleted:" },
        t.deleted.to_string(),
    );
    if t.backed_up > 0 {
        line(
            if dry_run {
                "Would keep in backup:"
            } else {
                "Kept in backup:"
            },
            t.backed_up.to_string(),
        );
    }
    if t.updated > 0 {
        line(
            if dry_run {
                "Would update properties:"
            } else {
                "Properties updated:"
            },
            t.updated.to_string(),
        );
    }
    if t.archived > 0 {
        line("Archived, skipped:", t.archived.to_string());
    }
    if t.rehydrating > 0 {
        line("Rehydration requested:", t.rehydrating.to_string());
    }
    line("Failed:", t.failed.to_string());
    if t.retries > 0 {
        line("Retries:", t.retries.to_string());
    }
    if t.plugin_failures > 0 {
        let by: Vec<String> = outcome
            .plugin_failures
            .iter()
            .map(|p| format!("{}: {}", shown(&p.plugin), p.count))
            .collect();
        line(
            "Plugin failures (fail-open):",
            format!("{} ({})", t.plugin_failures, by.join(", ")),
        );
    }
    line(
        "Elapsed:",
        format!("{secs:.2} s ({}/s)", HumanBytes(rate as u64)),
    );
    line("Final status:", outcome.status.name().to_string());
    s
}

/// The JSON summary object.
pub fn summary_json(outcome: &RunOutcome, exit_code: u8) -> serde_json::Value {
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
