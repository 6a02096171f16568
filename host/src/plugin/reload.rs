//! Reloading plugins in watch mode: before each run the watch loop asks
//! [`PluginWatch::reload_if_changed`], which notices a changed manifest or plugin file,
//! loads the new set, and returns it; if the new set fails to load, the error is returned
//! and the caller keeps running the plugins it has.
//!
//! Changes are detected from each file's identity and times (device, inode, size,
//! modification and change times, to the nanosecond), so replacing a file by a rename and
//! rewriting it in place are both seen, without reading tens of MiB per run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::PluginError;
use super::host::PluginHost;
use super::manifest::ManifestError;
use super::runtime::Runtime;
use super::sources::PluginSources;
use super::spec::{PluginSet, PluginSource};

/// What identifies one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(u64, u64, u64, i64, i64, i64, i64)>);

impl Stamp {
    fn of(path: &Path) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp(std::fs::metadata(path).ok().map(|m| {
            (
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            )
        }))
    }
}

/// Why a reload failed; the previous plugins stay in use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The manifest cannot be read or is invalid.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// A plugin failed to load or to configure.
    #[error("{0}")]
    Plugin(#[from] PluginError),
}

/// The files a run's plugins were loaded from, and how to load them again.
#[derive(Debug)]
pub struct PluginWatch {
    sources: PluginSources,
    stamps: Vec<(PathBuf, Stamp)>,
}

impl PluginWatch {
    /// Starts watching the manifest of `sources` and the plugin files of `loaded` (the set
    /// the current [`PluginHost`] was built from).
    pub fn new(sources: PluginSources, loaded: &PluginSet) -> PluginWatch {
        let stamps = files(&sources, loaded)
            .into_iter()
            .map(|p| {
                let stamp = Stamp::of(&p);
                (p, stamp)
            })
            .collect();
        PluginWatch { sources, stamps }
    }

    /// True when the manifest or a plugin file changed since the last load.
    pub fn changed(&self) -> bool {
        self.stamps.iter().any(|(p, s)| Stamp::of(p) != *s)
    }

    /// If something changed, loads the plugins again. `Ok(None)`: nothing changed.
    /// `Ok(Some((set, host)))`: use `host` (loaded from `set`) from the next run on (and restart the hooks' workers
    /// with its hooks). `Err`: the new plugins failed to load; keep the current ones and
    /// log the error. A failed version is not retried until a file changes again.
    ///
    /// It compiles and calls plugins: call it from a thread that may block
    /// (`spawn_blocking`).
    pub fn reload_if_changed(
        &mut self,
        runtime: &Arc<Runtime>,
    ) -> Result<Option<(PluginSet, PluginHost)>, ReloadError> {
        if !self.changed() {
            return Ok(None);
        }
        // Stamp first: whatever the outcome, this version of the files has been tried.
        let set = match self.sources.resolve() {
            Ok(set) => set,
            Err(e) => {
                self.restamp(None);
                return Err(e.into());
            }
        };
        self.restamp(Some(&set));
        let host = PluginHost::new(runtime, &set)?;
        tracing::info!("plugins reloaded: {}", host.describe());
        Ok(Some((set, host)))
    }

    fn restamp(&mut self, set: Option<&PluginSet>) {
        let mut paths: Vec<PathBuf> = self.stamps.iter().map(|(p, _)| p.clone()).collect();
        if let Some(set) = set {
            paths = files(&self.sources, set);
        }
        self.stamps = paths
            .into_iter()
            .map(|p| {
                let stamp = Stamp::of(&p);
                (p, stamp)
            })
            .collect();
    }
}

/// The manifest and every plugin file of `set`.
fn files(sources: &PluginSources, set: &PluginSet) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = sources.manifest.iter().cloned().collect();
    for spec in set.specs() {
        if let PluginSource::File(path) = &spec.source
            && !out.contains(path)
        {
            out.push(path.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::spec::{PluginKind, PluginSpec};

    fn sources(manifest: &Path) -> PluginSources {
        PluginSources {
            filters: vec![],
            comparator: PluginSpec::builtin(PluginKind::Comparator, "mtime-compare", vec![], "t"),
            comparator_flag: None,
            annotators: vec![],
            manifest: Some(manifest.to_path_buf()),
        }
    }

    #[test]
    fn a_changed_manifest_is_loaded_and_a_broken_one_keeps_the_old_plugins() {
        let runtime = Arc::new(Runtime::new(None).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("plugins.toml");
        std::fs::write(&manifest, "version = 1\n").unwrap();
        let sources = sources(&manifest);
        let set = sources.resolve().unwrap();
        let mut watch = PluginWatch::new(sources, &set);
        assert!(!watch.changed());
        assert!(watch.reload_if_changed(&runtime).unwrap().is_none());

        std::fs::write(
            &manifest,
            "version = 1\n[[filter]]\nname = \"new\"\nsource = \"builtin:glob-filter\"\n",
        )
        .unwrap();
        let (set, host) = watch.reload_if_changed(&runtime).unwrap().unwrap();
        assert!(host.has_filters());
        assert_eq!(set.filters.len(), 1);
        assert!(
            watch.reload_if_changed(&runtime).unwrap().is_none(),
            "loaded once"
        );

        std::fs::write(
            &manifest,
            "version = 1\n[[filter]]\nsource = \"gone.wasm\"\n",
        )
        .unwrap();
        let err = watch.reload_if_changed(&runtime).unwrap_err();
        assert!(err.to_string().contains("gone.wasm"), "{err}");
        assert!(
            watch.reload_if_changed(&runtime).unwrap().is_none(),
            "a failed version is not retried until it changes"
        );
    }
}
