//! One plugin's instance for one worker ([`Slot`]): created from the plugin's
//! pre-instantiated component on first use, configured, and kept until a call fails. A
//! trap poisons a component instance, so after any failed call the store is dropped and
//! the next call instantiates and configures afresh (~10 µs for a Rust plugin, ~1 ms for a
//! Python one).
//!
//! Plugin calls block: wasmtime-wasi's synchronous bindings wait on a tokio runtime, which
//! panics inside an async task. Calls made from a multi-threaded runtime's worker thread
//! are therefore wrapped in `block_in_place`; pipeline stages call plugins from their own
//! threads or `spawn_blocking` anyway.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;

use super::bindings::types::{Entries, EntryFields, Side};
use super::content::ContentAccess;
use super::entry::{Entry, Packer};
use super::error::PluginError;
use super::http::HttpPolicy;
use super::inspect::Interface;
use super::load::Loaded;
use super::runtime::TICK;
use super::spec::FailurePolicy;
use super::state::{MemoryLimiter, StoreState};
use super::values::{RunValues, instance_config};
use super::wasi::{self, LogStream, OutputBudget};
use super::world::World;

impl<W: World> Loaded<W> {
    fn deadline_ticks(&self) -> u64 {
        let timeout = self.spec.limits.call_timeout.as_millis() as u64;
        timeout.div_ceil(TICK.as_millis() as u64) + 1
    }

    fn new_store(&self, values: &RunValues) -> Store<StoreState> {
        let plugin: Arc<str> = Arc::from(self.spec.name.as_str());
        let budget = Arc::new(OutputBudget::default());
        let stdout = LogStream::new(plugin.clone(), false, self.redactor.clone(), budget.clone());
        let stderr = LogStream::new(plugin.clone(), true, self.redactor.clone(), budget.clone());
        let mut store = Store::new(
            W::engine(&self.pre),
            StoreState {
                plugin: plugin.clone(),
                limiter: MemoryLimiter {
                    limit: self.spec.limits.memory_bytes,
                    denied: None,
                },
                output: self.output.clone(),
                last_panic: None,
                redactor: self.redactor.clone(),
                content: ContentAccess::new(
                    self.spec.grants.read_content,
                    values.local_root.clone(),
                    values.follow_links,
                ),
                deadline: None,
                overran: false,
                wasi: wasi::context(&self.env, stdout, stderr.clone()),
                stderr,
                output_budget: budget,
                http: wasmtime_wasi_http::WasiHttpCtx::new(),
                http_policy: HttpPolicy::new(plugin, self.outbound.clone(), self.redactor.clone()),
                table: wasmtime::component::ResourceTable::new(),
            },
        );
        store.limiter(|s| &mut s.limiter);
        // Instantiation runs guest code (start functions, `configure`): arm the deadline
        // before it.
        self.arm(&mut store);
        store
    }

    fn arm(&self, store: &mut Store<StoreState>) {
        store.set_epoch_deadline(self.deadline_ticks());
        let timeout = self.spec.limits.call_timeout;
        store.data_mut().set_deadline(Instant::now() + timeout);
        store.data().output_budget.begin_call();
    }

    /// Turns a failed call into a `PluginError`, using what the store recorded.
    fn classify(&self, store: &Store<StoreState>, error: wasmtime::Error) -> PluginError {
        let plugin = self.spec.name.clone();
        let state = store.data();
        if state.limiter.denied.is_some() {
            return PluginError::OutOfMemory {
                plugin,
                limit: self.spec.limits.memory_bytes,
            };
        }
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>()
            && *trap == wasmtime::Trap::Interrupt
        {
            return PluginError::Timeout {
                plugin,
                timeout: self.spec.limits.call_timeout,
            };
        }
        let mut detail = match (
            error.downcast_ref::<wasmtime_wasi::I32Exit>(),
            error.downcast_ref::<wasmtime::Trap>(),
        ) {
            (Some(exit), _) => format!("it called exit({}), which ends the call as a trap", exit.0),
            (None, Some(trap)) => trap.to_string(),
            (None, None) => format!("{error:#}"),
        };
        if let Some(panic) = &state.last_panic {
            detail = format!("{detail}; {panic}");
        } else if let Some(said) = wasi::own_message(&state.stderr.last_lines()) {
            detail = format!("{detail}; it said: {said}");
        }
        PluginError::Trap {
            plugin,
            detail: self.redactor.redact(&detail),
        }
    }
}

/// One plugin's instance for one worker, re-created after a failure.
pub(crate) struct Slot<W: World> {
    pub(crate) plugin: Arc<Loaded<W>>,
    /// The plugin's name, shared by what it answers (an exclusion names its filter).
    name: Arc<str>,
    values: RunValues,
    config: Vec<(String, String)>,
    live: Option<(Store<StoreState>, W)>,
    /// What the plugin's `configure` said it reads.
    pub(crate) fields: EntryFields,
}

