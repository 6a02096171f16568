//! Where a run's plugins come from: the built-ins the command-line flags configure, and a
//! manifest file. [`PluginSources::resolve`] merges them into a [`PluginSet`]; watch mode
//! calls it again when the manifest changes (see `reload.rs`).

use std::path::PathBuf;

use super::manifest::{Manifest, ManifestError};
use super::spec::{PluginSet, PluginSpec};

/// The plugins flags ask for, and the manifest to add.
#[derive(Debug, Clone)]
pub struct PluginSources {
    /// Built-in filters configured by flags; they run before the manifest's filters.
    pub filters: Vec<PluginSpec>,
    /// The comparator flags chose (the default is `builtin:mtime-compare`).
    pub comparator: PluginSpec,
    /// The flag that chose or configured the comparator explicitly (`--compare-hash=MD5`,
    /// `--modify-window`), which a manifest's `[comparator]` must not contradict.
    pub comparator_flag: Option<String>,
    /// Built-in annotators configured by flags (the header, tier, metadata and tag flags
    /// configure `builtin:annotator`); they run before the manifest's annotators, which
    /// override them field by field.
    pub annotators: Vec<PluginSpec>,
    /// The manifest (`--plugins FILE`).
    pub manifest: Option<PathBuf>,
}

impl PluginSources {
    /// Reads the manifest (if any) and merges it with the flags' plugins.
    pub fn resolve(&self) -> Result<PluginSet, ManifestError> {
        let manifest = match &self.manifest {
            Some(path) => Manifest::load(path)?,
            None => Manifest::default(),
        };
        let comparator = match (manifest.comparator, &self.comparator_flag) {
            (Some(_), Some(flag)) => {
                return Err(ManifestError {
                    path: self
                        .manifest
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    reason: format!(
                        "{flag} configures the built-in comparator, but the manifest's \
                         [comparator] replaces it; use one of them"
                    ),
                });
            }
            (Some(c), None) => c,
            (None, _) => self.comparator.clone(),
        };
        let mut filters = self.filters.clone();
        filters.extend(manifest.filters);
        let mut annotators = self.annotators.clone();
        annotators.extend(manifest.annotators);
        Ok(PluginSet {
            filters,
            comparator,
            annotators,
            resolvers: manifest.resolvers,
            hooks: manifest.hooks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::spec::PluginKind;

    fn sources(manifest: Option<PathBuf>, flag: Option<&str>) -> PluginSources {
        PluginSources {
            filters: vec![PluginSpec::builtin(
                PluginKind::Filter,
                "glob-filter",
                vec![],
                "flags",
            )],
            comparator: PluginSpec::builtin(
                PluginKind::Comparator,
                "mtime-compare",
                vec![],
                "flags",
            ),
            comparator_flag: flag.map(String::from),
            annotators: vec![],
            manifest,
        }
    }

    #[test]
    fn the_manifest_adds_to_the_flags_plugins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(
            &path,
            "version = 1\n[[filter]]\nsource = \"builtin:glob-filter\"\nname = \"more\"\n\
             [comparator]\nsource = \"builtin:md5-compare\"\n",
        )
        .unwrap();
        let set = sources(Some(path.clone()), None).resolve().unwrap();
        assert_eq!(set.filters.len(), 2);
        assert_eq!(set.comparator.name, "md5-compare");
        let err = sources(Some(path), Some("--compare-hash=MD5"))
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("--compare-hash=MD5"), "{err}");
        let set = sources(None, None).resolve().unwrap();
        assert_eq!(set.comparator.name, "mtime-compare");
    }
}
