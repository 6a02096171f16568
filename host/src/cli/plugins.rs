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
                    if let Some((_, version)) = &info.plugin {
                        let ok = crate::plugin::inspect::compatible(
                            version,
                            crate::plugin::INTERFACE_VERSION,
                        );
                        println!(
                            "loadable:  {} (this blobsync implements blobsync:plugin@{})",
                            if ok { "yes" } else { "no" },
                            crate::plugin::INTERFACE_VERSION
                        );
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
