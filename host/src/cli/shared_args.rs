//! Flag groups and values several subcommands share: how blob locations are reached
//! (`sync`, `check`, `backups`); the locations, the plugin manifest, how requests go, how
//! entries are listed, the shard and the output (`sync`, `check`); name encoding, output
//! type.

use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};

use super::selection_args::{CompareArgs, FilterArgs};
use super::sourced::Sourced;
use crate::endpoint::azure::{AuthMode, RetrySettings, Timeouts};
use crate::sync::{ArchivedPolicy, BlobOptions, SyncConfig};
use crate::units::Span;

/// What is synced, and which way.
#[derive(Debug, Args)]
pub struct LocationArgs {
    /// The source: a local folder or a blob URL (container or folder, optionally with a SAS).
    pub source: String,
    /// The destination: a blob URL or a local folder (blob → blob: each URL with its own
    /// SAS, or credentials that reach both accounts).
    pub destination: String,
    /// Accepted for azcopy compatibility; must agree with the arguments.
    #[arg(long, value_enum)]
    pub from_to: Option<FromTo>,
}

/// `--from-to` (accepted for azcopy compatibility; the direction is inferred anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FromTo {
    /// Local folder to Blob.
    #[value(name = "LocalBlob")]
    LocalBlob,
    /// Blob to local folder.
    #[value(name = "BlobLocal")]
    BlobLocal,
    /// Blob to blob.
    #[value(name = "BlobBlob")]
    BlobBlob,
}

/// Plugins beyond the built-in ones the flags configure.
#[derive(Debug, Args)]
pub struct PluginArgs {
    /// A plugin manifest (TOML) adding filters and hooks or replacing the comparator.
    #[arg(long = "plugins", value_name = "FILE")]
    pub plugins: Option<PathBuf>,
}

/// The variable that gives the account key when `--account-key` does not.
pub(super) const ACCOUNT_KEY_VARIABLE: &str = "AZURE_STORAGE_KEY";

/// How blob locations are reached and authorised: flags shared by `sync`, `check` and
/// `backups`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// How to authenticate to the blob side.
    #[arg(long, value_enum, default_value_t = AuthMode::default())]
    pub auth: AuthMode,
    /// Use the managed identity of the Azure resource blobsync runs on.
    #[arg(long)]
    pub identity: bool,
    /// A user-assigned managed identity, by client id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["identity_object_id", "identity_resource_id"])]
    pub identity_client_id: Option<String>,
    /// A user-assigned managed identity, by object id.
    #[arg(long, value_name = "ID", conflicts_with = "identity_resource_id")]
    pub identity_object_id: Option<String>,
    /// A user-assigned managed identity, by resource id.
    #[arg(long, value_name = "ID")]
    pub identity_resource_id: Option<String>,
    /// More host suffixes that may receive Entra ID tokens (`;`-separated), besides Azure
    /// Storage's own and loopback.
    #[arg(long, value_name = "SUFFIXES")]
    pub trusted_microsoft_suffixes: Option<String>,
    /// The account's blob endpoint, for a custom domain, a private endpoint or an emulator
    /// reached by another name (URLs must be below it); also a connection string's
    /// `BlobEndpoint=`.
    #[arg(long, value_name = "URL")]
    pub blob_endpoint: Option<String>,
    /// How names the service would rewrite are stored: `rclone` (`\` as `＼`, a trailing
    /// `.` as `．`, control characters as `␁`…, as rclone stores them) or `none` (such
    /// names are reported as not syncable).
    #[arg(long, value_enum, default_value = "rclone", ignore_case = true)]
    pub name_encoding: NameEncoding,
    /// Storage account key (Shared Key).
    #[arg(long, value_name = "KEY", env = ACCOUNT_KEY_VARIABLE, hide_env_values = true)]
    pub account_key: Option<String>,
}

