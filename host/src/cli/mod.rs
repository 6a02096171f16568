//! The command line: what the user types ([`args`], built from flag groups), the
//! environment read once ([`Environment`]), both validated once into [`Settings`]
//! ([`validate`]), and the `jobs`, `backups` and `plugin` subcommands ([`jobs`],
//! [`backups`], [`plugins`]).

mod args;
mod argv;
mod backup_access;
mod backup_flags;
mod backup_restore;
mod backups;
mod bisync_args;
mod blob_flags;
mod content_flags;
mod derived;
mod environment;
#[cfg(test)]
mod grammar_tests;
mod jobs;
mod limit_flags;
mod locations;
mod network_flags;
mod plugin_flags;
mod plugin_new;
mod plugin_try;
mod plugin_try_resolve;
mod plugins;
mod scope_flags;
mod selection_args;
mod shard_flags;
mod shared_args;
mod sourced;
mod tool_args;
mod transfer_flags;
mod usage;
mod validate;
mod watch_flags;
mod write_args;
mod write_flags;

pub use args::{
    CheckArgs, Cli, Command, JobsCommand, NewKind, NewLang, OutputType, PluginCommand, SyncArgs,
};
pub use argv::{check_flag_hint, dash_value_hint, join_dash_values};
pub use backups::run_backups;
pub use bisync_args::{BisyncArgs, TwoWaySettings, bisync_settings};
pub use environment::Environment;
pub use jobs::run_jobs;
pub use plugins::run_plugin;
pub use validate::{Settings, UsageError, check_settings, settings};
