//! Watch mode's plugins: the hooks' workers for the plugins in use, and reloading a
//! changed manifest or plugin file between runs. A set that fails to load (or whose hooks
//! cannot start) is logged and the running plugins stay; a reloaded set is used from the
//! next run on, which is then a full sync (new filters or annotators may decide
//! differently about files nothing else changed).

use std::sync::Arc;

use super::observer::{Observer, Observers};
use super::session::Session;
use crate::plugin::{PluginHost, PluginSources, PluginWatch, Runtime};

/// Starts the hooks' workers for a set of plugins: `None` when it has no hooks.
pub type HookStarter =
    Box<dyn Fn(&PluginHost) -> Result<Option<Arc<dyn Observer>>, String> + Send + Sync>;

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// No plugin file changed.
    Unchanged,
    /// New plugins are in use (their description).
    Reloaded(String),
    /// The changed files failed to load (why); the running plugins stay.
    Kept(String),
}

/// The plugins a watch runs with, and how they are reloaded.
pub struct WatchedPlugins {
    watch: Option<PluginWatch>,
    start_hooks: HookStarter,
    hooks: Option<Arc<dyn Observer>>,
}

impl WatchedPlugins {
    /// Starts the hooks of `session`'s plugins; `sources` (how flags and the manifest made
    /// them) is what is reloaded when its files change (`None`: never reloaded).
    pub fn new(
        session: &Session,
        sources: Option<PluginSources>,
        start_hooks: HookStarter,
    ) -> Result<WatchedPlugins, String> {
        let hooks = start_hooks(session.plugins())?;
        Ok(WatchedPlugins {
            watch: sources.map(|s| PluginWatch::new(s, &session.config().plugins)),
            start_hooks,
            hooks,
        })
    }

    /// `base` and the hooks, for one run.
    pub fn observer(&self, base: &Arc<dyn Observer>) -> Arc<dyn Observer> {
        match &self.hooks {
            Some(hooks) => Arc::new(Observers::new(vec![base.clone(), hooks.clone()])),
            None => base.clone(),
        }
    }

    /// Loads the plugins again if a manifest or plugin file changed.
    pub async fn reload(&mut self, session: &mut Session) -> Reload {
        let Some(mut watch) = self.watch.take() else {
            return Reload::Unchanged;
        };
        if !watch.changed() {
            self.watch = Some(watch);
            return Reload::Unchanged;
        }
        let cache = session.config().cache_dir.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let result = Runtime::shared(cache)
                .map_err(|e| format!("cannot start the plugin runtime: {e:#}"))
                .and_then(|runtime| watch.reload_if_changed(&runtime).map_err(|e| e.to_string()));
            (watch, result)
        })
        .await;
        let (watch, result) = match loaded {
            Ok(done) => done,
            // The watch was lost with the task: no more reloads.
            Err(e) => return Reload::Kept(format!("the reload failed: {e}")),
        };
        self.watch = Some(watch);
        let (set, host) = match result {
            Ok(None) => return Reload::Unchanged,
            Ok(Some(loaded)) => loaded,
            Err(e) => return Reload::Kept(e),
        };
        match (self.start_hooks)(&host) {
            Ok(hooks) => {
                // The old hooks' workers finish what they were given before they stop.
                self.hooks = None;
                self.hooks = hooks;
                let description = host.describe();
                session.replace_plugins(set, host);
                Reload::Reloaded(description)
            }
            Err(e) => Reload::Kept(format!("the new hooks cannot start: {e}")),
        }
    }
}
