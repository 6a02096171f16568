//! WASI 0.2 for plugins, deny by default.
//!
//! Language runtimes (componentize-py, componentize-js) import the whole WASI 0.2 CLI
//! world. It is linked, but nothing is granted: no preopened directory (every file open
//! fails), every socket address and name lookup refused, no arguments, an empty
//! environment unless the manifest lists variables, stdin empty, stdout and stderr lines
//! into blobsync's log tagged with the plugin's name. Clocks and random numbers work;
//! `exit` ends the call as a trap.
//!
//! Sleeping is capped: a guest waiting in the host cannot be interrupted by the epoch
//! deadline, so the monotonic clock's timers (`subscribe-duration`, `subscribe-instant`,
//! used by `time.sleep` and friends) fire no later than the call's deadline, after which
//! the epoch check stops the guest.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult, subscribe};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::redact::Redactor;

/// The WASI context of one plugin instance: nothing granted but `env`.
pub(crate) fn context(env: &[(String, String)], stdout: LogStream, stderr: LogStream) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    // These are the defaults already; they are spelled out so that a reader sees them.
    builder
        .envs(env)
        .stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    builder.build()
}

/// How many stderr lines are kept for a trap's message (a Python traceback ends there).
const KEPT_LINES: usize = 16;
/// The longest line logged; longer ones are cut.
const MAX_LINE: usize = 4096;
/// What one call may print (stdout and stderr together) into the log.
pub(crate) const MAX_CALL_OUTPUT: u64 = 64 << 10;
/// What one instance may print into the log in a run.
pub(crate) const MAX_RUN_OUTPUT: u64 = 1 << 20;

/// How much of a plugin's output reaches the log: a call past [`MAX_CALL_OUTPUT`], or a
/// run past [`MAX_RUN_OUTPUT`], is cut, with one note in the log saying so.
#[derive(Debug, Default)]
pub(crate) struct OutputBudget {
    call: std::sync::atomic::AtomicU64,
    run: std::sync::atomic::AtomicU64,
}

impl OutputBudget {
    /// A call starts: its own allowance is full again.
    pub(crate) fn begin_call(&self) {
        self.call.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts `n` bytes printed; false once they are over either allowance. `cut` is
    /// called once, when the first line is dropped.
    fn spend(&self, n: u64, cut: impl FnOnce(&str)) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let call = self.call.fetch_add(n, Relaxed);
        let run = self.run.fetch_add(n, Relaxed);
        if call + n <= MAX_CALL_OUTPUT && run + n <= MAX_RUN_OUTPUT {
            return true;
        }
        if run < MAX_RUN_OUTPUT && run + n > MAX_RUN_OUTPUT {
            cut(
                "more than 1 MiB of output in this run: the rest of the run's output is not logged",
            );
        } else if call <= MAX_CALL_OUTPUT && call + n > MAX_CALL_OUTPUT && run + n <= MAX_RUN_OUTPUT
        {
            cut(
                "more than 64 KiB of output in one call: the rest of this call's output is not logged",
            );
        }
        false
    }
}

/// A plugin's stdout or stderr: line-buffered into blobsync's log, within an
/// [`OutputBudget`]. Clones share the buffer (WASI makes a new stream handle per
/// `get-stdout` call).
#[derive(Clone)]
pub(crate) struct LogStream {
    plugin: Arc<str>,
    stderr: bool,
    redactor: Arc<Redactor>,
    line: Arc<Mutex<Vec<u8>>>,
    /// The last stderr lines, for trap messages.
    pub(crate) recent: Arc<Mutex<VecDeque<String>>>,
    budget: Arc<OutputBudget>,
}

impl LogStream {
    pub(crate) fn new(
        plugin: Arc<str>,
        stderr: bool,
        redactor: Arc<Redactor>,
        budget: Arc<OutputBudget>,
    ) -> Self {
        LogStream {
            plugin,
            stderr,
            redactor,
            line: Arc::default(),
            recent: Arc::default(),
            budget,
        }
    }

    fn emit(&self, bytes: &[u8]) {
        let mut text = String::from_utf8_lossy(bytes).trim_end().to_string();
        if text.is_empty() {
            return;
        }
        let plugin = &*self.plugin;
        let within = self.budget.spend(text.len() as u64 + 1, |why| {
            tracing::warn!(target: "blobsync::plugin", plugin, "{why}");
        });
        if !within {
            // Still kept for a trap's message: its last lines say what went wrong.
            if self.stderr {
                self.redactor.redact_in_place(&mut text);
                self.remember(text);
            }
            return;
        }
        self.redactor.redact_in_place(&mut text);
        if self.stderr {
            tracing::warn!(target: "blobsync::plugin", plugin, "stderr: {text}");
            self.remember(text);
        } else {
            tracing::info!(target: "blobsync::plugin", plugin, "stdout: {text}");
        }
    }

    fn remember(&self, text: String) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == KEPT_LINES {
            recent.pop_front();
        }
        recent.push_back(text);
    }

    /// The last stderr lines, oldest first.
    pub(crate) fn last_lines(&self) -> Vec<String> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// What a failed plugin itself said, from its last stderr lines: the language runtime's
