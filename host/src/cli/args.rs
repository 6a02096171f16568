//! The command line as the user types it (clap). Flags follow azcopy's `sync` (and
//! rclone's where azcopy has none) so users can switch without relearning.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::endpoint::SnapshotPolicy;
use crate::sync::{CheckMd5, DeleteMode};
use crate::units::{ByteSize, Span};

pub use super::shared_args::{AuthArgs, NameEncoding, NetworkArgs, OutputType};
use super::sourced::Sourced;
pub use super::tool_args::{
    BackupsCommand, BackupsListArgs, BackupsRestoreArgs, JobsCommand, NewKind, NewLang,
    PluginCommand,
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

/// `--compare-hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareHash {
    /// Compare sizes and modification times.
    #[value(name = "None", alias = "none")]
    None,
    /// Compare content MD5s (forces --put-md5).
    #[value(name = "MD5", alias = "md5")]
    Md5,
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

/// `blobsync sync` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 all done; 1 some items failed (a rerun may fix them); 2 usage \
    or configuration error; 3 authentication or authorisation; 7 refused by a guard \
    (--max-changes, --max-delete, an empty source with deletes); 8 --max-transfer reached; \
    10 --max-duration reached; 130 interrupted."
)]
pub struct SyncArgs {
    /// The source: a local folder or a blob URL (container or folder, optionally with a SAS).
    pub source: String,
    /// The destination: a blob URL or a local folder (blob → blob: each URL with its own
    /// SAS, or credentials that reach both accounts).
    pub destination: String,

    /// Copy only files whose names match one of these patterns (`;`-separated, `* ? [..]`).
    #[arg(long, value_name = "PATTERNS")]
    pub include_pattern: Option<String>,
    /// Skip files whose names match one of these patterns.
    #[arg(long, value_name = "PATTERNS")]
    pub exclude_pattern: Option<String>,
    /// Sync only these relative paths (`;`-separated files or folders): only they are
    /// listed, and deletes stay inside them.
    #[arg(long, value_name = "PATHS")]
    pub include_path: Option<String>,
    /// Sync only the paths listed in FILE (one per line; `-` reads standard input; blank
    /// lines and lines starting with `#` or `;` are skipped). May be repeated.
    #[arg(long, value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Skip these relative paths and everything below them (whole path segments).
    #[arg(long, value_name = "PATHS")]
    pub exclude_path: Option<String>,
    /// Copy only files whose relative paths match one of these regular expressions.
    #[arg(long, value_name = "REGEXES")]
    pub include_regex: Option<String>,
    /// Skip files whose relative paths match one of these regular expressions.
    #[arg(long, value_name = "REGEXES")]
    pub exclude_regex: Option<String>,

    /// How files present on both sides are compared.
    #[arg(long, value_enum, default_value = "None", ignore_case = true)]
    pub compare_hash: CompareHash,
    /// Store each file's MD5 as Content-MD5 (always computed in the upload's read pass).
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub put_md5: bool,
    /// Downloads: what to do when the data's MD5 differs from the blob's Content-MD5.
    #[arg(long, value_enum, default_value = "FailIfDifferent")]
    pub check_md5: CheckMd5,
    /// Tolerated modification-time difference, e.g. `2s` or `1m30s` (default: exact).
    #[arg(long, value_name = "DURATION")]
    pub modify_window: Option<Span>,
    #[command(flatten)]
    pub selection: super::selection_args::SelectionArgs,

    /// Delete destination entries that are not at the source: false, true or prompt.
    #[arg(long, value_enum, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", ignore_case = true)]
    pub delete_destination: DeleteMode,
    /// Refuse to delete more than this many entries (checked after the copies, before any
    /// delete; exit code 7).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_delete: Option<i64>,
    /// With --delete-destination, let a source that lists no files delete everything at
    /// the destination (without it, such a run is refused with exit code 7).
    #[arg(long)]
    pub allow_empty_source: bool,
    /// Refuse the whole run, before anything is written, if it would overwrite or delete
    /// more than N destination entries, or more than P% of them (`10%`; exit code 7).
    #[arg(long, value_name = "N|P%")]
    pub max_changes: Option<String>,
    /// Start no more transfers once this much data has been sent (500M, 10G, 10GB…); exit
    /// code 8, and the next run continues.
    #[arg(long, value_name = "SIZE")]
    pub max_transfer: Option<ByteSize>,
    /// Start no more transfers after this long, and stop those in flight (2h30m…); exit
    /// code 10, and the next run continues.
    #[arg(long, value_name = "DURATION")]
    pub max_duration: Option<Span>,
    /// Keep every destination entry the run would overwrite or delete here first: a
    /// folder on the destination's file system (entries are moved), or a container or
    /// folder in the destination's account (blobs are copied server-side).
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir: Option<String>,
    /// Add this to the names kept in --backup-dir (e.g. `-$(date +%F)`).
    #[arg(long, value_name = "SUFFIX")]
    pub suffix: Option<String>,
    /// Put the --suffix before the file extension (`report-2024-06-01.pdf`).
    #[arg(long)]
    pub suffix_keep_extension: bool,
    /// Print what would be copied and deleted, and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// A plugin manifest (TOML) adding filters and hooks or replacing the comparator.
    #[arg(long = "plugins", value_name = "FILE")]
    pub plugins: Option<PathBuf>,

    #[command(flatten)]
    pub credentials: Sourced<AuthArgs>,
    #[command(flatten)]
    pub network: Sourced<NetworkArgs>,

