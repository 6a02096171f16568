//! The plugins a sync or a check runs, from their flags: the built-in filter the
//! selection flags configure, the comparator (`--compare-hash`, `--missing-md5`,
//! `--modify-window`) and the manifest (`--plugins`). The annotator the upload flags
//! configure is `content_flags`'.

use super::args::{CompareArgs, CompareHash, FilterArgs, Shared};
use super::usage::{UsageError, usage};
use crate::plugin::{PluginKind, PluginSet, PluginSources, PluginSpec};
use crate::units::Normal;

/// Where the plugins of a run come from: the built-in filter and comparator the flags
/// configure, and the manifest (read by [`PluginSources::resolve`], again on changes in
/// watch mode). The upload flags' annotator is `sync`'s to add.
pub(super) fn plugin_sources(args: &Shared<'_>) -> Result<PluginSources, UsageError> {
    let filters = flag_filter(args.filters).into_iter().collect();
    let (comparator, comparator_flag) = comparator(args.compare)?;
    Ok(PluginSources {
        filters,
        comparator,
        comparator_flag,
        annotators: Vec::new(),
        manifest: args.plugins.plugins.clone(),
    })
}

/// The set of plugins `sources` resolve to now, the manifest read.
pub(super) fn resolve(sources: &PluginSources) -> Result<PluginSet, UsageError> {
    sources.clone().resolve().map_err(|e| usage(e.to_string()))
}

/// The built-in filter the selection flags configure, if any of them is given.
fn flag_filter(args: &FilterArgs) -> Option<PluginSpec> {
    let flag_config = args.filter_config();
    (!flag_config.is_empty()).then(|| {
        PluginSpec::builtin(
            PluginKind::Filter,
            "glob-filter",
            flag_config,
            "command-line flags",
        )
    })
}

/// The built-in comparator the flags choose and configure, and the flags that did, which
/// a manifest's `[comparator]` must not contradict (`None` when none did).
fn comparator(args: &CompareArgs) -> Result<(PluginSpec, Option<String>), UsageError> {
    let switches = args.switches();
    let mut config: Vec<(String, String)> = switches
        .iter()
        .map(|(key, _)| (key.to_string(), "true".to_string()))
        .collect();
    let mut flags: Vec<String> = switches.iter().map(|(_, f)| f.to_string()).collect();
    let missing = args.missing_md5;
    let name = match args.compare_hash {
        CompareHash::Md5 => {
            if let Some((_, flag)) = switches
                .iter()
                .find(|(key, _)| matches!(*key, "size-only" | "mirror-mode"))
            {
                return Err(usage(format!(
                    "{flag} cannot be combined with --compare-hash=MD5, which compares content"
                )));
            }
            flags.insert(0, "--compare-hash=MD5".into());
            if let Some(missing) = missing {
                config.push(("missing-md5".into(), missing.config_value().to_string()));
                flags.push("--missing-md5".into());
            }
            "md5-compare"
        }
        CompareHash::None => {
            if missing.is_some() {
                return Err(usage(
                    "--missing-md5 applies with --compare-hash=MD5 (without it, sizes and \
                     times are compared)",
                ));
            }
            "mtime-compare"
        }
    };
    // Both comparators take it (md5-compare when an MD5 is missing and
    // --missing-md5=size-time).
    if let Some(window) = args.modify_window {
        config.push(("modify-window".into(), window.normal()));
        flags.push("--modify-window".into());
    }
    let comparator_flag = (!flags.is_empty()).then(|| flags.join(", "));
    let comparator = PluginSpec::builtin(
        PluginKind::Comparator,
        name,
        config,
        comparator_flag.as_deref().unwrap_or("command-line flags"),
    );
    Ok((comparator, comparator_flag))
}
