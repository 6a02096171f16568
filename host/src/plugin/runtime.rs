//! The wasmtime engine shared by every plugin: one `Engine`, one `Linker`, an on-disk
//! cache of compiled components, and the epoch ticker that enforces per-call deadlines.
//!
//! Why epochs and not fuel: fuel instruments every basic block and roughly doubles guest
//! time; an epoch check is a load and a compare at loop headers and function entries. A
//! deadline measured in wall-clock ticks is what users configure anyway
//! (`call-timeout-ms`), so epochs are the only CPU limit.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, ResourceLimiter};

use super::bindings::{host, output, types};
use super::output::OutputFile;

/// How often the epoch advances. Deadlines are whole ticks, so a call may run up to one
/// tick longer than its timeout.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The engine, the linker with the host's imports, and the compiled-component cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    cache_dir: Option<PathBuf>,
    ticker: Arc<AtomicBool>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// The process's one engine, built on first use with `cache_dir` (later callers get
    /// the same engine whatever cache they name).
    pub fn shared(cache_dir: Option<PathBuf>) -> wasmtime::Result<Arc<Runtime>> {
        static SHARED: std::sync::OnceLock<Arc<Runtime>> = std::sync::OnceLock::new();
        if let Some(runtime) = SHARED.get() {
            return Ok(runtime.clone());
        }
        let runtime = Arc::new(Runtime::new(cache_dir)?);
        Ok(SHARED.get_or_init(|| runtime).clone())
    }

    /// Builds the engine. `cache_dir` holds compiled components; `None` compiles in memory
    /// every time.
    pub fn new(cache_dir: Option<PathBuf>) -> wasmtime::Result<Runtime> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Plugins are synchronous; without async support a component call costs ~150 ns
        // instead of ~400 ns.
        config.concurrency_support(false);
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        types::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
        host::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
        output::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;

        let ticker = Arc::new(AtomicBool::new(true));
        let running = ticker.clone();
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("blobsync-epoch".into())
            .spawn(move || {
                while running.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })?;

        let cache_dir = cache_dir.filter(|dir| prepare_cache_dir(dir));
        Ok(Runtime {
            engine,
            linker,
            cache_dir,
            ticker,
        })
    }

    /// Compiles a component, or loads it from the cache. The cache key is the sha256 of the
    /// bytes plus the engine's compatibility hash, so a new blobsync never loads code
    /// compiled by an old one.
    pub(crate) fn compile(&self, bytes: &[u8], sha256: &[u8; 32]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.cache_dir else {
            return Component::new(&self.engine, bytes);
        };
        let mut hasher = std::hash::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let path = dir.join(format!(
            "{}-{:016x}.cwasm",
            hex::encode(sha256),
            hasher.finish()
        ));
        if path.exists() {
            // SAFETY: the file was written by `serialize` below into a directory only this
            // user can write (created 0700), under a name that includes the engine's
            // compatibility hash; `deserialize_file` also checks the header.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::debug!("discarding cached component {}: {e}", path.display());
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(&self.engine, bytes)?;
        if let Err(e) = component
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|data| {
                let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
                tmp.write_all(&data)?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            })
        {
            tracing::debug!(
                "could not cache compiled component in {}: {e}",
                dir.display()
            );
        }
        Ok(component)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker.store(false, Ordering::Relaxed);
    }
}

/// Creates the cache directory (private to the user). A cache that cannot be created is
/// not an error: components are then compiled in memory.
fn prepare_cache_dir(dir: &Path) -> bool {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!("no component cache: cannot create {}: {e}", dir.display());
            false
        }
    }
}

/// sha256 of a component's bytes.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The data each plugin `Store` carries.
pub(crate) struct StoreState {
    pub(crate) plugin: Arc<str>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) output: Option<Arc<OutputFile>>,
    /// The panic message the SDK's panic hook logged just before a trap, if any.
    pub(crate) last_panic: Option<String>,
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
        // A Rust component has one memory (plus none from adapters, as there is no WASI);
        // a few more would multiply the memory cap.
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

impl types::Host for StoreState {}
