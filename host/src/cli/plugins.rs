//! `blobsync plugin build DIR`, `plugin inspect FILE`, `plugin new NAME` and
//! `plugin try PLUGIN DIR`.

use std::process::ExitCode;

use super::args::PluginCommand;

/// Runs `blobsync plugin …`.
pub fn run_plugin(cmd: PluginCommand) -> ExitCode {
    match cmd {
        PluginCommand::Build {
            dir,
            out,
            target_dir,
            quiet,
        } => {
            let opts = crate::plugin::build::BuildOptions {
                dir,
                out,
                target_dir,
                quiet,
            };
            match crate::plugin::build::build(&opts) {
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
        PluginCommand::New {
            name,
            kind,
            lang,
            into,
        } => super::plugin_new::run_new(&name, kind, lang, into.as_deref()),
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
        }),
        PluginCommand::Inspect { file } if file.extension().is_some_and(|e| e == "toml") => {
            inspect_manifest(&file)
        }
        PluginCommand::Inspect { file } => {
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", file.display());
                    return ExitCode::from(crate::sync::EXIT_USAGE);
                }
            };
            match crate::plugin::inspect::describe(&bytes) {
                Ok(info) => {
                    println!("file:      {}", file.display());
                    println!("{info}");
                    for (group, names) in crate::plugin::inspect::grouped_imports(&info) {
                        println!("  {group:<10} {}", names.join(", "));
                    }
                    match crate::plugin::inspect::loadability(&info) {
                        Ok(_) => println!(
                            "loadable:  yes (this blobsync implements blobsync:plugin@{}; WASI \
                             0.2 is linked with nothing granted: a manifest grants capabilities)",
                            crate::plugin::INTERFACE_VERSION
                        ),
                        Err(why) => println!("loadable:  no: {why}"),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    ExitCode::from(crate::sync::EXIT_USAGE)
                }
            }
        }
    }
}

/// `plugin inspect MANIFEST`: each plugin, its source and what the manifest grants it.
/// Configuration is shown as written: `${env:NAME}` references are never resolved here.
fn inspect_manifest(path: &std::path::Path) -> ExitCode {
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
    ExitCode::SUCCESS
}
