//! A run's configuration while the command line's validation derives it (`validate` and
//! `write_flags` fill it in turn).

use super::locations::Locations;
use crate::plugin::PluginSources;
use crate::sync::SyncConfig;

/// A run's configuration while it is derived: the [`SyncConfig`] so far, and what goes
/// around it until the plugins are resolved and the output settled.
pub(super) struct Derived {
    /// The configuration: what the steps so far read, the rest at its defaults.
    pub(super) config: SyncConfig,
    /// The source and destination as read, and how other blob URLs are read.
    pub(super) places: Locations,
    /// Where the plugins come from (resolved last).
    pub(super) sources: PluginSources,
    /// `--include-path` and `--files-from`, if given.
    pub(super) scopes: Option<Vec<String>>,
}
