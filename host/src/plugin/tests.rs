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

fn set(filters: Vec<PluginSpec>, comparator: PluginSpec) -> PluginSet {
    PluginSet {
        filters,
        comparator,
        annotators: vec![],
        hooks: vec![],
    }
}

#[test]
fn builtin_glob_filter_runs_in_wasm() {
    let runtime = Arc::new(Runtime::new(None).unwrap());
    let set = set(
        vec![builtin_spec(
            PluginKind::Filter,
            "glob-filter",
            &[("include-pattern", "*.json")],
        )],
        builtin_spec(PluginKind::Comparator, "md5-compare", &[]),
    );
    let host = PluginHost::new(&runtime, &set).unwrap();
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
    let runtime = Arc::new(Runtime::new(None).unwrap());
    let set = set(
        vec![builtin_spec(
            PluginKind::Filter,
            "glob-filter",
            &[("include-pattern", "[a-")],
        )],
        builtin_spec(PluginKind::Comparator, "mtime-compare", &[]),
    );
    let err = PluginHost::new(&runtime, &set).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PluginError::ConfigRejected { .. }), "{text}");
    assert!(
        text.contains("`glob-filter`") && text.contains("[a-"),
        "{text}"
    );
}

#[test]
fn a_kind_mismatch_is_a_load_error() {
    let runtime = Arc::new(Runtime::new(None).unwrap());
    let mut spec = builtin_spec(PluginKind::Filter, "md5-compare", &[]);
    spec.name = "wrong".into();
    let set = set(
        vec![spec],
        builtin_spec(PluginKind::Comparator, "mtime-compare", &[]),
    );
    let text = PluginHost::new(&runtime, &set).unwrap_err().to_string();
    assert!(
        text.contains("it is a comparator plugin, but it is listed as a filter"),
        "{text}"
    );
}
