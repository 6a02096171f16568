//! The wasmtime engine shared by every plugin: one `Engine`, one `Linker`, an on-disk
//! cache of compiled components, and the epoch ticker that enforces per-call deadlines.
//!
//! Why epochs and not fuel: fuel instruments every basic block and roughly doubles guest
//! time; an epoch check is a load and a compare at loop headers and function entries. A
//! deadline measured in wall-clock ticks is what users configure anyway
//! (`call-timeout-ms`), so epochs are the only CPU limit.

//!
//! The linker links WASI 0.2 with nothing granted (`wasi.rs`), wasi:http denied unless a
//! manifest grants origins (`http.rs`), and blobsync's interfaces at 0.2 and 0.1.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;

use super::bindings::{content, host, output, types};
use super::legacy;
use super::state::StoreState;
use super::wasi::CappedClock;

/// tick longer than its timeout.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The engine, the linker with the host's imports, and the compiled-component cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    cache_dir: Option<PathBuf>,
    /// Components compiled by this process, by their bytes' sha256: a second session
    /// (the other direction of a two-way sync, a test) does not compile them again.
    compiled: std::sync::Mutex<std::collections::HashMap<[u8; 32], Component>>,
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

        let linker = linker(&engine)?;

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
            compiled: Default::default(),
            ticker,
        })
    }

    /// Compiles a component, or loads it from the cache: the process's own, else the
    /// cache directory's, whose key is the sha256 of the bytes plus the engine's
    /// compatibility hash, so a new blobsync never loads code compiled by an old one.
    pub(crate) fn compile(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
    ) -> wasmtime::Result<Component> {
        let compiled = || self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(component) = compiled().get(sha256) {
            return Ok(component.clone());
        }
        let component = self.compile_or_load(name, bytes, sha256)?;
        compiled().insert(*sha256, component.clone());
        Ok(component)
    }

    /// Compiles a component, or loads it from the cache directory.
    fn compile_or_load(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
    ) -> wasmtime::Result<Component> {
        let Some(dir) = &self.cache_dir else {
            return compile_now(&self.engine, name, bytes, false);
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
        let component = compile_now(&self.engine, name, bytes, true)?;
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

/// Compiles a component, saying so first when it is large enough to take a while (a
/// language runtime takes seconds).
fn compile_now(
    engine: &Engine,
    name: &str,
    bytes: &[u8],
    cached: bool,
) -> wasmtime::Result<Component> {
    let started = Instant::now();
    let large = bytes.len() > 4 << 20;
    if large {
        tracing::info!(
            "compiling plugin `{name}` ({} MiB){}",
            bytes.len() >> 20,
            if cached {
                "; this happens once, later runs load it from the cache"
            } else {
                ""
            }
        );
    }
    // A compile that takes more than a second is said on the terminal, once.
    let notice = crate::logging::Notice::after(
        Duration::from_secs(1),
        format!(
            "compiling plugin {name}{}",
            if cached {
                " (once: later runs load it from the cache)"
            } else {
                ""
            }
        ),
    );
    let component = Component::new(engine, bytes);
    drop(notice);
    let component = component?;
    if large {
        tracing::info!(
            "compiled plugin `{name}` in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(component)
}

/// The linker every plugin is instantiated with.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    // The monotonic clock's timers, capped at the call's deadline, replace WASI's.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<StoreState, CappedClock>(&mut linker, StoreState::clock)?;
    linker.allow_shadowing(false);
    types::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    host::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    output::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    content::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    legacy::types::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    legacy::host::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    legacy::output::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)?;
    Ok(linker)
}
