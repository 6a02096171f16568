//! The per-worker instances the pipeline calls.
//!
//! An instance is created from the plugin's pre-instantiated component on first use,
//! configured, and kept until a call fails. A trap poisons a component instance, so after
//! any failed call the store is dropped and the next call instantiates and configures
//! afresh (~10 µs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Store;

use super::bindings::{comparator, filter, hook};
use super::load::Loaded;
use super::runtime::{MemoryLimiter, StoreState, TICK};
use super::world::World;
use super::{
    ComparatorInfo, Decision, Entry, Event, FailurePolicy, Pair, PluginError, Side, Summary,
    Verdict,
};

impl<W: World> Loaded<W> {
    fn deadline_ticks(&self) -> u64 {
        let timeout = self.spec.limits.call_timeout.as_millis() as u64;
        timeout.div_ceil(TICK.as_millis() as u64) + 1
    }

    fn new_store(&self) -> Store<StoreState> {
        let mut store = Store::new(
            W::engine(&self.pre),
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

/// One plugin's instance for one worker, re-created after a failure.
struct Slot<W: World> {
    plugin: Arc<Loaded<W>>,
    live: Option<(Store<StoreState>, W)>,
    info: Option<ComparatorInfo>,
}

impl<W: World> Slot<W> {
    fn new(plugin: &Arc<Loaded<W>>) -> Self {
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
        let Some((store, world)) = self.live.as_mut() else {
            return Err(PluginError::Trap {
                plugin: self.plugin.spec.name.clone(),
                detail: "internal error: the instance is gone".into(),
            });
        };
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
    pub(crate) fn new(plugins: &[Arc<Loaded<filter::Filter>>], tolerated: Arc<AtomicU64>) -> Self {
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
    pub(crate) fn new(
        plugin: &Arc<Loaded<comparator::Comparator>>,
        tolerated: Arc<AtomicU64>,
    ) -> Self {
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
    pub(crate) fn new(plugin: &Arc<Loaded<hook::Hook>>) -> Self {
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
