//! [`PluginError`]: why a plugin could not be loaded or failed during a call. Every
//! variant names the plugin and says what to do.

use std::time::Duration;

/// Why a plugin could not be loaded or failed during a call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The component could not be read, verified, compiled or linked, or the manifest's
    /// grants or configuration for it cannot be honoured.
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
    /// The plugin trapped (a panic, `unreachable`, a stack overflow, `exit`…).
    #[error("plugin `{plugin}` trapped: {detail}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap and, when the plugin panicked or printed an error, what it said.
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
    /// An annotator asked for something Azure cannot store (a metadata key that is not
    /// an identifier, too many tags…).
    #[error("plugin `{plugin}` returned an invalid annotation for {path}: {reason}")]
    BadAnnotation {
        /// The plugin's name.
        plugin: String,
        /// The file the annotation was for.
        path: String,
        /// What is invalid.
        reason: String,
    },
    /// An entry cannot be passed to plugins (a path containing NUL).
    #[error("cannot pass {path:?} to plugin `{plugin}`: {reason}")]
    Entry {
        /// The plugin's name.
        plugin: String,
        /// The entry's path.
        path: String,
        /// Why.
        reason: String,
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
            | PluginError::BadResultCount { plugin, .. }
            | PluginError::BadAnnotation { plugin, .. }
            | PluginError::Entry { plugin, .. } => plugin,
        }
    }
}
