//! The data each plugin `Store` carries, and the host functions plugins import: `log`,
//! `output.write-line` and `content.read` (0.2), their 0.1 twins, and the views WASI and
//! wasi:http work through.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::{content, host, output, types};
use super::content::ContentAccess;
use super::http::HttpPolicy;
use super::legacy;
use super::output::OutputFile;
use super::redact::Redactor;
use super::wasi::{CappedClockView, LogStream};

/// The data each plugin `Store` carries.
pub(crate) struct StoreState {
    pub(crate) plugin: Arc<str>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) output: Option<Arc<OutputFile>>,
    /// The panic message the SDK's panic hook logged just before a trap, if any.
    pub(crate) last_panic: Option<String>,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) content: ContentAccess,
    /// When the call in progress must end (for capped timers and HTTP timeouts).
    pub(crate) deadline: Option<Instant>,
    /// The guest waited on a timer capped at the deadline (see `wasi::CappedClockView`).
    pub(crate) overran: bool,
    pub(crate) stderr: LogStream,
    /// What the plugin may still print into the log.
    pub(crate) output_budget: Arc<super::wasi::OutputBudget>,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_policy: HttpPolicy,
    pub(crate) table: ResourceTable,
}

impl StoreState {
    /// Arms the deadline of the next call for the host functions that wait.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.overran = false;
        self.http_policy.deadline = Some(deadline);
    }

    /// True when the call waited on a capped timer and its deadline has passed.
    pub(crate) fn ran_over(&self) -> bool {
        self.overran && self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The view the capped monotonic clock works through.
    pub(crate) fn clock(&mut self) -> CappedClockView<'_> {
        CappedClockView {
            table: &mut self.table,
            deadline: self.deadline,
            overran: &mut self.overran,
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}

/// Caps linear memory per plugin instance and remembers a denied growth, so that the
/// resulting trap is reported as "out of memory" rather than as a generic trap.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) denied: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.denied = Some(desired);
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded (asked for {desired})",
                self.limit
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }

    fn memories(&self) -> usize {
        // A Rust component has one memory, and so do componentize-py's and
        // componentize-js's; a few more would multiply the memory cap.
        4
    }
}

/// The SDK's prefix for a panic message (blobsync_plugin::PANIC_PREFIX).
const PANIC_PREFIX: &str = "plugin panicked: ";

/// The maximum length of one plugin log message; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 4096;

impl host::Host for StoreState {
    fn log(&mut self, level: host::Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE {
            let mut end = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        self.redactor.redact_in_place(&mut message);
        if level == host::Level::Error
            && let Some(panic) = message.strip_prefix(PANIC_PREFIX)
        {
            self.last_panic = Some(format!("it panicked {}", panic.replace('\n', " ")));
        }
        let plugin = &*self.plugin;
        match level {
            host::Level::Error => tracing::error!(target: "blobsync::plugin", plugin, "{message}"),
            host::Level::Warn => tracing::warn!(target: "blobsync::plugin", plugin, "{message}"),
            host::Level::Info => tracing::info!(target: "blobsync::plugin", plugin, "{message}"),
            host::Level::Debug => tracing::debug!(target: "blobsync::plugin", plugin, "{message}"),
            host::Level::Trace => tracing::trace!(target: "blobsync::plugin", plugin, "{message}"),
        }
    }
}

impl output::Host for StoreState {
    fn write_line(&mut self, line: String) -> Result<(), String> {
        match &self.output {
            Some(file) => file.write_line(&line),
            None => Err(format!(
                "plugin `{}` has no output file: add `output = \"FILE\"` to its [[hook]] entry \
                 in the manifest",
                self.plugin
            )),
        }
    }
}

impl content::Host for StoreState {
    fn read(&mut self, path: String, max_bytes: u64) -> Result<Vec<u8>, String> {
        let result = self.content.read(&path, max_bytes);
        if let Err(e) = &result {
            tracing::debug!(
                target: "blobsync::plugin",
                plugin = &*self.plugin,
                "read-content refused: {e}"
            );
        }
        result
    }
}

impl types::Host for StoreState {}

impl legacy::host::Host for StoreState {
    fn log(&mut self, level: legacy::host::Level, message: String) {
        host::Host::log(self, level.into(), message)
    }
}

impl legacy::output::Host for StoreState {
    fn write_line(&mut self, line: String) -> Result<(), String> {
        output::Host::write_line(self, line)
    }
}

impl legacy::types::Host for StoreState {}
