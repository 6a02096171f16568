//! Loading one plugin: read and verify the component, check its world, interface version
//! and imports, compile it (or take it from the cache) and pre-instantiate it for its
//! world.

use std::sync::Arc;

use wasmtime::component::InstancePre;

use super::inspect::{self, compatible};
use super::output::OutputFile;
use super::runtime::{Runtime, StoreState, sha256};
use super::world::World;
use super::{INTERFACE_VERSION, PluginError, PluginKind, PluginSource, PluginSpec, builtin};

/// A plugin that passed every load-time check, pre-instantiated for its world.
pub(crate) struct Loaded<W: World> {
    pub(crate) spec: PluginSpec,
    pub(crate) sha256: [u8; 32],
    pub(crate) pre: W::Pre,
    pub(crate) output: Option<Arc<OutputFile>>,
}

impl<W: World> Loaded<W> {
    pub(crate) fn load(runtime: &Runtime, spec: &PluginSpec) -> Result<Self, PluginError> {
        let fail = |reason: String| PluginError::Load {
            plugin: spec.name.clone(),
            source_desc: spec.source.to_string(),
            reason,
        };
        let owned;
        let bytes: &[u8] = match &spec.source {
            PluginSource::Builtin(name) => builtin::bytes(name).ok_or_else(|| {
                fail(format!(
                    "there is no built-in plugin `{name}` (built-ins: {})",
                    builtin::names().join(", ")
                ))
            })?,
            PluginSource::File(path) => {
                owned = std::fs::read(path).map_err(|e| {
                    fail(format!(
                        "cannot read the file: {e} (paths in a manifest are relative to the \
                         manifest)"
                    ))
                })?;
                &owned
            }
        };
        let digest = sha256(bytes);
        if let Some(pinned) = spec.sha256
            && pinned != digest
        {
            return Err(fail(format!(
                "sha256 mismatch: the manifest pins {} but the file's sha256 is {}; if the \
                 plugin was rebuilt on purpose, update `sha256` in the manifest",
                hex::encode(pinned),
                hex::encode(digest)
            )));
        }

        let info = inspect::describe(bytes).map_err(fail)?;
        let Some((kind, version)) = info.plugin.clone() else {
            return Err(fail(format!(
                "the component exports no blobsync plugin interface (it exports: {}); build it \
                 with the blobsync-plugin SDK and one of its export macros",
                if info.exports.is_empty() {
                    "nothing".into()
                } else {
                    info.exports.join(", ")
                }
            )));
        };
        if !compatible(&version, INTERFACE_VERSION) {
            return Err(fail(format!(
                "it was built against blobsync:plugin@{version}, but this blobsync implements \
                 blobsync:plugin@{INTERFACE_VERSION}; rebuild the plugin against a matching \
                 blobsync-plugin SDK (or use a blobsync that implements {version})"
            )));
        }
        if kind != spec.kind || kind != W::KIND {
            return Err(fail(format!(
                "it is a {kind} plugin, but it is listed as a {} ({} in a manifest)",
                spec.kind,
                spec.kind.manifest_section()
            )));
        }
        let foreign: Vec<&str> = info
            .imports
            .iter()
            .map(String::as_str)
            .filter(|name| !inspect::is_host_import(name))
            .collect();
        if !foreign.is_empty() {
            return Err(fail(format!(
                "it imports {}, which blobsync does not provide: plugins run without WASI, file \
                 system, network or environment; build it for wasm32-unknown-unknown with \
                 `blobsync plugin build`",
                foreign.join(", ")
            )));
        }

        let component = runtime
            .compile(bytes, &digest)
            .map_err(|e| fail(format!("it does not compile: {e:#}")))?;
        let instance_pre: InstancePre<StoreState> = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("it cannot be linked: {e:#}")))?;
        let pre = W::pre(instance_pre)
            .map_err(|e| fail(format!("it does not match the {kind} world: {e:#}")))?;

        let output = match &spec.output {
            None => None,
            Some(_) if kind != PluginKind::Hook => {
                return Err(fail("`output` is only available to hooks".into()));
            }
            Some(path) => Some(Arc::new(OutputFile::open(path).map_err(|e| {
                fail(format!(
                    "cannot open its output file {}: {e}",
                    path.display()
                ))
            })?)),
        };
        Ok(Loaded {
            spec: spec.clone(),
            sha256: digest,
            pre,
            output,
        })
    }

    /// The plugin's name, source and a prefix of its sha256, for logs.
    pub(crate) fn describe(&self) -> String {
        let sha = hex::encode(self.sha256);
        format!(
            "{} ({}, sha256 {})",
            self.spec.name,
            self.spec.source,
            &sha[..12]
        )
    }
}
