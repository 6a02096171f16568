//! WebAssembly plugins: loading, sandboxing, and the typed calls the pipeline makes.
//!
//! [`PluginHost`] is built once per run from a [`PluginSet`] (the built-in plugins
//! configured by flags plus a manifest's). Building it reads, verifies, compiles and
//! probes every plugin (instantiate + `configure`), so every load or configuration error
//! surfaces before anything is listed. After that it is immutable; each pipeline worker
//! asks it for its own instances ([`FilterChain`], [`ComparatorInstance`],
//! [`HookInstance`]), which create a `Store` from a shared `InstancePre` when first used
//! and again after any trap.

mod bindings;
pub(crate) mod build;
mod builtin;
pub(crate) mod inspect;
mod instance;
mod load;
pub(crate) mod manifest;
mod output;
mod runtime;
mod world;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

pub use bindings::types::{
    Action, ComparatorInfo, Decision, EndpointKind, Entry, Event, EventAction, Outcome, Pair,
    RunStatus, Side, Summary, Verdict,
};
pub use instance::{ComparatorInstance, Exclusion, FilterChain, HookInstance};
pub use runtime::Runtime;

use bindings::{comparator, filter, hook};
use load::Loaded;

impl Entry {
    /// A file (or blob) entry.
    pub fn file(
        path: String,
        size: u64,
        mtime_ns: i64,
        md5: Option<[u8; 16]>,
        endpoint: EndpointKind,
        metadata: Vec<(String, String)>,
    ) -> Entry {
        Entry {
            path,
            size,
            mtime_ns,
            md5: md5.map(|m| m.to_vec()),
            is_dir: false,
            endpoint,
            metadata,
        }
    }

    /// A directory (or blob prefix) entry.
    pub fn dir(path: String, mtime_ns: i64, endpoint: EndpointKind) -> Entry {
        Entry {
            path,
            size: 0,
            mtime_ns,
            md5: None,
            is_dir: true,
            endpoint,
            metadata: Vec::new(),
        }
    }
}

/// The WIT package version this host implements.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// The three kinds of plugin, one per WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// Includes or excludes entries (`[[filter]]`).
    Filter,
    /// Decides which pairs are copied (`[comparator]`).
    Comparator,
    /// Observes what was done (`[[hook]]`).
    Hook,
}

impl PluginKind {
    /// The manifest section that lists plugins of this kind.
    pub fn manifest_section(self) -> &'static str {
        match self {
            PluginKind::Filter => "[[filter]]",
            PluginKind::Comparator => "[comparator]",
            PluginKind::Hook => "[[hook]]",
        }
    }

    /// The default failure policy: filters and comparators decide what is copied or
    /// deleted, so their failure stops the run; a hook only observes.
    pub fn default_failure(self) -> FailurePolicy {
        match self {
            PluginKind::Filter | PluginKind::Comparator => FailurePolicy::FailClosed,
            PluginKind::Hook => FailurePolicy::FailOpen,
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Filter => "filter",
            PluginKind::Comparator => "comparator",
            PluginKind::Hook => "hook",
        })
    }
}

/// What happens when a plugin fails during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Stop the run (nothing further is copied or deleted).
    FailClosed,
    /// Log and count the failure and go on: a failed filter batch is included, a failed
    /// comparator batch is transferred, a failed hook batch is dropped.
    FailOpen,
}

