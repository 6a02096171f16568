//! Loaded plugins and the per-worker instances the pipeline calls.
//!
//! An instance is created from the plugin's `InstancePre` on first use, configured, and
//! kept until a call fails. A trap poisons a component instance, so after any failed call
//! the store is dropped and the next call instantiates and configures afresh (~10 µs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::{comparator, filter, hook};
use super::inspect::{self, compatible};
use super::output::OutputFile;
use super::runtime::{MemoryLimiter, Runtime, StoreState, TICK, sha256};
use super::{
    ComparatorInfo, Decision, Entry, Event, FailurePolicy, INTERFACE_VERSION, Pair, PluginError,
    PluginKind, PluginSource, PluginSpec, Side, Summary, Verdict, builtin,
};

/// The world-specific pre-instantiated component.
enum WorldPre {
    Filter(filter::FilterPre<StoreState>),
    Comparator(comparator::ComparatorPre<StoreState>),
    Hook(hook::HookPre<StoreState>),
}

/// A plugin that passed every load-time check.
pub(crate) struct Loaded {
    pub(crate) spec: PluginSpec,
    pub(crate) sha256: [u8; 32],
    pre: WorldPre,
    output: Option<Arc<OutputFile>>,
}

impl Loaded {
    pub(crate) fn load(runtime: &Runtime, spec: &PluginSpec) -> Result<Loaded, PluginError> {
        let fail = |reason: String| PluginError::Load {
            plugin: spec.name.clone(),
            source_desc: spec.source.to_string(),
            reason,
        };
        let owned;
        let bytes: &[u8] = match &spec.source {
            PluginSource::Builtin(name) => builtin::bytes(name).ok_or_else(|| {
                fail(format!(
                    "there is no built-in plugin `{name}` (built-ins: {})",
                    builtin::names().join(", ")
                ))
            })?,
            PluginSource::File(path) => {
                owned = std::fs::read(path).map_err(|e| {
                    fail(format!("cannot read the file: {e} (paths in a manifest are relative to the manifest)"))
                })?;
                &owned
            }
        };
        let digest = sha256(bytes);
        if let Some(pinned) = spec.sha256
            && pinned != digest
        {
            return Err(fail(format!(
                "sha256 mismatch: the manifest pins {} but the file's sha256 is {}; if the \
                     plugin was rebuilt on purpose, update `sha256` in the manifest",
                hex::encode(pinned),
                hex::encode(digest)
            )));
        }

        let info = inspect::describe(bytes).map_err(fail)?;
        let Some((kind, version)) = info.plugin.clone() else {
            return Err(fail(format!(
                "the component exports no blobsync plugin interface (it exports: {}); build it \
                 with the blobsync-plugin SDK and one of its export macros",
                if info.exports.is_empty() {
                    "nothing".into()
                } else {
                    info.exports.join(", ")
                }
            )));
        };
        if !compatible(&version, INTERFACE_VERSION) {
            return Err(fail(format!(
                "it was built against blobsync:plugin@{version}, but this blobsync implements \
                 blobsync:plugin@{INTERFACE_VERSION}; rebuild the plugin against a matching \
                 blobsync-plugin SDK (or use a blobsync that implements {version})"
            )));
        }
        if kind != spec.kind {
            return Err(fail(format!(
                "it is a {kind} plugin, but it is listed as a {} ({} in a manifest)",
                spec.kind,
                spec.kind.manifest_section()
            )));
        }
        let foreign: Vec<&String> = info
            .imports
            .iter()
            .filter(|name| !inspect::is_host_import(name))
            .collect();
        if !foreign.is_empty() {
            return Err(fail(format!(
                "it imports {}, which blobsync does not provide: plugins run without WASI, file \
                 system, network or environment; build it for wasm32-unknown-unknown with \
                 `blobsync plugin build`",
                foreign
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }

        let component = runtime
            .compile(bytes, &digest)
            .map_err(|e| fail(format!("it does not compile: {e:#}")))?;
        let instance_pre: InstancePre<StoreState> = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("it cannot be linked: {e:#}")))?;
        let pre = match kind {
            PluginKind::Filter => filter::FilterPre::new(instance_pre).map(WorldPre::Filter),
            PluginKind::Comparator => {
                comparator::ComparatorPre::new(instance_pre).map(WorldPre::Comparator)
            }
            PluginKind::Hook => hook::HookPre::new(instance_pre).map(WorldPre::Hook),
        }
        .map_err(|e| fail(format!("it does not match the {kind} world: {e:#}")))?;

        let output = match &spec.output {
            None => None,
            Some(_) if kind != PluginKind::Hook => {
                return Err(fail("`output` is only available to hooks".into()));
            }
            Some(path) => Some(Arc::new(OutputFile::open(path).map_err(|e| {
                fail(format!(
                    "cannot open its output file {}: {e}",
                    path.display()
                ))
            })?)),
        };
        Ok(Loaded {
            spec: spec.clone(),
            sha256: digest,
            pre,
            output,
        })
    }

    fn deadline_ticks(&self) -> u64 {
        let timeout = self.spec.limits.call_timeout.as_millis() as u64;
        timeout.div_ceil(TICK.as_millis() as u64) + 1
    }

    fn new_store(self: &Arc<Self>) -> Store<StoreState> {
        let pre_engine = match &self.pre {
            WorldPre::Filter(p) => p.engine(),
            WorldPre::Comparator(p) => p.engine(),
            WorldPre::Hook(p) => p.engine(),
        };
        let mut store = Store::new(
            pre_engine,
            StoreState {
                plugin: Arc::from(self.spec.name.as_str()),
                limiter: MemoryLimiter {
                    limit: self.spec.limits.memory_bytes,
                    denied: None,
                },
                output: self.output.clone(),
                last_panic: None,
            },
        );
        store.limiter(|s| &mut s.limiter);
        // Instantiation runs guest code (start functions, `configure`): arm the deadline
        // before it.
        store.set_epoch_deadline(self.deadline_ticks());
        store
    }

    /// Turns a failed call into a `PluginError`, using what the store recorded.
    fn classify(&self, store: &Store<StoreState>, error: wasmtime::Error) -> PluginError {
        let plugin = self.spec.name.clone();
        if store.data().limiter.denied.is_some() {
            return PluginError::OutOfMemory {
                plugin,
                limit: self.spec.limits.memory_bytes,
            };
        }
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            if *trap == wasmtime::Trap::Interrupt {
                return PluginError::Timeout {
                    plugin,
                    timeout: self.spec.limits.call_timeout,
                };
            }
            let mut detail = trap.to_string();
            if let Some(panic) = &store.data().last_panic {
                detail = format!("{detail}; {panic}");
            }
            return PluginError::Trap { plugin, detail };
        }
        PluginError::Trap {
            plugin,
            detail: format!("{error:#}"),
        }
    }
}