    /// Block size for large files, in MiB (default 8).
    #[arg(long, value_name = "MIB")]
    pub block_size_mb: Option<f64>,
    /// Files up to this size (MiB) are uploaded with a single request (default 64; with
    /// --block-size-mb, the block size, as azcopy).
    #[arg(long, value_name = "MIB")]
    pub put_blob_size_mb: Option<f64>,

    /// Uploads: every blob's Content-Type (instead of guessing it from the extension).
    #[arg(long, value_name = "TYPE", help_heading = "What uploaded blobs carry")]
    pub content_type: Option<String>,
    /// Uploads: every blob's Cache-Control, e.g. `max-age=3600`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub cache_control: Option<String>,
    /// Uploads: every blob's Content-Encoding, e.g. `gzip` for pre-compressed files.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_encoding: Option<String>,
    /// Uploads: every blob's Content-Disposition, e.g. `attachment`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_disposition: Option<String>,
    /// Uploads: every blob's Content-Language, e.g. `en-GB`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_language: Option<String>,
    /// Uploads: Cache-Control by kind of file: `static-site` gives HTML `no-cache` and
    /// fingerprinted assets (`app.3f2a9c1b.js`) `max-age=31536000, immutable`.
    #[arg(
        long,
        value_name = "PRESET",
        help_heading = "What uploaded blobs carry"
    )]
    pub cache_control_preset: Option<String>,
    /// Uploads: the access tier of every blob: Hot, Cool, Cold or Archive (up-to-date
    /// blobs in another tier are moved with Set Blob Tier).
    #[arg(long, value_name = "TIER", help_heading = "What uploaded blobs carry")]
    pub block_blob_tier: Option<String>,
    /// Uploads: user metadata for every blob, `key=value;key2=value2` (kept with what a
    /// blob already has).
    #[arg(long, value_name = "PAIRS", help_heading = "What uploaded blobs carry")]
    pub metadata: Option<String>,
    /// Uploads: blob index tags for every blob, `key=value&key2=value2` (URL-encoded; the
    /// credential needs the `t` permission).
    #[arg(long, value_name = "PAIRS", help_heading = "What uploaded blobs carry")]
    pub blob_tags: Option<String>,
    /// Do not guess a Content-Type from the file extension for blobs that get none
    /// otherwise (extra extensions: a JSON file named by AZCOPY_CONTENT_TYPE_MAP).
    #[arg(long)]
    pub no_guess_mime_type: bool,
    /// Archived source blobs: `skip` (counted apart), `fail`, or `rehydrate[:Standard|High]`
    /// (ask for each to be brought back to Hot; copy them in a later run).
    #[arg(long, default_value = "skip", value_name = "POLICY")]
    pub archived: String,
    /// Replace an archived destination blob by deleting it (with its snapshots) and
    /// uploading again; without it, such a blob is reported as a failure.
    #[arg(long)]
    pub overwrite_archived: bool,
    /// What deleting a blob does with its snapshots: include (delete them too), only
    /// (delete only the snapshots) or fail.
    #[arg(long, value_enum, default_value = "include", ignore_case = true)]
    pub delete_snapshots: SnapshotPolicy,
    /// Sync folder stubs (zero-length blobs with `hdi_isfolder=true`, as ADLS Gen2 and
    /// azcopy write them) as folders; without it they are ignored.
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub include_directory_stub: bool,
    /// Sync empty folders (rclone's name): local folders become folder stubs on upload and
    /// folders again on download (the same as --include-directory-stub).
    #[arg(long)]
    pub create_empty_src_dirs: bool,

    /// Blob → blob: give each copy the source blob's access tier (an explicit one; the
    /// account default is not copied).
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub s2s_preserve_access_tier: bool,
    /// Blob → blob: give each copy the source blob's index tags (listing them needs the
    /// `t` permission on the source).
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub s2s_preserve_blob_tags: bool,
    /// Blob → blob: stream content through blobsync instead of having the destination copy
    /// it server-side (for a destination that cannot reach the source).
    #[arg(long)]
    pub s2s_stream: bool,

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
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub preserve_posix_properties: bool,
    /// Accepted for azcopy compatibility; must agree with the arguments.
    #[arg(long, value_enum)]
    pub from_to: Option<FromTo>,

    /// Act only on shard K of N (0-based): the paths whose hash falls in it; N processes
    /// with K = 0…N-1 together do one sync (deletes and hooks stay per shard).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// The number of shards, with K from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job).
    #[arg(long, value_name = "N")]
    pub shards: Option<String>,

    /// Which items the job record keeps: all (each skip too), changes, or none.
    #[arg(long, value_enum, default_value = "all")]
    pub job_items: crate::jobs::ItemRecords,

    /// Keep running: sync again whenever the local source changes (local → blob only).
    #[arg(long)]
    pub watch: bool,
    /// Watch mode: wait this long after the last change before syncing (milliseconds).
    #[arg(long, default_value = "1000", value_name = "MS", requires = "watch")]
    pub watch_debounce_ms: u64,
    /// Watch mode: also sync everything this often, in case a change was missed.
    #[arg(
        long,
        default_value = "1h",
        value_name = "DURATION",
        requires = "watch"
    )]
    pub watch_rescan: Span,

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

/// `blobsync check` flags: the sync flags that select and compare files, and these.
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
    #[command(flatten)]
    pub sync: SyncArgs,
}