/// Resource limits for one plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory, in bytes.
    pub memory_bytes: usize,
    /// Maximum wall time of one call (a batch).
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            call_timeout: Duration::from_secs(5),
        }
    }
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// One of the components built into blobsync (`builtin:NAME`).
    Builtin(&'static str),
    /// A `.wasm` file.
    File(PathBuf),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::Builtin(name) => write!(f, "builtin:{name}"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Everything needed to load one plugin.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The name used in messages, logs and job records.
    pub name: String,
    /// The kind the manifest (or flag) says it is; the component must agree.
    pub kind: PluginKind,
    /// Where the component comes from.
    pub source: PluginSource,
    /// A pinned sha256 of the component; a mismatch refuses to load.
    pub sha256: Option<[u8; 32]>,
    /// What a failure during the run does.
    pub failure: FailurePolicy,
    /// Memory and time limits.
    pub limits: Limits,
    /// The configuration passed to `configure`.
    pub config: Vec<(String, String)>,
    /// For hooks: the file the `output` capability appends to.
    pub output: Option<PathBuf>,
    /// Where the spec came from, for error messages ("manifest x.toml", "--include-pattern").
    pub origin: String,
}

impl PluginSpec {
    /// A plugin that ships inside the binary, with its kind's default failure policy and
    /// limits; `origin` names what asked for it ("command-line flags", "--compare-hash=MD5").
    pub fn builtin(
        kind: PluginKind,
        name: &'static str,
        config: Vec<(String, String)>,
        origin: impl Into<String>,
    ) -> Self {
        PluginSpec {
            name: name.to_string(),
            kind,
            source: PluginSource::Builtin(name),
            sha256: None,
            failure: kind.default_failure(),
            limits: Limits::default(),
            config,
            output: None,
            origin: origin.into(),
        }
    }
}

/// The plugins of one run.
#[derive(Debug, Clone)]
pub struct PluginSet {
    /// Filters, applied in order; an entry excluded by any of them is excluded.
    pub filters: Vec<PluginSpec>,
    /// The comparator.
    pub comparator: PluginSpec,
    /// Hooks, each on its own worker.
    pub hooks: Vec<PluginSpec>,
}

/// Why a plugin could not be loaded or failed during a call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The component could not be read, verified, compiled or linked.
    #[error("cannot load plugin `{plugin}` from {source_desc}: {reason}")]
    Load {
        /// The plugin's name.
        plugin: String,
        /// Where it was loaded from.
        source_desc: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// `configure` returned an error.
    #[error("plugin `{plugin}` rejected its configuration (from {origin}): {message}")]
    ConfigRejected {
        /// The plugin's name.
        plugin: String,
        /// Where the configuration came from.
        origin: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin trapped (a panic, `unreachable`, a stack overflow…).
    #[error("plugin `{plugin}` trapped: {detail}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap and, when the plugin panicked, its panic message.
        detail: String,
    },
    /// A call ran past its deadline.
    #[error(
        "plugin `{plugin}` ran longer than its {} ms call timeout and was stopped \
         (raise `limits.call-timeout-ms` in the manifest if the work is legitimate)",
        timeout.as_millis()
    )]
    Timeout {
        /// The plugin's name.
        plugin: String,
        /// The per-call timeout.
        timeout: Duration,
    },
    /// The plugin tried to grow its memory past the limit.
    #[error(
        "plugin `{plugin}` tried to use more than its memory limit of {} MiB and was stopped \
         (raise `limits.memory-mb` in the manifest if it really needs more)",
        limit >> 20
    )]
    OutOfMemory {
        /// The plugin's name.
        plugin: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The plugin answered a batch with the wrong number of results.
    #[error(
        "plugin `{plugin}` returned {got} results for a batch of {expected}; a plugin must \
         answer every entry, in order"
    )]
    BadResultCount {
        /// The plugin's name.
        plugin: String,
        /// Entries sent.
        expected: usize,
        /// Results received.
        got: usize,
    },
}

impl PluginError {
    /// The plugin the error is about.
    pub fn plugin(&self) -> &str {
        match self {
            PluginError::Load { plugin, .. }
            | PluginError::ConfigRejected { plugin, .. }
            | PluginError::Trap { plugin, .. }
            | PluginError::Timeout { plugin, .. }
            | PluginError::OutOfMemory { plugin, .. }
            | PluginError::BadResultCount { plugin, .. } => plugin,
        }
    }
}