impl<W: World> Slot<W> {
    pub(crate) fn new(plugin: &Arc<Loaded<W>>, values: &RunValues) -> Self {
        Slot {
            plugin: plugin.clone(),
            name: Arc::from(plugin.spec.name.as_str()),
            values: values.clone(),
            config: instance_config(&plugin.config, values, plugin.interface == Interface::V2),
            live: None,
            fields: EntryFields::empty(),
        }
    }

    /// The interface version the plugin was built against.
    pub(crate) fn interface(&self) -> Interface {
        self.plugin.interface
    }

    /// Uses `values` from now on; a live instance configured with other values is dropped,
    /// so the next call configures a new one.
    pub(crate) fn set_values(&mut self, values: &RunValues) {
        if &self.values != values {
            *self = Slot::new(&self.plugin, values);
        }
    }

    pub(crate) fn ensure_live(&mut self) -> Result<(), PluginError> {
        if self.live.is_some() {
            return Ok(());
        }
        let plugin = self.plugin.clone();
        let config = &self.config;
        let (store, world, fields) = blocking(|| {
            let mut store = plugin.new_store(&self.values);
            let world =
                W::instantiate(&plugin.pre, &mut store).map_err(|e| plugin.classify(&store, e))?;
            plugin.arm(&mut store);
            match world.configure(&mut store, config) {
                Ok(_) if store.data().ran_over() => Err(PluginError::Timeout {
                    plugin: plugin.spec.name.clone(),
                    timeout: plugin.spec.limits.call_timeout,
                }),
                Ok(Ok(fields)) => Ok((store, world, fields)),
                Ok(Err(message)) => Err(PluginError::ConfigRejected {
                    plugin: plugin.spec.name.clone(),
                    origin: plugin.spec.origin.clone(),
                    message: plugin.redactor.redact(&message),
                }),
                Err(e) => Err(plugin.classify(&store, e)),
            }
        })?;
        self.fields = fields;
        self.live = Some((store, world));
        Ok(())
    }

    /// The store of the live instance, to prepare a call (read-content's batch).
    fn content(&mut self) -> Option<&mut ContentAccess> {
        self.live
            .as_mut()
            .map(|(store, _)| &mut store.data_mut().content)
    }

    /// Asks the plugin about `entries` (all from `side`) through `call`, with
    /// `read-content` open on those entries only for the call; checks that it answered
    /// for each entry.
    pub(crate) fn ask<R>(
        &mut self,
        side: Side,
        entries: &[Entry],
        call: impl FnOnce(&mut Self) -> Result<Vec<R>, PluginError>,
    ) -> Result<Vec<R>, PluginError> {
        self.ensure_live()?;
        if let Some(content) = self.content() {
            content.begin(side, entries.iter());
        }
        let result = call(self);
        if let Some(content) = self.content() {
            content.end();
        }
        let answers = result?;
        self.check_count(entries.len(), answers.len())?;
        Ok(answers)
    }

    /// Packs `entries` into `packer`'s columns with the fields the plugin reads.
    pub(crate) fn pack<'p, 'e>(
        &self,
        packer: &'p mut Packer,
        entries: impl ExactSizeIterator<Item = &'e Entry>,
    ) -> Result<&'p Entries, PluginError> {
        packer
            .pack(entries, self.fields)
            .map_err(|e| PluginError::Entry {
                plugin: self.plugin.spec.name.clone(),
                path: e.path,
                reason: "a path containing NUL cannot be passed to plugins".into(),
            })
    }

    /// Calls into the plugin with a fresh deadline. On failure the instance is dropped.
    pub(crate) fn call<R>(
        &mut self,
        f: impl FnOnce(&W, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.ensure_live()?;
        let plugin = self.plugin.clone();
        let Some((store, world)) = self.live.as_mut() else {
            return Err(PluginError::Trap {
                plugin: plugin.spec.name.clone(),
                detail: "internal error: the instance is gone".into(),
            });
        };
        plugin.arm(store);
        let result = blocking(|| f(world, store));
        match result {
            // A guest woken from a sleep capped at its deadline may return before any
            // epoch check: the call still ran past its time.
            Ok(_) if store.data().ran_over() => {
                self.live = None;
                Err(PluginError::Timeout {
                    plugin: plugin.spec.name.clone(),
                    timeout: plugin.spec.limits.call_timeout,
                })
            }
            Ok(r) => Ok(r),
            Err(e) => {
                let err = plugin.classify(store, e);
                self.live = None;
                Err(err)
            }
        }
    }

    pub(crate) fn check_count(&self, expected: usize, got: usize) -> Result<(), PluginError> {
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

    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn failure(&self) -> FailurePolicy {
        self.plugin.spec.failure
    }

    /// Redacts the plugin's secrets from a text it produced (a reason).
    pub(crate) fn redact(&self, text: &mut String) {
        if !self.plugin.redactor.is_empty() {
            self.plugin.redactor.redact_in_place(text);
        }
    }
}

/// Runs a plugin call where blocking is allowed: on a multi-threaded tokio runtime's
/// worker, through `block_in_place`; elsewhere (a plain thread, `spawn_blocking`) as is.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
