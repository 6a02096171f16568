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
const KEPT_LINES: usize = 8;
/// The longest line logged; longer ones are cut.
const MAX_LINE: usize = 4096;

/// A plugin's stdout or stderr: line-buffered into blobsync's log. Clones share the buffer
/// (WASI makes a new stream handle per `get-stdout` call).
#[derive(Clone)]
pub(crate) struct LogStream {
    plugin: Arc<str>,
    stderr: bool,
    redactor: Arc<Redactor>,
    line: Arc<Mutex<Vec<u8>>>,
    /// The last stderr lines, for trap messages.
    pub(crate) recent: Arc<Mutex<VecDeque<String>>>,
}

impl LogStream {
    pub(crate) fn new(plugin: Arc<str>, stderr: bool, redactor: Arc<Redactor>) -> Self {
        LogStream {
            plugin,
            stderr,
            redactor,
            line: Arc::default(),
            recent: Arc::default(),
        }
    }

    fn emit(&self, bytes: &[u8]) {
        let mut text = String::from_utf8_lossy(bytes).trim_end().to_string();
        if text.is_empty() {
            return;
        }
        self.redactor.redact_in_place(&mut text);
        let plugin = &*self.plugin;
        if self.stderr {
            tracing::warn!(target: "blobsync::plugin", plugin, "stderr: {text}");
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == KEPT_LINES {
                recent.pop_front();
            }
            recent.push_back(text);
        } else {
            tracing::info!(target: "blobsync::plugin", plugin, "stdout: {text}");
        }
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
