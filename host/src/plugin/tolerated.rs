//! Failures of fail-open plugins: the run goes on, and each plugin's failures are tallied
//! by name with the last error, so the summary and the job record say which plugin failed
//! and why (not only how often).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::error::PluginError;

/// One plugin's fail-open failures in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginFailures {
    /// The plugin's name in the manifest (or the built-in's name).
    pub plugin: String,
    /// How many calls failed.
    pub count: u64,
    /// What the last one said.
    pub last_error: String,
}

/// The fail-open failures recorded since the last [`Tolerated::take`].
#[derive(Debug, Default)]
pub struct Tolerated(Mutex<BTreeMap<String, (u64, String)>>);

impl Tolerated {
    /// Records a failure of `plugin`.
    pub fn record(&self, plugin: &str, error: &str) {
        let mut by = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = by.entry(plugin.to_string()).or_default();
        entry.0 += 1;
        entry.1 = error.to_string();
    }

    /// Logs a fail-open plugin's failure with its `consequence` (what it means for the
    /// batch) and records it.
    pub(crate) fn tolerate(&self, plugin: &str, error: &PluginError, consequence: &str) {
        tracing::warn!("{error} (fail-open: {consequence})");
        self.record(plugin, &error.to_string());
    }

    /// The failures so far, by plugin name, and forgets them (a session takes them at the
    /// end of each run).
    pub fn take(&self) -> Vec<PluginFailures> {
        let by = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        by.into_iter()
            .map(|(plugin, (count, last_error))| PluginFailures {
                plugin,
                count,
                last_error,
            })
            .collect()
    }
}

/// The failures of several tallies together, by plugin.
pub fn combine(parts: impl IntoIterator<Item = PluginFailures>) -> Vec<PluginFailures> {
    let mut by: BTreeMap<String, PluginFailures> = BTreeMap::new();
    for p in parts {
        match by.get_mut(&p.plugin) {
            Some(seen) => {
                seen.count += p.count;
                seen.last_error = p.last_error;
            }
            None => {
                by.insert(p.plugin.clone(), p);
            }
        }
    }
    by.into_values().collect()
}
