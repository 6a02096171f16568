//! What a run prints: a progress line on a terminal, errors and warnings, dry-run
//! actions, every action with `-v`, and the summary — as text, or as one JSON object per
//! line (`--output-type json`, schema [`JSON_SCHEMA_VERSION`], documented in the README).
//!
//! This file is the [`Console`] observer: what it was asked to show, and when it prints.
//! What it prints is made beside it: `text` (event lines as text), `json` (every JSON
//! object) and `summary` (the text a finished run prints); `crate::terminal_text` makes
//! text safe for a terminal.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::{Event, Observer, Progress, RunInfo, RunOutcome};

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

mod json;
mod summary;
mod text;

pub use crate::terminal_text::shown;
pub use json::{JSON_SCHEMA_VERSION, summary_json};
pub use summary::summary_text;

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
        self.json_line(json::progress(&job, p, (secs * 1000.0) as u64));
    }

    /// An event as text: item errors of a kind past the first few are only counted.
    fn text_event(&self, event: &Event<'_>, verbose: bool) {
        if let Some((verb, path, error)) = text::counted_error(event)
            && !self.first_of_its_kind(verb, path, error)
        {
            return;
        }
        if let Some(lines) = text::lines(event, verbose) {
            self.print(|| lines.iter().for_each(text::Line::write));
        }
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
        if self.verbosity > Verbosity::Quiet
            && let Some(line) = summary::watch_line(outcome)
        {
            outln!("{line}");
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
            self.json_line(json::start(run));
        }
    }

    fn event(&self, event: &Event<'_>) {
        let verbose = self.verbosity >= Verbosity::Verbose;
        match (event, self.mode) {
            (Event::Progress(progress), _) => self.progress(progress),
            (_, OutputMode::Text) => self.text_event(event, verbose),
            (_, OutputMode::Json) => {
                if let Some(value) = json::event(event, verbose) {
                    self.json_line(value)
                }
            }
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
                OutputMode::Json => self.json_line(json::run_error(&error.to_string())),
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
            OutputMode::Json => self.json_line(json::warning(message)),
        }
    }
}
