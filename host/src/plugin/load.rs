//! Loading one plugin: read and verify the component, check its world, interface version
//! and imports, check the manifest's grants fit its kind, resolve its configuration's
//! secrets, compile it (or take it from the cache) and pre-instantiate it for its world.

use std::sync::Arc;

use wasmtime::component::InstancePre;

use super::builtin;
use super::error::PluginError;
use super::http::Origin;
use super::inspect::{self, Interface};
use super::output::OutputFile;
use super::redact::Redactor;
use super::runtime::{Runtime, sha256};
use super::spec::{PluginKind, PluginSource, PluginSpec};
use super::state::StoreState;
use super::values;
use super::world::World;

/// A plugin that passed every load-time check, pre-instantiated for its world.
pub(crate) struct Loaded<W: World> {
    pub(crate) spec: PluginSpec,
    pub(crate) sha256: [u8; 32],
    pub(crate) interface: Interface,
    pub(crate) pre: W::Pre,
    pub(crate) output: Option<Arc<OutputFile>>,
    /// The configuration with secrets resolved (never logged).
    pub(crate) config: Vec<(String, String)>,
    /// The environment the plugin sees.
    pub(crate) env: Vec<(String, String)>,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) outbound: Arc<[Origin]>,
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

        let info = inspect::describe(bytes).map_err(&fail)?;
        let (kind, interface) = inspect::loadability(&info).map_err(&fail)?;
        if kind != spec.kind || kind != W::KIND {
            return Err(fail(format!(
                "it is a {kind} plugin, but it is listed as a {} ({} in a manifest)",
                spec.kind,
                spec.kind.manifest_section()
            )));
        }
        check_grants(spec).map_err(&fail)?;
        let resolved = values::resolve(spec, &|name| std::env::var(name).ok()).map_err(&fail)?;

        let component = runtime
            .compile(&spec.name, bytes, &digest)
            .map_err(|e| fail(format!("it does not compile: {e:#}")))?;
        let instance_pre: InstancePre<StoreState> = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("it cannot be linked: {e:#}")))?;
        let pre = W::pre(instance_pre, interface)
            .map_err(|e| fail(format!("it does not match the {kind} world: {e:#}")))?;

        let output = match &spec.grants.output {
            None => None,
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
            interface,
            pre,
            output,
            config: resolved.config,
            env: resolved.env,
            redactor: Arc::new(resolved.redactor),
            outbound: Arc::from(spec.grants.outbound.clone()),
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

/// Each capability is for the kinds that can use it.
fn check_grants(spec: &PluginSpec) -> Result<(), String> {
    let g = &spec.grants;
    let kind = spec.kind;
    if g.output.is_some() && kind != PluginKind::Hook {
        return Err("`output` is only available to hooks".into());
    }
    if !g.outbound.is_empty() && kind != PluginKind::Hook {
        return Err("`allowed-outbound-hosts` is only available to hooks".into());
    }
    if g.read_content.is_some() && !matches!(kind, PluginKind::Filter | PluginKind::Annotator) {
        return Err("`read-content` is only available to filters and annotators".into());
    }
    Ok(())
}
