//! [`PluginHost`]: every plugin of a run, loaded, compiled and probed once, then handing
//! out per-worker instances configured with each run's values.

use std::fmt;
use std::sync::Arc;

use super::annotator_chain::AnnotatorChain;
use super::chain::Chain;
use super::comparator::{ComparatorInfo, ComparatorInstance};
use super::error::PluginError;
use super::filter_chain::FilterChain;
use super::hook::HookInstance;
use super::load::Loaded;
use super::resolver_chain::ResolverChain;
use super::runtime::Runtime;
use super::spec::PluginSet;
use super::tolerated::{PluginFailures, Tolerated};
use super::values::RunValues;
use super::world::{Annotator, Comparator, Filter, Hook, Resolver, World};

/// Every plugin of a run, loaded, compiled and probed. Immutable once built.
pub struct PluginHost {
    /// Keeps the engine and its epoch ticker alive as long as any instance can run.
    _runtime: Arc<Runtime>,
    /// Failures fail-open plugins turned into warnings.
    tolerated: Arc<Tolerated>,
    filters: Vec<Arc<Loaded<Filter>>>,
    comparator: Arc<Loaded<Comparator>>,
    comparator_info: ComparatorInfo,
    annotators: Vec<Arc<Loaded<Annotator>>>,
    resolvers: Vec<Arc<Loaded<Resolver>>>,
    hooks: Vec<Arc<Loaded<Hook>>>,
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn names<W: World>(v: &[Arc<Loaded<W>>]) -> Vec<&str> {
            v.iter().map(|p| p.spec.name.as_str()).collect()
        }
        f.debug_struct("PluginHost")
            .field("filters", &names(&self.filters))
            .field("comparator", &self.comparator.spec.name)
            .field("annotators", &names(&self.annotators))
            .field("resolvers", &names(&self.resolvers))
            .field("hooks", &names(&self.hooks))
            .finish()
    }
}

impl PluginHost {
    /// Loads every plugin of `set`: reads and verifies each component, checks its world,
    /// interface version, imports and grants, compiles it (or loads it from the cache),
    /// instantiates it once and calls `configure`. Any failure names the plugin and says
    /// what to do.
    ///
    /// It compiles and calls plugins: call it from a thread that may block
    /// (`spawn_blocking`), not from an async task.
    pub fn new(runtime: &Arc<Runtime>, set: &PluginSet) -> Result<PluginHost, PluginError> {
        fn load_all<W: World>(
            runtime: &Runtime,
            specs: &[super::spec::PluginSpec],
        ) -> Result<Vec<Arc<Loaded<W>>>, PluginError> {
            specs
                .iter()
                .map(|spec| Loaded::load(runtime, spec).map(Arc::new))
                .collect()
        }
        let filters = load_all::<Filter>(runtime, &set.filters)?;
        let comparator = Arc::new(Loaded::load(runtime, &set.comparator)?);
        let annotators = load_all::<Annotator>(runtime, &set.annotators)?;
        let resolvers = load_all::<Resolver>(runtime, &set.resolvers)?;
        let hooks = load_all::<Hook>(runtime, &set.hooks)?;

        // Probe every plugin once so configuration errors surface at start-up.
        let tolerated = Arc::new(Tolerated::default());
        let probe = RunValues::probe();
        Chain::new(&filters, tolerated.clone(), &probe).probe()?;
        let comparator_info =
            ComparatorInstance::new(&comparator, tolerated.clone(), &probe).probe()?;
        Chain::new(&annotators, tolerated.clone(), &probe).probe()?;
        Chain::new(&resolvers, tolerated.clone(), &probe).probe()?;
        for hook in &hooks {
            HookInstance::new(hook, &probe).probe()?;
        }
        Ok(PluginHost {
            _runtime: runtime.clone(),
            tolerated,
            filters,
            comparator,
            comparator_info,
            annotators,
            resolvers,
            hooks,
        })
    }

    /// A new set of filter instances for one worker, configured for the run described by
    /// `values` (job id, start time, local root for `read-content`).
    pub fn filter_chain_for(&self, values: &RunValues) -> FilterChain {
        FilterChain(Chain::new(&self.filters, self.tolerated.clone(), values))
    }

    /// [`PluginHost::filter_chain_for`] with no run values (no job id, no local root).
    pub fn filter_chain(&self) -> FilterChain {
        self.filter_chain_for(&RunValues::probe())
    }

    /// A new comparator instance for one worker, configured for the run.
    pub fn comparator_for(&self, values: &RunValues) -> ComparatorInstance {
        ComparatorInstance::new(&self.comparator, self.tolerated.clone(), values)
    }

    /// [`PluginHost::comparator_for`] with no run values.
    pub fn comparator(&self) -> ComparatorInstance {
        self.comparator_for(&RunValues::probe())
    }

    /// What the comparator asked for in `configure`.
    pub fn comparator_info(&self) -> ComparatorInfo {
        self.comparator_info
    }

    /// A new set of annotator instances for one upload worker, configured for the run
    /// (its `local_root` is where `read-content` reads).
    pub fn annotator_chain_for(&self, values: &RunValues) -> AnnotatorChain {
        AnnotatorChain(Chain::new(&self.annotators, self.tolerated.clone(), values))
    }

    /// True when there are annotators (uploads then need [`AnnotatorChain::annotate`]).
    pub fn has_annotators(&self) -> bool {
        !self.annotators.is_empty()
    }

    /// The run's resolvers (`blobsync bisync`), configured for the run.
    pub fn resolver_chain_for(&self, values: &RunValues) -> ResolverChain {
        ResolverChain(Chain::new(&self.resolvers, self.tolerated.clone(), values))
    }

    /// One instance of each hook, configured for the run. In watch mode, where hooks
    /// outlive runs, call [`HookInstance::begin_run`] as each run starts.
    pub fn hooks_for(&self, values: &RunValues) -> Vec<HookInstance> {
        self.hooks
            .iter()
            .map(|h| HookInstance::new(h, values))
            .collect()
    }

    /// [`PluginHost::hooks_for`] with no run values.
    pub fn hooks(&self) -> Vec<HookInstance> {
        self.hooks_for(&RunValues::probe())
    }

    /// The failures fail-open plugins turned into warnings since the last call, by
    /// plugin.
    pub fn take_tolerated(&self) -> Vec<PluginFailures> {
        self.tolerated.take()
    }

    /// True when there are no filters at all (the pipeline can skip filtering).
    pub fn has_filters(&self) -> bool {
        !self.filters.is_empty()
    }

    /// Names of all plugins, by kind, for logs and job records.
    pub fn describe(&self) -> String {
        fn names<W: World>(v: &[Arc<Loaded<W>>]) -> String {
            v.iter()
                .map(|p| p.describe())
                .collect::<Vec<_>>()
                .join(", ")
        }
        let mut text = format!(
            "filters [{}], comparator {}",
            names(&self.filters),
            self.comparator.describe(),
        );
        if !self.annotators.is_empty() {
            text.push_str(&format!(", annotators [{}]", names(&self.annotators)));
        }
        if !self.resolvers.is_empty() {
            text.push_str(&format!(", resolvers [{}]", names(&self.resolvers)));
        }
        text.push_str(&format!(", hooks [{}]", names(&self.hooks)));
        text
    }
}
