//! What a component is: which plugin world it targets, against which interface version,
//! and what it imports. Used by `blobsync plugin inspect` and when loading a plugin.

use std::fmt;

use wit_component::DecodedWasm;
use wit_parser::WorldItem;

use super::imports::{self, ImportClass};
use super::runtime::sha256;
use super::spec::PluginKind;

/// A component's plugin-relevant facts.
#[derive(Debug, Clone)]
pub struct ComponentInfo {
    /// The plugin kind and the `blobsync:plugin` version of its export, if it exports one.
    pub plugin: Option<(PluginKind, String)>,
    /// Imported interfaces and functions, by name.
    pub imports: Vec<String>,
    /// Exported interfaces and functions, by name.
    pub exports: Vec<String>,
    /// Size in bytes.
    pub size: usize,
    /// sha256 of the bytes.
    pub sha256: [u8; 32],
}

impl fmt::Display for ComponentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugin {
            Some((kind, version)) => {
                let two_way = self
                    .exports
                    .iter()
                    .any(|e| e.contains("/two-way-hook-plugin@"));
                if two_way {
                    writeln!(f, "world:     two-way-hook")?;
                } else {
                    writeln!(f, "world:     {kind}")?;
                }
                writeln!(f, "interface: blobsync:plugin@{version}")?;
            }
            None => writeln!(f, "world:     (not a blobsync plugin)")?,
        }
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(", ")
            }
        };
        writeln!(f, "exports:   {}", list(&self.exports))?;
        writeln!(f, "imports:   {}", list(&self.imports))?;
        writeln!(f, "size:      {} bytes", self.size)?;
        write!(f, "sha256:    {}", hex::encode(self.sha256))
    }
}

const PACKAGE_PREFIX: &str = "blobsync:plugin/";

/// Reads a component's imports and exports. The error says what the bytes are instead.
pub fn describe(bytes: &[u8]) -> Result<ComponentInfo, String> {
    if !bytes.starts_with(b"\0asm") {
        return Err("it is not a WebAssembly file".into());
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(
            "it is a core WebAssembly module, not a component; wrap it into a \
                    component with `blobsync plugin build` (or `wasm-tools component new`)"
                .into(),
        );
    }
    let decoded =
        wit_component::decode(bytes).map_err(|e| format!("it is not a valid component: {e:#}"))?;
    let (resolve, world) = match decoded {
        DecodedWasm::Component(resolve, world) => (resolve, world),
        DecodedWasm::WitPackage(..) => {
            return Err("it is a WIT package, not a plugin component".into());
        }
    };
    let world = &resolve.worlds[world];
    let names = |items: &mut dyn Iterator<Item = (&wit_parser::WorldKey, &WorldItem)>| {
        items
            .filter(|(_, item)| !matches!(item, WorldItem::Type { .. }))
            .map(|(key, _)| resolve.name_world_key(key))
            .collect::<Vec<String>>()
    };
    let imports = names(&mut world.imports.iter());
    // componentize-py adds a plain-name export (`exports`, its initialiser); only
    // interface exports matter.
    let exports: Vec<String> = names(&mut world.exports.iter())
        .into_iter()
        .filter(|name| name.contains(':'))
        .collect();

    let mut plugin = None;
    for export in &exports {
        let Some((interface, version)) = split_name(export) else {
            continue;
        };
        let kind = match interface {
            "filter-plugin" => PluginKind::Filter,
            "comparator-plugin" => PluginKind::Comparator,
            "hook-plugin" | "two-way-hook-plugin" => PluginKind::Hook,
            "annotator-plugin" => PluginKind::Annotator,
            "resolver-plugin" => PluginKind::Resolver,
            _ => continue,
        };
        if plugin.is_some() {
            return Err(
                "it exports more than one plugin interface; a plugin is exactly one \
                        of filter, comparator, annotator, resolver or hook"
                    .into(),
            );
        }
        plugin = Some((kind, version.to_string()));
    }
    Ok(ComponentInfo {
        plugin,
        imports,
        exports,
        size: bytes.len(),
        sha256: sha256(bytes),
    })
}

/// Splits `blobsync:plugin/NAME@VERSION` into its name and version.
fn split_name(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(PACKAGE_PREFIX)?.split_once('@')
}

/// The `blobsync:plugin` versions this host loads, newest first.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["0.2.1", "0.1.0"];

/// Which version of the contract a plugin was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interface {
    /// `blobsync:plugin@0.1.x`: records per entry, no annotator, no content.
    V1,
    /// `blobsync:plugin@0.2.x`: column batches.
    V2,
}

/// Whether a component can be loaded, judged from what it exports and imports: the same
/// judgement for the loader and `blobsync plugin inspect`. Linking can still fail later if
/// an import's types differ from blobsync's.
pub(crate) fn loadability(info: &ComponentInfo) -> Result<(PluginKind, Interface), String> {
    let Some((kind, version)) = info.plugin.clone() else {
        return Err(format!(
            "the component exports no blobsync plugin interface (it exports: {}); build it \
             with `blobsync plugin build` against blobsync's WIT (one of the worlds filter, \
             comparator, annotator, resolver, hook or two-way-hook)",
            if info.exports.is_empty() {
                "nothing".into()
            } else {
                info.exports.join(", ")
            }
        ));
    };
    let interface = if compatible(&version, SUPPORTED_VERSIONS[0]) {
        Interface::V2
    } else if compatible(&version, SUPPORTED_VERSIONS[1])
        && !matches!(kind, PluginKind::Annotator | PluginKind::Resolver)
    {
        Interface::V1
    } else {
        return Err(format!(
            "it was built against blobsync:plugin@{version}, but this blobsync implements \
             blobsync:plugin@{} (and still loads @{}); rebuild the plugin against a matching \
             blobsync-plugin SDK (or use a blobsync that implements {version})",
            SUPPORTED_VERSIONS[0], SUPPORTED_VERSIONS[1]
        ));
    };
    let refused = imports::refused(&info.imports);
    if !refused.is_empty() {
        return Err(format!(
            "it imports {}; plugins may import only WASI 0.2 and blobsync's interfaces",
            refused.join("; ")
        ));
    }
    Ok((kind, interface))
}

/// The component's imports grouped for `plugin inspect`: blobsync's interfaces, WASI and
/// wasi:http (the rest are refused).
pub fn grouped_imports(info: &ComponentInfo) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(ImportClass, Vec<String>)> = Vec::new();
    let mut refused = Vec::new();
    for name in &info.imports {
        match imports::check(name) {
            Ok(class) => match groups.iter_mut().find(|(c, _)| *c == class) {
                Some((_, v)) => v.push(name.clone()),
                None => groups.push((class, vec![name.clone()])),
            },
            Err(_) => refused.push(name.clone()),
        }
    }
    groups.sort_by_key(|(c, _)| *c);
    let mut out: Vec<(String, Vec<String>)> = groups
        .into_iter()
        .map(|(c, v)| (c.to_string(), v))
        .collect();
    if !refused.is_empty() {
        out.push(("refused".to_string(), refused));
    }
    out
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// Semver compatibility of a plugin's interface version with the host's: the same major
/// version, and for 0.x the same minor version.
pub fn compatible(plugin: &str, host: &str) -> bool {
    match (parse_version(plugin), parse_version(host)) {
        (Some(p), Some(h)) => p.0 == h.0 && (h.0 != 0 || p.1 == h.1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_versions() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.2.1", "0.2.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.9.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }
}
