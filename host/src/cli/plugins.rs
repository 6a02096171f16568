//! `blobsync plugin build DIR`, `plugin inspect FILE`, `plugin new NAME` and
//! `plugin try PLUGIN DIR`.

use std::process::ExitCode;

use super::args::PluginCommand;

/// Runs `blobsync plugin …`.
pub fn run_plugin(cmd: PluginCommand, env: &super::Environment) -> ExitCode {
    match cmd {
        PluginCommand::Build {
            dir,
            out,
            target_dir,
            quiet,
        } => build(&crate::plugin::build::BuildOptions {
            dir,
            out,
            target_dir,
            quiet,
            environment: env.build_environment().clone(),
        }),
        PluginCommand::New {
            name,
            kind,
            lang,
            into,
        } => super::plugin_new::run_new(&name, kind, lang, into.as_deref(), env.data_dir()),
        PluginCommand::Try {
            plugin,
            dir,
            config,
            read_content,
            against,
            json,
        } => super::plugin_try::run_try(&super::plugin_try::TryRequest {
            plugin,
            dir,
            config,
            read_content,
            against,
            json,
            cache_dir: env.cache_dir().map(Into::into),
        }),
        PluginCommand::Inspect { file } if file.extension().is_some_and(|e| e == "toml") => {
            inspect_manifest(&file, env.cache_dir())
        }
        PluginCommand::Inspect { file } => inspect_component(&file),
    }
}

/// `plugin build DIR`: builds the plugin and says where its component is and what it is.
fn build(opts: &crate::plugin::build::BuildOptions) -> ExitCode {
    match crate::plugin::build::build(opts) {
        Ok(built) => {
            println!("wrote:     {}", built.path.display());
            println!("{}", built.info);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}

/// `plugin inspect FILE.wasm`: what the component is, what it imports, and whether this
/// blobsync can load it.
fn inspect_component(file: &std::path::Path) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::from(crate::sync::EXIT_USAGE);
        }
    };
    let info = match crate::plugin::inspect::describe(&bytes) {
        Ok(info) => info,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(crate::sync::EXIT_USAGE);
        }
    };
    println!("file:      {}", file.display());
    println!("{info}");
    for (group, names) in crate::plugin::inspect::grouped_imports(&info) {
        println!("  {group:<10} {}", names.join(", "));
    }
    match crate::plugin::inspect::loadability(&info) {
        Ok(_) => {
            println!(
                "loadable:  yes (this blobsync implements blobsync:plugin@{}; WASI 0.2 is \
                 linked with nothing granted: a manifest grants capabilities)",
                crate::plugin::INTERFACE_VERSION
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("loadable:  no: {why}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}

/// `plugin inspect MANIFEST`: each plugin, its source and what the manifest grants it.
/// Configuration is shown as written: `${env:NAME}` references are never resolved here.
fn inspect_manifest(path: &std::path::Path, cache_dir: Option<&std::path::Path>) -> ExitCode {
    let manifest = match crate::plugin::manifest::Manifest::load(path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::sync::EXIT_USAGE);
        }
    };
    println!("manifest:  {}", path.display());
    let specs = manifest
        .filters
        .iter()
        .chain(&manifest.comparator)
        .chain(&manifest.annotators)
        .chain(&manifest.hooks);
    for spec in specs {
        println!();
        println!("{} `{}`", spec.kind.manifest_section(), spec.name);
        println!("  source:  {}", spec.source);
        let grants = spec.grants.describe();
        if grants.is_empty() {
            println!("  granted: nothing (no file system, network or environment)");
        } else {
            for g in grants {
                println!("  granted: {g}");
            }
        }
        for (k, v) in &spec.config {
            println!("  config:  {k} = {v:?}");
        }
    }
    // Everything `sync` checks: each component read, its sha256, world, version and
    // imports, and its configuration (secrets resolved from the environment).
    println!();
    match load_as_sync_would(path, cache_dir) {
        Ok(described) => {
            println!("loadable:  yes: {described}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("loadable:  no");
            eprintln!(
                "error: {e}; `blobsync sync --plugins {}` refuses it too",
                path.display()
            );
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}

/// Loads the manifest's plugins (with the built-in ones) as a sync does.
fn load_as_sync_would(
    path: &std::path::Path,
    cache_dir: Option<&std::path::Path>,
) -> Result<String, String> {
    use crate::plugin::{PluginKind, PluginSources, PluginSpec};
    let sources = PluginSources {
        filters: Vec::new(),
        comparator: PluginSpec::builtin(
            PluginKind::Comparator,
            "mtime-compare",
            Vec::new(),
            "the default",
        ),
        comparator_flag: None,
        annotators: Vec::new(),
        manifest: Some(path.to_path_buf()),
    };
    let set = sources.resolve().map_err(|e| e.to_string())?;
    let runtime = crate::plugin::Runtime::shared(cache_dir.map(Into::into))
        .map_err(|e| format!("cannot start the plugin runtime: {e:#}"))?;
    let host = crate::plugin::PluginHost::new(&runtime, &set).map_err(|e| e.to_string())?;
    Ok(host.describe())
}
