//! `blobsync plugin build DIR` and `blobsync plugin inspect FILE`.

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
