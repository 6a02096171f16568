//! Tests of the plugin host with the built-in components.

use std::sync::Arc;

use super::*;

pub(crate) fn builtin_spec(
    kind: PluginKind,
    name: &'static str,
    config: &[(&str, &str)],
) -> PluginSpec {
    let config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PluginSpec::builtin(kind, name, config, "test")
}

fn entry(path: &str) -> Entry {
    Entry::file(path.into(), 1, 0, None, EndpointKind::Local, vec![])
}

fn glob_filter(include_pattern: &'static str) -> PluginSpec {
    builtin_spec(
        PluginKind::Filter,
        "glob-filter",
        &[("include-pattern", include_pattern)],
    )
}

/// A host with one built-in filter and a built-in comparator.
fn host(filter: PluginSpec, comparator: &'static str) -> Result<PluginHost, PluginError> {
    let runtime = Arc::new(Runtime::new(None).unwrap());
    let set = PluginSet {
        filters: vec![filter],
        comparator: builtin_spec(PluginKind::Comparator, comparator, &[]),
        annotators: vec![],
        resolvers: vec![],
        hooks: vec![],
    };
    PluginHost::new(&runtime, &set)
}

#[test]
fn builtin_glob_filter_runs_in_wasm() {
    let host = host(glob_filter("*.json"), "md5-compare").unwrap();
    assert!(host.comparator_info().needs_md5);
    let mut chain = host.filter_chain();
    let out = chain
        .apply(Side::Source, &[entry("a.json"), entry("b.txt")])
        .unwrap();
    assert_eq!(out[0], None);
    assert_eq!(
        out[1].as_ref().unwrap().reason,
        "matches no --include-pattern"
    );
}

#[test]
fn rejected_config_names_the_plugin_and_origin() {
    let err = host(glob_filter("[a-"), "mtime-compare").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PluginError::ConfigRejected { .. }), "{text}");
    assert!(
        text.contains("`glob-filter`") && text.contains("[a-"),
        "{text}"
    );
}

#[test]
fn a_kind_mismatch_is_a_load_error() {
    let mut spec = builtin_spec(PluginKind::Filter, "md5-compare", &[]);
    spec.name = "wrong".into();
    let text = host(spec, "mtime-compare").unwrap_err().to_string();
    assert!(
        text.contains("it is a comparator plugin, but it is listed as a filter"),
        "{text}"
    );
}