/// How requests go: how many at once, retries, timeouts, memory and bandwidth. Flags
/// shared by `sync` and `check`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Files transferred at once (`AUTO`: the default, as azcopy).
    #[arg(long, value_name = "N", env = "AZCOPY_CONCURRENCY_VALUE",
          default_value_t = SyncConfig::DEFAULT_CONCURRENCY.to_string())]
    pub concurrency: String,
    /// Container listings split into up to N ranges listed at once, one per top-level
    /// folder (1: one flat listing).
    #[arg(long, default_value_t = SyncConfig::DEFAULT_LIST_PARALLELISM, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub list_parallelism: u16,
    /// Memory for blocks in flight, in MiB (at least 8).
    #[arg(long, value_name = "MIB", env = "BLOBSYNC_BUFFER_MB",
          default_value_t = SyncConfig::DEFAULT_BUFFER_MIB.to_string())]
    pub buffer_mb: String,

    /// Retries of a failed request (or download range) before it fails; 0 turns retries
    /// off.
    #[arg(long, default_value_t = RetrySettings::default().max_retries, value_name = "N")]
    pub max_retries: u32,
    /// HTTP statuses that are retried (`;`-separated), as azcopy's hidden flag.
    #[arg(long, value_name = "CODES", default_value_t = status_codes(&RetrySettings::default()))]
    pub retry_status_codes: String,
    /// How long one try of a request may take besides sending its body, e.g. `60s`
    /// [env: AZCOPY_REQUEST_TRY_TIMEOUT, in minutes].
    #[arg(long, value_name = "DURATION")]
    pub try_timeout: Option<Span>,
    /// Abandon (and retry) a request whose connection moves no byte for this long.
    #[arg(long, default_value_t = Span(Timeouts::default().stall), value_name = "DURATION")]
    pub stall_timeout: Span,

    /// Limit the bandwidth of all transfers together, in megabits per second.
    #[arg(long, value_name = "MBPS")]
    pub cap_mbps: Option<f64>,
}

/// How entries are listed and what of them is synced: symbolic links, POSIX properties,
/// folder stubs, archived source blobs.
#[derive(Debug, Args)]
pub struct ListingArgs {
    /// Archived source blobs: `skip` (counted apart), `fail`, or `rehydrate[:Standard|High]`
    /// (ask for each to be brought back to Hot; copy them in a later run).
    #[arg(long, default_value_t = ArchivedPolicy::default().to_string(), value_name = "POLICY")]
    pub archived: String,
    /// Sync folder stubs (zero-length blobs with `hdi_isfolder=true`, as ADLS Gen2 and
    /// azcopy write them) as folders; without it they are ignored.
    #[arg(long, default_value_t = BlobOptions::default().directory_stubs, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub include_directory_stub: bool,
    /// Sync empty folders (rclone's name): local folders become folder stubs on upload and
    /// folders again on download (the same as --include-directory-stub).
    #[arg(long)]
    pub create_empty_src_dirs: bool,
    /// Follow symbolic links in a local source (loops are detected and skipped).
    #[arg(long, conflicts_with = "preserve_symlinks")]
    pub follow_symlinks: bool,
    /// Sync symbolic links as links: stored as small blobs holding the target and marked
    /// `is_symlink=true` (as azcopy stores them), restored as links.
    #[arg(long)]
    pub preserve_symlinks: bool,
    /// Keep each file's owner, group, mode and times in blob metadata (azcopy's keys),
    /// and restore them on download (owner and group only as root; rclone's keys are
    /// understood too).
    #[arg(long, default_value_t = BlobOptions::default().posix, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub preserve_posix_properties: bool,
}

/// A share of the paths, for one of several processes doing one sync together.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Act only on shard K of N (0-based): the paths whose hash falls in it; N processes
    /// with K = 0…N-1 together do one sync (deletes and hooks stay per shard).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// The number of shards, with K from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job).
    #[arg(long, value_name = "N")]
    pub shards: Option<String>,
}

/// How a run is reported and recorded.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Which items the job record keeps: all (each skip too), changes, or none.
    #[arg(long, value_enum, default_value = "all")]
    pub job_items: crate::jobs::ItemRecords,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output_type: OutputType,
    /// When stderr is not a terminal (cron, CI, a service), print a status line there this
    /// often (`1m`, `30s`); on a terminal the progress is shown live anyway. The job log
    /// gets one every minute either way.
    #[arg(long, value_name = "DURATION")]
    pub stats: Option<Span>,
    /// After each run, write its outcome to this file in the Prometheus text format (for
    /// node_exporter's textfile collector), replacing it atomically.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Print only errors and the summary.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every copy and delete.
    #[arg(long, short)]
    pub verbose: bool,
}

/// The retried statuses as `--retry-status-codes` takes them.
fn status_codes(retry: &RetrySettings) -> String {
    let codes: Vec<String> = retry.status_codes.iter().map(u16::to_string).collect();
    codes.join(";")
}

/// `--name-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameEncoding {
    /// rclone's encoding for Azure Blob Storage.
    Rclone,
    /// Names stored as they are.
    None,
}

/// `--output-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// The flag groups `sync`, `check` and `bisync` share, which most validation steps read.
pub(super) struct Shared<'a> {
    pub(super) locations: &'a LocationArgs,
    pub(super) filters: &'a FilterArgs,
    pub(super) compare: &'a CompareArgs,
    pub(super) plugins: &'a PluginArgs,
    pub(super) credentials: &'a Sourced<AuthArgs>,
    pub(super) network: &'a Sourced<NetworkArgs>,
    pub(super) listing: &'a ListingArgs,
    pub(super) shard: &'a ShardArgs,
    pub(super) output: &'a OutputArgs,
}
