//! The plugin manifest (`--plugins FILE`): TOML, unknown fields rejected, paths relative
//! to the manifest.
//!
//! ```toml
//! version = 1
//!
//! [[filter]]
//! name    = "compliance"
//! source  = "plugins/compliance.wasm"   # or builtin:glob-filter
//! sha256  = "…"                         # optional pin; a mismatch refuses to load
//! failure = "fail-closed"               # or fail-open
//! limits  = { memory-mb = 64, call-timeout-ms = 2000 }
//! config  = { deny-extensions = "pem;pfx;key" }
//!
//! [comparator]
//! source = "builtin:md5-compare"
//!
//! [[annotator]]                         # later annotators override earlier ones
//! name   = "retention"
//! source = "plugins/retention-policy.wasm"
//! read-content = { max-bytes = 4096 }   # filters and annotators: read the file's start
//!
//! [[hook]]
//! name   = "audit"
//! source = "plugins/audit.wasm"
//! output = "audit.jsonl"                # the hook's append-only output file
//! env    = ["WEBHOOK_TOKEN"]            # visible to the plugin, usable as ${env:NAME}
//! allowed-outbound-hosts = ["https://hooks.example.com"]   # hooks: wasi:http origins
//! config = { token = "${env:WEBHOOK_TOKEN}" }
//! ```
//!
//! Nothing is granted unless listed: no file system, network or environment.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::builtin;
use super::http::Origin;
use super::spec::{FailurePolicy, Grants, Limits, PluginKind, PluginSource, PluginSpec};

/// The most plugins one manifest may list.
pub const MAX_PLUGINS: usize = 64;

/// The manifest format version this blobsync reads.
pub const MANIFEST_VERSION: i64 = 1;

/// A manifest that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("plugin manifest {path}: {reason}")]
pub struct ManifestError {
    /// The manifest file.
    pub path: String,
    /// What is wrong, and where.
    pub reason: String,
}

