//! Runs read from `--output-type json`: the events and the summary of one run, so tests
//! assert what happened (counts, statuses, which paths were copied, deleted, skipped) and
//! not how the human summary words it. The text format is tested in one place
//! (`tests/all/output.rs`).

use serde_json::Value;

use crate::cli::{Run, blobsync_command};

/// One run of `blobsync sync` or `check`, as its JSON lines tell it.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Every JSON object printed, in order.
    pub events: Vec<Value>,
    /// Standard error (diagnostics; JSON runs print nothing else there).
    pub stderr: String,
}

impl Outcome {
    /// Reads a finished run's output; every stdout line must be JSON.
    pub fn of(run: Run) -> Outcome {
        let events = run
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("not a JSON line ({e}): {l}\nstderr:\n{}", run.stderr)
                })
            })
            .collect();
        Outcome {
            code: run.code,
            events,
            stderr: run.stderr,
        }
    }

    /// Asserts exit code 0, showing the events otherwise.
    pub fn ok(self) -> Self {
        self.code(0)
    }

    /// Asserts the exit code, showing the events otherwise.
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code,
            expected,
            "exit code; events:\n{}\nstderr:\n{}",
            self.dump(),
            self.stderr
        );
        self
    }

    /// The events as text, for failure messages.
    pub fn dump(&self) -> String {
        self.events
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The objects of one `type`.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| e["type"] == kind)
    }

    /// The run's summary (the last `summary` object).
    pub fn summary(&self) -> &Value {
        self.of_type("summary").last().unwrap_or_else(|| {
            panic!(
                "no summary in the output:\n{}\nstderr:\n{}",
                self.dump(),
                self.stderr
            )
        })
    }

    /// A summary total, e.g. `total("copied")`.
    pub fn total(&self, key: &str) -> u64 {
        self.summary()[key].as_u64().unwrap_or_else(|| {
            panic!(
                "the summary has no number {key:?}: {}\nstderr:\n{}",
                self.summary(),
                self.stderr
            )
        })
    }

    /// The final status (`Completed`, `CompletedWithErrors`, `Failed`, …).
    pub fn status(&self) -> String {
        self.summary()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Paths that finished `action` (`upload`, `download`, `copy`, `delete`, `update`)
    /// without an error, sorted.
    pub fn done(&self, action: &str) -> Vec<String> {
        self.paths(
            self.of_type("transfer")
                .filter(|e| e["action"] == action)
                .map(|e| &e["path"]),
        )
    }

    /// The reason given for `action` on `path` (a `transfer`, or an `error` if it failed).
    pub fn reason(&self, action: &str, path: &str) -> Option<String> {
        self.events
            .iter()
            .filter(|e| e["type"] == "transfer" || e["type"] == "error")
            .find(|e| e["action"] == action && e["path"] == path)
            .and_then(|e| e["reason"].as_str().map(str::to_string))
    }

    /// Paths whose `action` failed, sorted (`list` for listing errors).
    pub fn failed(&self, action: &str) -> Vec<String> {
        self.paths(
            self.of_type("error")
                .filter(|e| e["action"] == action)
                .map(|e| &e["path"]),
        )
    }

    /// The error messages, in order.
    pub fn errors(&self) -> Vec<String> {
        self.of_type("error")
            .map(|e| e["error"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The warning messages, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.of_type("warning")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Entries reported as not syncable (`kind: not-syncable`): (path, reason), sorted.
    pub fn unsyncable(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .of_type("skipped")
            .filter(|e| e["kind"] == "not-syncable")
            .map(|e| {
                (
                    e["path"].as_str().unwrap_or_default().to_string(),
                    e["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Paths skipped for any reason (with `-v`), sorted.
    pub fn skipped(&self) -> Vec<String> {
        self.paths(self.of_type("skipped").map(|e| &e["path"]))
    }

    /// A dry run's planned actions (`copy`, `remove`, `update`, `backup`, …): the `source`
    /// of each (for a `remove`, the `destination` it removes), sorted.
    pub fn planned(&self, action: &str) -> Vec<String> {
        self.paths(
            self.of_type("dry-run")
                .filter(|e| e["action"] == action)
                .map(|e| {
                    if e["source"].is_null() {
                        &e["destination"]
                    } else {
                        &e["source"]
                    }
                }),
        )
    }

    /// `check`'s differences of one kind (`only-at-source`, `differs`,
    /// `only-at-destination`): the paths, sorted.
    pub fn differences(&self, kind: &str) -> Vec<String> {
        self.paths(
            self.of_type("difference")
                .filter(|e| e["kind"] == kind)
                .map(|e| &e["path"]),
        )
    }

    /// True if any error, warning or skip message contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        self.events.iter().any(|e| {
            ["error", "message", "reason"]
                .iter()
                .any(|k| e[*k].as_str().is_some_and(|m| m.contains(text)))
        }) || self.stderr.contains(text)
    }

    fn paths<'a>(&self, values: impl Iterator<Item = &'a Value>) -> Vec<String> {
        let mut v: Vec<String> = values
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    }
}

/// Runs `blobsync ARGS --output-type json --verbose` (without `--verbose` when the
/// arguments say `--quiet`), and reads its events.
pub fn blobsync_json(args: &[&str]) -> Outcome {
    Outcome::of(
        blobsync_json_command(args)
            .output()
            .expect("run blobsync")
            .into(),
    )
}

/// The command [`blobsync_json`] runs, to adjust (environment, stdin) before running it.
pub fn blobsync_json_command(args: &[&str]) -> std::process::Command {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--output-type", "json"]);
    if !args.iter().any(|a| *a == "-q" || *a == "--quiet") {
        all.push("--verbose");
    }
    blobsync_command(&all)
}
