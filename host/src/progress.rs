//! How far a run has come, as people read it: bytes moved of what is planned so far, the
//! percentage, the rate and the time left; a line per large file while it moves; listing
//! counts while listing. On a terminal it is a live display on stderr; elsewhere a plain
//! status line now and then (`--stats`, and the job log every minute).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::Progress;

/// One status line: `1.2 GiB / 3.4 GiB+ (35%) · 12.3 MiB/s · 3m 10s left · …`. While the
/// plan still grows (listing goes on), the planned size carries a `+` and the time left
/// is for what is planned so far.
pub fn status_line(p: &Progress<'_>, elapsed: Duration) -> String {
    let t = p.totals;
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = t.bytes_moved as f64 / secs;
    let growing = if p.planning { "+" } else { "" };
    let mut parts = Vec::new();
    if t.bytes_planned > 0 {
        let percent = (t.bytes_moved as f64 * 100.0 / t.bytes_planned as f64).min(100.0);
        parts.push(format!(
            "{} / {}{growing} ({percent:.0}%)",
            HumanBytes(t.bytes_moved),
            HumanBytes(t.bytes_planned)
        ));
        parts.push(format!("{}/s", HumanBytes(rate as u64)));
        if rate > 0.0 && t.bytes_planned > t.bytes_moved {
            let left = (t.bytes_planned - t.bytes_moved) as f64 / rate;
            parts.push(format!(
                "{}{growing} left",
                humantime::format_duration(Duration::from_secs(left.ceil() as u64))
            ));
        }
    }
    parts.push(format!("{} copied", t.copied));
    parts.push(format!("{} up to date", t.up_to_date));
    if t.deleted > 0 {
        parts.push(format!("{} deleted", t.deleted));
    }
    if t.failed > 0 {
        parts.push(format!("{} failed", t.failed));
    }
    parts.push(format!(
        "listed {} source / {} destination",
        t.source_files, t.destination_files
    ));
    if p.planning {
        parts.push("listing".into());
    }
    parts.join(" · ")
}

/// One large file's line: `  big.iso: 512 MiB / 2.0 GiB (25%)`.
fn file_line(path: &str, moved: u64, size: u64) -> String {
    let percent = if size > 0 {
        moved as f64 * 100.0 / size as f64
    } else {
        100.0
    };
    format!(
        "{}: {} / {} ({percent:.0}%)",
        crate::terminal_text::shown(path),
        HumanBytes(moved),
        HumanBytes(size)
    )
}

/// The live display on a terminal: the run's line, and one per large file moving.
pub struct LiveDisplay {
    multi: MultiProgress,
    run: ProgressBar,
    files: HashMap<String, ProgressBar>,
    started: Instant,
}

impl LiveDisplay {
    /// A display drawing on stderr a few times a second.
    pub fn new() -> LiveDisplay {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        let run = multi.add(ProgressBar::new_spinner());
        run.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        LiveDisplay {
            multi,
            run,
            files: HashMap::new(),
            started: Instant::now(),
        }
    }

    /// Shows `p`.
    pub fn update(&mut self, p: &Progress<'_>) {
        self.run.set_message(status_line(p, self.started.elapsed()));
        self.run.tick();
        let moving: HashMap<&str, (u64, u64)> = p
            .moving
            .iter()
            .map(|(path, moved, size)| (path.as_str(), (*moved, *size)))
            .collect();
        self.files.retain(|path, bar| {
            let keep = moving.contains_key(path.as_str());
            if !keep {
                bar.finish_and_clear();
            }
            keep
        });
        for (path, (moved, size)) in moving {
            let bar = self.files.entry(path.to_string()).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            });
            bar.set_message(file_line(path, moved, size));
        }
    }

    /// Runs `f` (which prints) without tearing the display.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Clears the display.
    pub fn finish(&mut self) {
        for (_, bar) in self.files.drain() {
            bar.finish_and_clear();
        }
        self.run.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Default for LiveDisplay {
    fn default() -> Self {
        LiveDisplay::new()
    }
}

/// Status lines at an interval (`--stats`, the job log): `due` says when one is owed.
#[derive(Debug)]
pub struct Every {
    interval: Duration,
    last: Instant,
    started: Instant,
}

impl Every {
    /// The first line is owed one `interval` after now.
    pub fn new(interval: Duration) -> Every {
        let now = Instant::now();
        Every {
            interval,
            last: now,
            started: now,
        }
    }

    /// The status line, if one is owed now.
    pub fn due(&mut self, p: &Progress<'_>) -> Option<String> {
        if self.last.elapsed() < self.interval {
            return None;
        }
        self.last = Instant::now();
        Some(status_line(p, self.started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Totals;

    #[test]
    fn the_line_says_bytes_percent_rate_and_time_left_and_marks_a_growing_plan() {
        let totals = Totals {
            bytes_planned: 400 << 20,
            bytes_moved: 100 << 20,
            copied: 3,
            up_to_date: 7,
            source_files: 12,
            destination_files: 9,
            ..Totals::default()
        };
        let growing = Progress {
            totals: &totals,
            planning: true,
            moving: &[],
        };
        let line = status_line(&growing, Duration::from_secs(10));
        assert!(line.starts_with("100.00 MiB / 400.00 MiB+ (25%)"), "{line}");
        assert!(line.contains("10.00 MiB/s"), "{line}");
        assert!(line.contains("30s+ left"), "{line}");
        assert!(line.contains("listed 12 source / 9 destination"), "{line}");
        let done = Progress {
            planning: false,
            ..growing
        };
        let line = status_line(&done, Duration::from_secs(10));
        assert!(
            line.contains("400.00 MiB (25%)") && line.contains("30s left"),
            "{line}"
        );
        assert!(!line.contains("listing"), "{line}");
        assert_eq!(
            file_line("big.iso", 1 << 30, 4 << 30),
            "big.iso: 1.00 GiB / 4.00 GiB (25%)"
        );
    }
}