/// The plugins a manifest lists, resolved to specs.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// `[[filter]]` entries in order.
    pub filters: Vec<PluginSpec>,
    /// The `[comparator]`, if any.
    pub comparator: Option<PluginSpec>,
    /// `[[annotator]]` entries in order.
    pub annotators: Vec<PluginSpec>,
    /// `[[resolver]]` entries in order (`blobsync bisync`).
    pub resolvers: Vec<PluginSpec>,
    /// `[[hook]]` entries in order.
    pub hooks: Vec<PluginSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    version: i64,
    #[serde(default)]
    filter: Vec<RawPlugin>,
    comparator: Option<RawPlugin>,
    #[serde(default)]
    annotator: Vec<RawPlugin>,
    #[serde(default)]
    resolver: Vec<RawPlugin>,
    #[serde(default)]
    hook: Vec<RawPlugin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPlugin {
    name: Option<String>,
    source: String,
    sha256: Option<String>,
    failure: Option<RawFailure>,
    limits: Option<RawLimits>,
    #[serde(default)]
    config: toml::Table,
    output: Option<PathBuf>,
    #[serde(default)]
    env: Vec<String>,
    read_content: Option<RawReadContent>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawReadContent {
    max_bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawFailure {
    FailClosed,
    FailOpen,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    memory_mb: Option<u64>,
    call_timeout_ms: Option<u64>,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: path.display().to_string(),
            reason: format!("cannot read it: {e}"),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Manifest::parse(&text, base, &path.display().to_string())
    }

    /// Parses manifest text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path, label: &str) -> Result<Manifest, ManifestError> {
        let err = |reason: String| ManifestError {
            path: label.to_string(),
            reason,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if raw.version != MANIFEST_VERSION {
            return Err(err(format!(
                "`version = {}` is not supported; this blobsync reads version {MANIFEST_VERSION}",
                raw.version
            )));
        }
        let count = raw.filter.len()
            + raw.resolver.len()
            + raw.hook.len()
            + usize::from(raw.comparator.is_some());
        if count > MAX_PLUGINS {
            return Err(err(format!(
                "it lists {count} plugins; a manifest may list at most {MAX_PLUGINS} (each is \
                 compiled and instantiated per worker — combine rules into one plugin's \
                 configuration instead)"
            )));
        }
        let origin = format!("manifest {label}");
        let mut names = HashSet::new();
        let mut convert = |kind: PluginKind, index: usize, raw: RawPlugin| {
            let spec = convert(kind, raw, base, &origin).map_err(|reason| {
                let at = match kind {
                    PluginKind::Comparator => "[comparator]".to_string(),
                    _ => format!("{} #{}", kind.manifest_section(), index + 1),
                };
                err(format!("{at}: {reason}"))
            })?;
            if !names.insert(spec.name.clone()) {
                return Err(err(format!(
                    "two plugins are named `{}`; give each a unique `name`",
                    spec.name
                )));
            }
            Ok(spec)
        };
        let filters = raw
            .filter
            .into_iter()
            .enumerate()
            .map(|(i, p)| convert(PluginKind::Filter, i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let comparator = raw
            .comparator
            .map(|p| convert(PluginKind::Comparator, 0, p))
            .transpose()?;
        let annotators = raw
            .annotator
            .into_iter()
            .enumerate()
            .map(|(i, p)| convert(PluginKind::Annotator, i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let resolvers = raw
            .resolver
            .into_iter()
            .enumerate()
            .map(|(i, p)| convert(PluginKind::Resolver, i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let hooks = raw
            .hook
            .into_iter()
            .enumerate()
            .map(|(i, p)| convert(PluginKind::Hook, i, p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Manifest {
            filters,
            comparator,
            annotators,
            resolvers,
            hooks,
        })
    }
}

/// The spec of one manifest entry, each setting checked.
fn convert(
    kind: PluginKind,
    raw: RawPlugin,
    base: &Path,
    origin: &str,
) -> Result<PluginSpec, String> {
    let source = plugin_source(&raw.source, base)?;
    let name = plugin_name(raw.name.as_deref(), &source)?;
    let sha256 = raw
        .sha256
        .as_ref()
        .map(|hexed| {
            let bytes = hex::decode(hexed.trim())
                .map_err(|_| format!("`sha256` of `{name}` is not hex"))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| format!("`sha256` of `{name}` must be 64 hex digits"))
        })
        .transpose()?;
    let failure = match raw.failure {
        None => kind.default_failure(),
        Some(RawFailure::FailClosed) => FailurePolicy::FailClosed,
        Some(RawFailure::FailOpen) => FailurePolicy::FailOpen,
    };
    let limits = checked_limits(raw.limits.as_ref(), &name)?;
    let grants = grants(kind, &name, &raw, base)?;
    let mut config = config_pairs(&raw.config).map_err(|e| format!("`config` of `{name}`: {e}"))?;
    if let PluginSource::Builtin(builtin) = &source {
        config = builtin::normalise_config(builtin, config)
            .map_err(|e| format!("`config` of `{name}`: {e}"))?;
    }
    Ok(PluginSpec {
        name,
        kind,
        source,
        sha256,
        failure,
        limits,
        config,
        grants,
        origin: origin.to_string(),
    })
}

/// Where an entry's component comes from: `builtin:NAME` (a known one), or a file
/// relative to the manifest.
fn plugin_source(source: &str, base: &Path) -> Result<PluginSource, String> {
    match source.strip_prefix("builtin:") {
        Some(name) => {
            let known = builtin::BUILTINS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, _)| *n);
            Ok(PluginSource::Builtin(known.ok_or_else(|| {
                format!(
                    "there is no built-in plugin `{name}` (built-ins: {})",
                    builtin::names().join(", ")
                )
            })?))
        }
        None => Ok(PluginSource::File(base.join(source))),
    }
}

/// An entry's name: the one given, else the built-in's or the file's stem.
fn plugin_name(given: Option<&str>, source: &PluginSource) -> Result<String, String> {
    match given {
        Some(n) if n.trim().is_empty() => Err("`name` is empty".into()),
        Some(n) => Ok(n.to_string()),
        None => match source {
            PluginSource::Builtin(n) => Ok(n.to_string()),
            PluginSource::File(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .ok_or_else(|| "cannot derive a name from `source`; set `name`".into()),
        },
    }
}

/// An entry's limits: the defaults, with the memory and call timeout it sets checked.
fn checked_limits(raw: Option<&RawLimits>, name: &str) -> Result<Limits, String> {
    let mut limits = Limits::default();
    if let Some(l) = raw {
        if let Some(mb) = l.memory_mb {
            if !(1..=4096).contains(&mb) {
                return Err(format!("`limits.memory-mb` of `{name}` must be 1..=4096"));
            }
            limits.memory_bytes = (mb as usize) << 20;
        }
        if let Some(ms) = l.call_timeout_ms {
            if !(1..=3_600_000).contains(&ms) {
                return Err(format!(
                    "`limits.call-timeout-ms` of `{name}` must be 1..=3600000"
                ));
            }
            limits.call_timeout = Duration::from_millis(ms);
        }
    }
    Ok(limits)
}

/// The capabilities a plugin entry grants, each checked against the kinds that can use it.
fn grants(kind: PluginKind, name: &str, raw: &RawPlugin, base: &Path) -> Result<Grants, String> {
    if raw.output.is_some() && kind != PluginKind::Hook {
        return Err(format!(
            "`output` is only available to hooks, and `{name}` is a {kind}"
        ));
    }
    if !raw.allowed_outbound_hosts.is_empty() && kind != PluginKind::Hook {
        return Err(format!(
            "`allowed-outbound-hosts` is only available to hooks, and `{name}` is a {kind}"
        ));
    }
    if raw.read_content.is_some() && !matches!(kind, PluginKind::Filter | PluginKind::Annotator) {
        return Err(format!(
            "`read-content` is only available to filters and annotators, and `{name}` is a {kind}"
        ));
    }
    let read_content = match &raw.read_content {
        Some(r) if !(1..=1 << 30).contains(&r.max_bytes) => {
            return Err(format!(
                "`read-content.max-bytes` of `{name}` must be 1..=1073741824"
            ));
        }
        Some(r) => Some(r.max_bytes),
        None => None,
    };
    for var in &raw.env {
        let valid = !var.is_empty()
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`env` of `{name}`: {var:?} is not an environment variable name"
            ));
        }
    }
    let outbound = raw
        .allowed_outbound_hosts
        .iter()
        .map(|o| Origin::parse(o).map_err(|e| format!("`allowed-outbound-hosts` of `{name}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Grants {
        output: raw.output.as_ref().map(|p| base.join(p)),
        env: raw.env.clone(),
        read_content,
        outbound,
    })
}

/// Flattens a `config` table to the string pairs plugins receive: scalars as text,
/// arrays of scalars joined with `;` (the list separator plugins split on).
fn config_pairs(table: &toml::Table) -> Result<Vec<(String, String)>, String> {
    fn scalar(key: &str, v: &toml::Value) -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            toml::Value::Datetime(d) => Ok(d.to_string()),
            toml::Value::Array(_) | toml::Value::Table(_) => Err(format!(
                "`{key}` must be a string, number, boolean or a list of them"
            )),
        }
    }
    table
        .iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| scalar(key, v))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(";"),
                other => scalar(key, other)?,
            };
            Ok((key.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("/etc/blobsync"), "test.toml")
    }

    #[test]
    fn full_manifest() {
        let m = parse(
            r#"
            version = 1
            [[filter]]
            name = "patterns"
            source = "builtin:glob-filter"
            config = { include-pattern = ["*.json", "*.csv"], exclude-path = "build" }

            [[filter]]
            source = "plugins/compliance.wasm"
            sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
            failure = "fail-open"
            limits = { memory-mb = 64, call-timeout-ms = 2000 }
            config = { max-size = 1024, strict = true }

            [comparator]
            source = "builtin:md5-compare"

            [[hook]]
            name = "audit"
            source = "audit.wasm"
            output = "logs/audit.jsonl"
            "#,
        )
        .unwrap();
        assert_eq!(m.filters.len(), 2);
        let patterns = &m.filters[0];
        assert_eq!(patterns.source, PluginSource::Builtin("glob-filter"));
        assert!(
            patterns
                .config
                .contains(&("include-pattern".into(), "*.json;*.csv".into()))
        );
        let compliance = &m.filters[1];
        assert_eq!(compliance.name, "compliance");
        assert_eq!(
            compliance.source,
            PluginSource::File("/etc/blobsync/plugins/compliance.wasm".into())
        );
        assert_eq!(compliance.failure, FailurePolicy::FailOpen);
        assert_eq!(compliance.limits.memory_bytes, 64 << 20);
        assert_eq!(compliance.limits.call_timeout, Duration::from_secs(2));
        assert!(
            compliance
                .config
                .contains(&("max-size".into(), "1024".into()))
        );
        assert_eq!(m.comparator.unwrap().failure, FailurePolicy::FailClosed);
        let audit = &m.hooks[0];
        assert_eq!(audit.failure, FailurePolicy::FailOpen);
        assert_eq!(
            audit.grants.output.as_deref(),
            Some(Path::new("/etc/blobsync/logs/audit.jsonl"))
        );
    }

    #[test]
    fn capabilities_are_granted_per_plugin() {
        let m = parse(
            r#"
            version = 1
            [[filter]]
            source = "scan.wasm"
            read-content = { max-bytes = 4096 }

            [[annotator]]
            source = "builtin:annotator"
            config = { cache-control = "no-cache" }

            [[hook]]
            source = "webhook.wasm"
            env = ["WEBHOOK_URL"]
            allowed-outbound-hosts = ["https://hooks.example.com", "http://127.0.0.1:8080"]
            config = { url = "${env:WEBHOOK_URL}" }
            "#,
        )
        .unwrap();
        assert_eq!(m.filters[0].grants.read_content, Some(4096));
        assert_eq!(m.annotators[0].kind, PluginKind::Annotator);
        let hook = &m.hooks[0].grants;
        assert_eq!(hook.env, ["WEBHOOK_URL"]);
        assert_eq!(hook.outbound.len(), 2);
        assert_eq!(
            m.hooks[0].config[0].1, "${env:WEBHOOK_URL}",
            "resolved only at load"
        );
    }

    #[test]
    fn capabilities_for_the_wrong_kind_are_refused() {
        let e = parse("version = 1\n[[filter]]\nsource = \"a.wasm\"\nallowed-outbound-hosts = [\"https://x\"]\n")
            .unwrap_err();
        assert!(e.to_string().contains("only available to hooks"), "{e}");
        let e =
            parse("version = 1\n[[hook]]\nsource = \"a.wasm\"\nread-content = { max-bytes = 1 }\n")
                .unwrap_err();
        assert!(e.to_string().contains("filters and annotators"), "{e}");
        let e = parse("version = 1\n[[hook]]\nsource = \"a.wasm\"\nallowed-outbound-hosts = [\"https://x/path\"]\n")
            .unwrap_err();
        assert!(e.to_string().contains("not an origin"), "{e}");
        let e = parse("version = 1\n[[hook]]\nsource = \"a.wasm\"\nenv = [\"A-B\"]\n").unwrap_err();
        assert!(
            e.to_string().contains("not an environment variable name"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_location() {
        let e = parse("version = 1\n[[filter]]\nsource = \"builtin:glob-filter\"\nconfg = {}\n")
            .unwrap_err();
        assert!(e.to_string().contains("confg"), "{e}");
        assert!(e.to_string().contains("line 4"), "{e}");
    }

    #[test]
    fn wrong_version_missing_source_and_bad_values() {
        assert!(
            parse("version = 2")
                .unwrap_err()
                .to_string()
                .contains("version = 2")
        );
        assert!(parse("").unwrap_err().to_string().contains("version"));
        let e = parse("version = 1\n[[hook]]\nname = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("source"), "{e}");
        let e = parse("version = 1\n[[filter]]\nsource = \"builtin:nope\"\n").unwrap_err();
        assert!(e.to_string().contains("no built-in plugin `nope`"), "{e}");
        let e =
            parse("version = 1\n[[filter]]\nsource = \"a.wasm\"\nsha256 = \"abc\"\n").unwrap_err();
        assert!(e.to_string().contains("sha256"), "{e}");
        let e = parse("version = 1\n[[filter]]\nsource = \"a.wasm\"\nfailure = \"maybe\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");
        let e =
            parse("version = 1\n[[filter]]\nsource = \"a.wasm\"\noutput = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("only available to hooks"), "{e}");
        let e = parse("version = 1\n[[filter]]\nsource = \"a.wasm\"\nconfig = { t = { x = 1 } }\n")
            .unwrap_err();
        assert!(e.to_string().contains("`t`"), "{e}");
    }

    #[test]
    fn a_built_in_plugins_sizes_and_times_are_parsed_here_and_passed_as_numbers() {
        let e = parse(
            "version = 1\n[[filter]]\nname = \"small\"\nsource = \"builtin:glob-filter\"\n\
             config = { max-age = \"3 fortnights\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "plugin manifest test.toml: [[filter]] #1: `config` of `small`: `max-age`: \
                 \"3 fortnights\" is not an age"
            ),
            "{e}"
        );
        let m = parse(
            "version = 1\n[[filter]]\nsource = \"x.wasm\"\nconfig = { max-size = \"10XB\" }\n\
             [comparator]\nsource = \"builtin:mtime-compare\"\nconfig = { modify-window = \"2s\" }\n",
        )
        .unwrap();
        assert_eq!(m.filters[0].config, [("max-size".into(), "10XB".into())]);
        let window = &m.comparator.unwrap().config;
        assert_eq!(window, &[("modify-window".into(), "2000000000".into())]);
    }

    #[test]
    fn too_many_plugins_are_refused_before_anything_is_loaded() {
        let text = format!(
            "version = 1\n{}",
            "[[filter]]\nsource = \"builtin:glob-filter\"\n".repeat(MAX_PLUGINS + 1)
        );
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("at most 64"), "{e}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let e = parse(
            "version = 1\n[[filter]]\nsource = \"a.wasm\"\n[[filter]]\nsource = \"dir/a.wasm\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("two plugins are named `a`"), "{e}");
    }
}