/// A world's instantiated bindings.
// The generated `call_configure` takes `&Vec`, so the trait does too.
#[allow(clippy::ptr_arg)]
trait World: Sized {
    fn instantiate(pre: &WorldPre, store: &mut Store<StoreState>) -> wasmtime::Result<Self>;
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>>;
}

impl World for filter::Filter {
    fn instantiate(pre: &WorldPre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        match pre {
            WorldPre::Filter(p) => p.instantiate(store),
            _ => unreachable!("a filter slot always holds a filter plugin"),
        }
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_filter_plugin()
            .call_configure(store, config)?
            .map(|()| None))
    }
}

impl World for comparator::Comparator {
    fn instantiate(pre: &WorldPre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        match pre {
            WorldPre::Comparator(p) => p.instantiate(store),
            _ => unreachable!("a comparator slot always holds a comparator plugin"),
        }
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_comparator_plugin()
            .call_configure(store, config)?
            .map(Some))
    }
}

impl World for hook::Hook {
    fn instantiate(pre: &WorldPre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        match pre {
            WorldPre::Hook(p) => p.instantiate(store),
            _ => unreachable!("a hook slot always holds a hook plugin"),
        }
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_hook_plugin()
            .call_configure(store, config)?
            .map(|()| None))
    }
}

/// One plugin's instance for one worker, re-created after a failure.
struct Slot<W: World> {
    plugin: Arc<Loaded>,
    live: Option<(Store<StoreState>, W)>,
    info: Option<ComparatorInfo>,
}

