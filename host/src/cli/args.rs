//! The command line as the user types it (clap). Flags follow azcopy's `sync` (and
//! rclone's where azcopy has none) so users can switch without relearning. Each
//! subcommand's flags are built from flag groups by job: `shared_args` and
//! `selection_args` hold those `sync` and `check` share, `write_args` those only `sync`
//! has (what it writes and deletes), `tool_args` the other subcommands'.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use super::selection_args::{CompareArgs, CompareHash, FilterArgs};
pub(super) use super::shared_args::Shared;
pub use super::shared_args::{
    AuthArgs, FromTo, ListingArgs, LocationArgs, NameEncoding, NetworkArgs, OutputArgs, OutputType,
    PluginArgs, ShardArgs,
};
use super::sourced::Sourced;
pub use super::tool_args::{
    BackupsCommand, BackupsListArgs, BackupsRestoreArgs, JobsCommand, NewKind, NewLang,
    PluginCommand,
};
pub use super::write_args::{
    BackupArgs, ContentArgs, CopyArgs, DeleteArgs, LimitArgs, TransferArgs, WatchArgs,
};

/// Keep a local folder and an Azure Blob container in sync.
#[derive(Debug, Parser)]
#[command(name = "blobsync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log level for diagnostics on stderr: error, warn, info, debug or trace.
    #[arg(long, global = true, value_name = "LEVEL", env = "BLOBSYNC_LOG")]
    pub log_level: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make DESTINATION match SOURCE (a local folder or a blob URL each; at least one a
    /// blob URL).
    Sync(Box<SyncArgs>),
    /// Compare SOURCE and DESTINATION and list every difference; change nothing. Exit 0
    /// when they match, 1 when they differ.
    Check(Box<CheckArgs>),
    /// Keep PATH1 and PATH2 in step both ways: what changed on one side since the last
    /// run goes to the other; a file changed on both is a conflict, settled by policy
    /// with no version lost. Each run's state is kept in the job database.
    Bisync(Box<super::bisync_args::BisyncArgs>),
    /// Build and inspect plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Show and clean the records of past runs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// List and restore the versions runs kept in a backup location (--backup-dir).
    #[command(subcommand)]
    Backups(BackupsCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff), generated from the command-line definition: blobsync(1),
    /// or one subcommand's (`blobsync man sync` is blobsync-sync(1)); with --out-dir,
    /// write every page there.
    Man {
        /// The subcommand (and its subcommand: `plugin build`), or none for blobsync(1).
        subcommand: Vec<String>,
        /// Write blobsync.1 and one page per subcommand into this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        out_dir: Option<PathBuf>,
    },
}

/// `blobsync sync` flags, by job: what is synced (locations, filters, comparison,
/// plugins), what a run may write and delete, how it reaches the service, and how it is
/// reported.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 all done; 1 some items failed (a rerun may fix them); 2 usage \
    or configuration error; 3 authentication or authorisation; 7 refused by a guard \
    (--max-changes, --max-delete, an empty source with deletes); 8 --max-transfer reached; \
    10 --max-duration reached; 130 interrupted."
)]
pub struct SyncArgs {
    /// SOURCE, DESTINATION (and `--from-to`).
    #[command(flatten)]
    pub locations: LocationArgs,
    /// Which files are considered: patterns, paths, times, sizes.
    #[command(flatten)]
    pub filters: FilterArgs,
    /// How files present on both sides are compared.
    #[command(flatten)]
    pub compare: CompareArgs,
    /// Whether and how much is deleted.
    #[command(flatten)]
    pub deletes: DeleteArgs,
    /// How much one run may change: nothing (`--dry-run`), changes, bytes, time.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Where what is overwritten or deleted is kept.
    #[command(flatten)]
    pub backup: BackupArgs,
    /// A plugin manifest.
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// How blob locations are reached and authorised.
    #[command(flatten)]
    pub credentials: Sourced<AuthArgs>,
    /// How requests go: at once, retried, timed out, capped.
    #[command(flatten)]
    pub network: Sourced<NetworkArgs>,
    /// How files are written: request sizes, MD5s.
    #[command(flatten)]
    pub transfer: Sourced<TransferArgs>,
    /// What uploaded blobs carry.
    #[command(flatten)]
    pub content: ContentArgs,
    /// How entries are listed: links, POSIX properties, folder stubs, archived blobs.
    #[command(flatten)]
    pub listing: ListingArgs,
    /// How copies to a container are made: blob → blob, archived destinations.
    #[command(flatten)]
    pub copies: CopyArgs,
    /// This process's shard of the paths.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Watch mode.
    #[command(flatten)]
    pub watch: WatchArgs,
    /// How the run is reported and recorded.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `blobsync check` flags: the groups it shares with `sync` (what is compared, how the
/// service is reached, how the result is reported), and its own. The flags that shape
/// what a sync writes or deletes are not among them.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 the two sides match; 1 they differ (or some items could not be \
    compared); 2 usage or configuration error; 3 authentication or authorisation failure."
)]
pub struct CheckArgs {
    /// Compare content by reading it: blobs are downloaded and hashed (their stored
    /// Content-MD5 is not trusted), local files hashed.
    #[arg(long)]
    pub download: bool,
    /// Report only what is missing or different at the destination, not what is only there.
    #[arg(long)]
    pub one_way: bool,
    /// SOURCE, DESTINATION (and `--from-to`).
    #[command(flatten)]
    pub locations: LocationArgs,
    /// Which files are considered: patterns, paths, times, sizes.
    #[command(flatten)]
    pub filters: FilterArgs,
    /// How files present on both sides are compared.
    #[command(flatten)]
    pub compare: CompareArgs,
    /// A plugin manifest.
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// How blob locations are reached and authorised.
    #[command(flatten)]
    pub credentials: Sourced<AuthArgs>,
    /// How requests go: at once, retried, timed out, capped.
    #[command(flatten)]
    pub network: Sourced<NetworkArgs>,
    /// How entries are listed: links, POSIX properties, folder stubs, archived blobs.
    #[command(flatten)]
    pub listing: ListingArgs,
    /// This process's shard of the paths.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// How the run is reported and recorded.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl SyncArgs {
    /// The groups `check` has too.
    pub(super) fn shared(&self) -> Shared<'_> {
        Shared {
            locations: &self.locations,
            filters: &self.filters,
            compare: &self.compare,
            plugins: &self.plugins,
            credentials: &self.credentials,
            network: &self.network,
            listing: &self.listing,
            shard: &self.shard,
            output: &self.output,
        }
    }
}

impl CheckArgs {
    /// The groups `sync` has too.
    pub(super) fn shared(&self) -> Shared<'_> {
        Shared {
            locations: &self.locations,
            filters: &self.filters,
            compare: &self.compare,
            plugins: &self.plugins,
            credentials: &self.credentials,
            network: &self.network,
            listing: &self.listing,
            shard: &self.shard,
            output: &self.output,
        }
    }
}
