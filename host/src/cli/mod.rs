//! The command line: what the user types ([`args`]), validated once into [`Settings`]
//! ([`validate`]), and the `jobs` and `plugin` subcommands' output ([`jobs`],
//! [`plugins`]).

mod args;
mod jobs;
mod plugin_new;
mod plugin_try;
mod plugins;
mod validate;

pub use args::{Cli, Command, JobsCommand, NewKind, NewLang, OutputType, PluginCommand, SyncArgs};
pub use jobs::run_jobs;
pub use plugins::run_plugin;
pub use validate::{Settings, UsageError, cache_dir, settings};