impl<W: World> Slot<W> {
    fn new(plugin: &Arc<Loaded>) -> Self {
        Slot {
            plugin: plugin.clone(),
            live: None,
            info: None,
        }
    }

    fn ensure_live(&mut self) -> Result<(), PluginError> {
        if self.live.is_some() {
            return Ok(());
        }
        let plugin = &self.plugin;
        let mut store = plugin.new_store();
        let world =
            W::instantiate(&plugin.pre, &mut store).map_err(|e| plugin.classify(&store, e))?;
        store.set_epoch_deadline(plugin.deadline_ticks());
        match world.configure(&mut store, &plugin.spec.config) {
            Ok(Ok(info)) => self.info = info,
            Ok(Err(message)) => {
                return Err(PluginError::ConfigRejected {
                    plugin: plugin.spec.name.clone(),
                    origin: plugin.spec.origin.clone(),
                    message,
                });
            }
            Err(e) => return Err(plugin.classify(&store, e)),
        }
        self.live = Some((store, world));
        Ok(())
    }

    /// Calls into the plugin with a fresh deadline. On failure the instance is dropped.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&W, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.ensure_live()?;
        let ticks = self.plugin.deadline_ticks();
        let (store, world) = self.live.as_mut().expect("instance is live");
        store.set_epoch_deadline(ticks);
        match f(world, store) {
            Ok(r) => Ok(r),
            Err(e) => {
                let err = self.plugin.classify(store, e);
                self.live = None;
                Err(err)
            }
        }
    }

    fn check_count(&self, expected: usize, got: usize) -> Result<(), PluginError> {
        if expected == got {
            Ok(())
        } else {
            Err(PluginError::BadResultCount {
                plugin: self.plugin.spec.name.clone(),
                expected,
                got,
            })
        }
    }

    fn name(&self) -> &str {
        &self.plugin.spec.name
    }

    fn failure(&self) -> FailurePolicy {
        self.plugin.spec.failure
    }
}

/// Why an entry was excluded, and by which filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The filter's name.
    pub plugin: Arc<str>,
    /// The filter's reason.
    pub reason: String,
}

/// The run's filters, for one worker.
pub struct FilterChain {
    slots: Vec<Slot<filter::Filter>>,
    names: Vec<Arc<str>>,
    tolerated: Arc<AtomicU64>,
}