/// own closing words (componentize-py's Rust panic, SpiderMonkey's abort notice) are
/// passed over, and a Python traceback or a JavaScript stack is shortened to its
/// exception and the line it was raised at.
pub(crate) fn own_message(lines: &[String]) -> Option<String> {
    // The runtime's own panic (componentize-py) ends what the plugin said.
    let end = lines
        .iter()
        .position(|l| l.starts_with("thread '"))
        .unwrap_or(lines.len());
    let said: Vec<&str> = lines[..end]
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !l.starts_with("note: run with `RUST_BACKTRACE")
                && !l.starts_with("Redirecting call to abort()")
        })
        .collect();
    // JavaScript (componentize-js): the message, then `Stack:` and its frames.
    if let Some(stack) = said.iter().rposition(|l| *l == "Stack:") {
        let message = said[..stack].last()?.trim();
        return Some(match said.get(stack + 1) {
            Some(frame) => format!("{message} (at {})", frame.trim()),
            None => message.to_string(),
        });
    }
    // Python: the exception is the last line not indented; the traceback's last
    // `File "…", line N` above it is where it was raised.
    let at = said
        .iter()
        .rposition(|l| !l.starts_with(char::is_whitespace) && !l.starts_with("Traceback ("))?;
    let exception = said[at].trim();
    let place = said[..at]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with("File \""))
        .map(|l| l.split(", in ").next().unwrap_or(l).to_string());
    Some(match place {
        Some(place) => format!("{exception} ({place})"),
        None => exception.to_string(),
    })
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    // Only WASI 0.3 uses this, which blobsync does not link.
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(tokio::io::sink())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        let mut complete = Vec::new();
        {
            let mut line = self.line.lock().unwrap_or_else(|e| e.into_inner());
            for &b in bytes.iter() {
                if b == b'\n' {
                    complete.push(std::mem::take(&mut *line));
                } else if line.len() < MAX_LINE {
                    line.push(b);
                }
            }
        }
        for l in complete {
            self.emit(&l);
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        // The last clone flushes a line that never got its newline.
        if Arc::strong_count(&self.line) == 1 {
            let rest = std::mem::take(&mut *self.line.lock().unwrap_or_else(|e| e.into_inner()));
            self.emit(&rest);
        }
    }
}

/// The monotonic clock, with timers capped at the call's deadline.
pub(crate) struct CappedClock;

impl HasData for CappedClock {
    type Data<'a> = CappedClockView<'a>;
}

/// What the capped clock needs from the store.
pub(crate) struct CappedClockView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) deadline: Option<Instant>,
    /// Set when the guest asked to wait past its deadline: if the call is still running
    /// when the deadline passes, it ends as a timeout even if no epoch check ran.
    pub(crate) overran: &'a mut bool,
}

/// The clock's origin: monotonic time is reported as nanoseconds since the process
/// first asked.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl CappedClockView<'_> {
    fn timer(&mut self, wanted: Duration) -> wasmtime::Result<Resource<DynPollable>> {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        // A little past the deadline, so that the epoch check is what ends the call.
        let capped = match left {
            Some(left) if wanted > left => {
                *self.overran = true;
                left + Duration::from_millis(20)
            }
            _ => wanted,
        };
        let timer = self.table.push(Timer {
            at: tokio::time::Instant::now() + capped,
        })?;
        subscribe(self.table, timer)
    }
}

struct Timer {
    at: tokio::time::Instant,
}

#[wasmtime_wasi::async_trait]
impl Pollable for Timer {
    async fn ready(&mut self) {
        tokio::time::sleep_until(self.at).await;
    }
}

impl monotonic_clock::Host for CappedClockView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(origin().elapsed().as_nanos() as u64)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(1)
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let now = origin().elapsed().as_nanos() as u64;
        self.timer(Duration::from_nanos(when.saturating_sub(now)))
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.timer(Duration::from_nanos(duration))
    }
}

#[cfg(test)]
mod tests {
    use super::own_message;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_python_exception_is_shown_with_its_place_not_the_runtime_s_last_words() {
        // What componentize-py 0.25 prints.
        let said = own_message(&lines(
            "Traceback (most recent call last):\n  File \"/0/app.py\", line 9, in filter\n\
             ValueError: bad config: x\nthread '<unnamed>' (1) panicked at \
             runtime/src/lib.rs:1280:25:\nPython function threw an unexpected exception\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        ));
        assert_eq!(
            said.as_deref(),
            Some("ValueError: bad config: x (File \"/0/app.py\", line 9)")
        );
    }

    #[test]
    fn a_javascript_throw_is_shown_without_its_stack_or_the_abort_notice() {
        // What componentize-js 0.23 prints.
        let said = own_message(&lines(
            "no such tier: Premium\nStack:\n  filter@src/filter.js:3:33\n  \
             export_filterPlugin_0_2_0$filter@/tmp/x/initializer.js:466:15\nRedirecting call \
             to abort() to mozalloc_abort",
        ));
        assert_eq!(
            said.as_deref(),
            Some("no such tier: Premium (at filter@src/filter.js:3:33)")
        );
        assert_eq!(
            own_message(&lines("note: run with `RUST_BACKTRACE=1`")),
            None
        );
    }
}
