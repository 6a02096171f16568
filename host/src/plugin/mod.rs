//! WebAssembly plugins: loading, sandboxing, and the typed calls the pipeline makes.
//!
//! [`PluginHost`] is built once per session from a [`PluginSet`] (the built-in plugins
//! configured by flags plus a manifest's, see [`PluginSources`]). Building it reads,
//! verifies, compiles and probes every plugin (instantiate + `configure`), so every load
//! or configuration error surfaces before anything is listed. After that it is immutable;
//! each pipeline worker asks it for its own instances, configured with the run's values
//! ([`RunValues`]): [`FilterChain`], [`ComparatorInstance`], [`AnnotatorChain`],
//! [`HookInstance`]. Each creates a `Store` from a shared `InstancePre` when first used
//! and again after any trap.
//!
//! Plugins run sandboxed: WASI 0.2 is linked with nothing granted (`wasi.rs`); a manifest
//! grants capabilities one by one (`output`, `read-content`, `allowed-outbound-hosts`,
//! `env`), see [`Grants`]. Plugins built against `blobsync:plugin@0.1` still load
//! (`legacy.rs`).
//!
//! Every call into a plugin may block: make it from a thread that may block (a pipeline
//! thread, `spawn_blocking`), never from an async task on a current-thread runtime.

mod annotation;
mod annotator_chain;
mod bindings;
pub(crate) mod build;
mod builtin;
mod chain;
mod comparator;
mod content;
mod entry;
mod error;
mod filter_chain;
mod hook;
mod host;
mod http;
mod imports;
pub(crate) mod inspect;
mod instance;
mod legacy;
mod load;
pub(crate) mod manifest;
mod output;
mod redact;
mod reload;
mod resolver_chain;
mod runtime;
pub(crate) mod scaffold;
mod sources;
mod spec;
mod state;
mod tolerated;
mod values;
mod wasi;
mod world;

pub use annotation::{MAX_TAGS, empty_annotation, merge, validate};
pub use annotator_chain::AnnotatorChain;
pub use bindings::types::{
    AccessTier, Action, Annotation, ArchiveStatus, ContentHeaders, EndpointKind, EntryFields,
    Event, EventAction, Outcome, RunStatus, Side, Summary,
};
pub use comparator::{ComparatorInfo, ComparatorInstance, Decision};
pub use entry::{Entry, Pair};
pub use error::PluginError;
pub use filter_chain::{Exclusion, FilterChain};
pub use hook::HookInstance;
pub use host::PluginHost;
pub use http::Origin;
pub use imports::{ImportClass, check as check_import};
pub use redact::{Redactor, redact_secrets};
pub use reload::{PluginWatch, ReloadError};
pub use resolver_chain::{Choice, Conflict, ConflictFacts, Resolution, ResolverChain};
pub use runtime::Runtime;
pub use sources::PluginSources;
pub use spec::{FailurePolicy, Grants, Limits, PluginKind, PluginSet, PluginSource, PluginSpec};
pub use tolerated::{PluginFailures, Tolerated, combine as combine_failures};
pub use values::{JOB_ID_KEY, PRECISION_KEY, RunValues, STARTED_KEY};
pub use world::{DirectedEvent, Direction, PairSide, SettledConflict};

/// The WIT package version this host implements (it also loads 0.1.x plugins).
pub const INTERFACE_VERSION: &str = inspect::SUPPORTED_VERSIONS[0];

#[cfg(test)]
mod tests;