impl FilterChain {
    pub(crate) fn new(plugins: &[Arc<Loaded>], tolerated: Arc<AtomicU64>) -> Self {
        FilterChain {
            slots: plugins.iter().map(Slot::new).collect(),
            names: plugins
                .iter()
                .map(|p| Arc::from(p.spec.name.as_str()))
                .collect(),
            tolerated,
        }
    }

    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        self.slots.iter_mut().try_for_each(Slot::ensure_live)
    }

    /// True when the chain has no filters.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Asks every filter about `entries`. Returns, per entry, `None` if it is included or
    /// the first filter's exclusion. A fail-closed filter's failure is returned as an
    /// error; a fail-open filter's failure includes the batch and is kept for
    /// [`PluginHost::tolerated_failures`](super::PluginHost::tolerated_failures).
    pub fn apply(
        &mut self,
        side: Side,
        entries: &[Entry],
    ) -> Result<Vec<Option<Exclusion>>, PluginError> {
        let mut out: Vec<Option<Exclusion>> = vec![None; entries.len()];
        if entries.is_empty() {
            return Ok(out);
        }
        for (slot, name) in self.slots.iter_mut().zip(&self.names) {
            let verdicts: Result<Vec<Verdict>, PluginError> = slot
                .call(|w, store| {
                    w.blobsync_plugin_filter_plugin()
                        .call_filter(store, side, entries)
                })
                .and_then(|v| slot.check_count(entries.len(), v.len()).map(|()| v));
            match verdicts {
                Ok(verdicts) => {
                    for (slot_out, verdict) in out.iter_mut().zip(verdicts) {
                        if slot_out.is_none() && !verdict.included {
                            *slot_out = Some(Exclusion {
                                plugin: name.clone(),
                                reason: verdict.reason,
                            });
                        }
                    }
                }
                Err(e) if slot.failure() == FailurePolicy::FailOpen => {
                    tracing::warn!(
                        "{e} (fail-open: the batch of {} entries is included)",
                        entries.len()
                    );
                    self.tolerated.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// The run's comparator, for one worker.
pub struct ComparatorInstance {
    slot: Slot<comparator::Comparator>,
    tolerated: Arc<AtomicU64>,
}

impl ComparatorInstance {
    pub(crate) fn new(plugin: &Arc<Loaded>, tolerated: Arc<AtomicU64>) -> Self {
        ComparatorInstance {
            slot: Slot::new(plugin),
            tolerated,
        }
    }

    pub(crate) fn probe(&mut self) -> Result<ComparatorInfo, PluginError> {
        self.slot.ensure_live()?;
        Ok(self
            .slot
            .info
            .unwrap_or(ComparatorInfo { needs_md5: false }))
    }

    /// The comparator's name.
    pub fn name(&self) -> &str {
        self.slot.name()
    }

    /// Decides each pair. A fail-open comparator's failure transfers the whole batch
    /// (copying too much is safe; skipping is not).
    pub fn compare(&mut self, pairs: &[Pair]) -> Result<Vec<Decision>, PluginError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let slot = &mut self.slot;
        let result = slot
            .call(|w, store| {
                w.blobsync_plugin_comparator_plugin()
                    .call_compare(store, pairs)
            })
            .and_then(|d| slot.check_count(pairs.len(), d.len()).map(|()| d));
        match result {
            Ok(d) => Ok(d),
            Err(e) if slot.failure() == FailurePolicy::FailOpen => {
                let reason = format!("comparator failed (fail-open, transferring): {e}");
                tracing::warn!(
                    "{e} (fail-open: the batch of {} pairs is transferred)",
                    pairs.len()
                );
                self.tolerated.fetch_add(1, Ordering::Relaxed);
                Ok(pairs
                    .iter()
                    .map(|_| Decision {
                        action: super::bindings::types::Action::Transfer,
                        reason: reason.clone(),
                    })
                    .collect())
            }
            Err(e) => Err(e),
        }
    }
}

/// One hook, on its own worker.
pub struct HookInstance {
    slot: Slot<hook::Hook>,
}

impl HookInstance {
    pub(crate) fn new(plugin: &Arc<Loaded>) -> Self {
        HookInstance {
            slot: Slot::new(plugin),
        }
    }

    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        self.slot.ensure_live()
    }

    /// The hook's name.
    pub fn name(&self) -> &str {
        self.slot.name()
    }

    /// The hook's failure policy.
    pub fn failure(&self) -> FailurePolicy {
        self.slot.failure()
    }

    /// Delivers a batch of events.
    pub fn on_events(&mut self, events: &[Event]) -> Result<(), PluginError> {
        if events.is_empty() {
            return Ok(());
        }
        self.slot.call(|w, store| {
            w.blobsync_plugin_hook_plugin()
                .call_on_events(store, events)
        })
    }

    /// Delivers the run's summary.
    pub fn on_complete(&mut self, summary: &Summary) -> Result<(), PluginError> {
        self.slot.call(|w, store| {
            w.blobsync_plugin_hook_plugin()
                .call_on_complete(store, summary)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_versions() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.9.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }
}