/// Every plugin of a run, loaded, compiled and probed. Immutable once built.
pub struct PluginHost {
    /// Keeps the engine and its epoch ticker alive as long as any instance can run.
    _runtime: Arc<Runtime>,
    /// Failures fail-open filters and comparators turned into warnings.
    tolerated: Arc<AtomicU64>,
    filters: Vec<Arc<Loaded<filter::Filter>>>,
    comparator: Arc<Loaded<comparator::Comparator>>,
    comparator_info: ComparatorInfo,
    hooks: Vec<Arc<Loaded<hook::Hook>>>,
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginHost")
            .field(
                "filters",
                &self
                    .filters
                    .iter()
                    .map(|p| &p.spec.name)
                    .collect::<Vec<_>>(),
            )
            .field("comparator", &self.comparator.spec.name)
            .field(
                "hooks",
                &self.hooks.iter().map(|p| &p.spec.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PluginHost {
    /// Loads every plugin of `set`: reads and verifies each component, checks its world and
    /// interface version, compiles it (or loads it from the cache), instantiates it once
    /// and calls `configure`. Any failure names the plugin and says what to do.
    pub fn new(runtime: &Arc<Runtime>, set: &PluginSet) -> Result<PluginHost, PluginError> {
        let filters = set
            .filters
            .iter()
            .map(|spec| Loaded::load(runtime, spec).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let comparator = Arc::new(Loaded::load(runtime, &set.comparator)?);
        let hooks = set
            .hooks
            .iter()
            .map(|spec| Loaded::load(runtime, spec).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;

        // Probe every plugin once so configuration errors surface at start-up.
        let tolerated = Arc::new(AtomicU64::new(0));
        let mut chain = FilterChain::new(&filters, tolerated.clone());
        chain.probe()?;
        let mut probe = ComparatorInstance::new(&comparator, tolerated.clone());
        let comparator_info = probe.probe()?;
        for hook in &hooks {
            HookInstance::new(hook).probe()?;
        }
        Ok(PluginHost {
            _runtime: runtime.clone(),
            tolerated,
            filters,
            comparator,
            comparator_info,
            hooks,
        })
    }

    /// A new set of filter instances for one worker.
    pub fn filter_chain(&self) -> FilterChain {
        FilterChain::new(&self.filters, self.tolerated.clone())
    }

    /// Failures that fail-open filters and comparators turned into warnings so far.
    pub fn tolerated_failures(&self) -> u64 {
        self.tolerated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when there are no filters at all (the pipeline can skip filtering).
    pub fn has_filters(&self) -> bool {
        !self.filters.is_empty()
    }

    /// A new comparator instance for one worker.
    pub fn comparator(&self) -> ComparatorInstance {
        ComparatorInstance::new(&self.comparator, self.tolerated.clone())
    }

    /// What the comparator asked for in `configure`.
    pub fn comparator_info(&self) -> ComparatorInfo {
        self.comparator_info
    }

    /// One instance of each hook.
    pub fn hooks(&self) -> Vec<HookInstance> {
        self.hooks.iter().map(HookInstance::new).collect()
    }

    /// Names of all plugins, by kind, for logs and job records.
    pub fn describe(&self) -> String {
        fn names<W: world::World>(v: &[Arc<Loaded<W>>]) -> String {
            v.iter()
                .map(|p| p.describe())
                .collect::<Vec<_>>()
                .join(", ")
        }
        format!(
            "filters [{}], comparator {}, hooks [{}]",
            names(&self.filters),
            self.comparator.describe(),
            names(&self.hooks)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn builtin_spec(
        kind: PluginKind,
        name: &'static str,
        config: &[(&str, &str)],
    ) -> PluginSpec {
        let config = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PluginSpec::builtin(kind, name, config, "test")
    }

    fn entry(path: &str) -> Entry {
        Entry::file(path.into(), 1, 0, None, EndpointKind::Local, vec![])
    }

    #[test]
    fn builtin_glob_filter_runs_in_wasm() {
        let runtime = Arc::new(Runtime::new(None).unwrap());
        let set = PluginSet {
            filters: vec![builtin_spec(
                PluginKind::Filter,
                "glob-filter",
                &[("include-pattern", "*.json")],
            )],
            comparator: builtin_spec(PluginKind::Comparator, "md5-compare", &[]),
            hooks: vec![],
        };
        let host = PluginHost::new(&runtime, &set).unwrap();
        assert!(host.comparator_info().needs_md5);
        let mut chain = host.filter_chain();
        let out = chain
            .apply(Side::Source, &[entry("a.json"), entry("b.txt")])
            .unwrap();
        assert_eq!(out[0], None);
        assert_eq!(
            out[1].as_ref().unwrap().reason,
            "matches no --include-pattern"
        );
    }

    #[test]
    fn rejected_config_names_the_plugin_and_origin() {
        let runtime = Arc::new(Runtime::new(None).unwrap());
        let set = PluginSet {
            filters: vec![builtin_spec(
                PluginKind::Filter,
                "glob-filter",
                &[("include-pattern", "[a-")],
            )],
            comparator: builtin_spec(PluginKind::Comparator, "mtime-compare", &[]),
            hooks: vec![],
        };
        let err = PluginHost::new(&runtime, &set).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PluginError::ConfigRejected { .. }), "{text}");
        assert!(
            text.contains("`glob-filter`") && text.contains("[a-"),
            "{text}"
        );
    }

    #[test]
    fn a_kind_mismatch_is_a_load_error() {
        let runtime = Arc::new(Runtime::new(None).unwrap());
        let mut spec = builtin_spec(PluginKind::Filter, "md5-compare", &[]);
        spec.name = "wrong".into();
        let set = PluginSet {
            filters: vec![spec],
            comparator: builtin_spec(PluginKind::Comparator, "mtime-compare", &[]),
            hooks: vec![],
        };
        let text = PluginHost::new(&runtime, &set).unwrap_err().to_string();
        assert!(
            text.contains("it is a comparator plugin, but it is listed as a filter"),
            "{text}"
        );
    }
}
