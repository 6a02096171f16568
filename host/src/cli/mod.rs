//! The command line: what the user types ([`args`]), validated once into [`Settings`]
//! ([`validate`]), and the `jobs` and `plugin` subcommands' output ([`jobs`],
//! [`plugins`]).

mod args;
mod argv;
mod backup_flags;
mod backup_restore;
mod backups;
mod blob_flags;
mod content_flags;
#[cfg(test)]
mod grammar_tests;
mod jobs;
mod limit_flags;
mod network_flags;
mod plugin_new;
mod plugin_try;
mod plugins;
mod scope_flags;
mod selection_args;
mod shard_flags;
mod usage;
mod validate;

pub use args::{
    CheckArgs, Cli, Command, JobsCommand, NewKind, NewLang, OutputType, PluginCommand, SyncArgs,
};
pub use argv::{dash_value_hint, join_dash_values};
pub use backups::run_backups;
pub use jobs::run_jobs;
pub use plugins::run_plugin;
pub use validate::{Settings, UsageError, cache_dir, check_settings, settings};
