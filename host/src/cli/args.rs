//! The command line as the user types it (clap). Flags follow azcopy's `sync` (and
//! rclone's where azcopy has none) so users can switch without relearning.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::endpoint::azure::AuthMode;
use crate::sync::{CheckMd5, DeleteMode};

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
    /// Make DESTINATION match SOURCE (one is a local folder, the other a blob URL).
    Sync(Box<SyncArgs>),
    /// Build and inspect plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Show and clean the records of past runs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), generated from the command-line definition.
    Man,
}

/// `blobsync jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List recent runs, newest first.
    List {
        /// How many.
        #[arg(long, default_value = "20")]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output_type: OutputType,
    },
    /// Show one run and its items.
    Show {
        /// The job id, or a unique prefix of it.
        id: String,
        /// Which items to list.
        #[arg(long, value_enum, default_value = "All", ignore_case = true)]
        with_status: crate::jobs::StatusFilter,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output_type: OutputType,
    },
    /// Remove finished runs (all of them, or those older than an age such as 30d).
    Clean {
        /// Only runs that started longer ago than this (`30d`, `12h`, `90m`).
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
    },
}

/// `blobsync plugin …`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Build a plugin component from its source: a Rust crate (Cargo.toml), a Python
    /// project (pyproject.toml with [tool.blobsync]) or a JavaScript one (package.json).
    Build {
        /// The plugin's directory.
        dir: PathBuf,
        /// Where to write the component (default: TARGET_DIR/blobsync/PACKAGE.wasm for
        /// Rust, DIR/dist/NAME.wasm for Python and JavaScript).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Cargo's target directory (Rust; default: DIR/target).
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Print less of the build tools' progress.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Show a component's plugin world, interface version, imports and sha256, or a
    /// manifest's plugins and what each is granted.
    Inspect {
        /// The component (.wasm) or manifest (.toml).
        file: PathBuf,
    },
    /// Write a new plugin project that builds and runs as generated.
    New {
        /// The plugin's name (and directory).
        name: String,
        /// What it decides.
        #[arg(long, value_enum)]
        kind: NewKind,
        /// The language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: NewLang,
        /// Where to create the directory (default: the current directory).
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
    },
    /// Run plugins on a local folder and show what they do to each file, without Azure.
    Try {
        /// A manifest (.toml) or a component (.wasm).
        plugin: PathBuf,
        /// The folder whose files are the source side.
        dir: PathBuf,
        /// A component's configuration (repeatable).
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Grant a component `read-content` with this many bytes.
        #[arg(long, value_name = "BYTES")]
        read_content: Option<u64>,
        /// A folder to compare with, as the destination (comparators).
        #[arg(long, value_name = "DIR")]
        against: Option<PathBuf>,
        /// One JSON object per file.
        #[arg(long)]
        json: bool,
    },
}

/// `plugin new --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewKind {
    /// Includes or excludes files.
    Filter,
    /// Decides which files present on both sides are copied.
    Comparator,
    /// Sets headers, tier, metadata and tags on uploads.
    Annotator,
    /// Observes what a run did.
    Hook,
}

/// `plugin new --lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewLang {
    /// Rust, with the blobsync-plugin SDK.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
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
}

/// `blobsync sync` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 all done; 1 some items failed; 2 usage or configuration \
    error; 3 authentication or authorisation failure; 130 interrupted."
)]
pub struct SyncArgs {
    /// The source: a local folder or a blob URL (container or folder, optionally with a SAS).
    pub source: String,
    /// The destination: a blob URL or a local folder.
    pub destination: String,

    /// Copy only files whose names match one of these patterns (`;`-separated, `* ? [..]`).
    #[arg(long, value_name = "PATTERNS")]
    pub include_pattern: Option<String>,
    /// Skip files whose names match one of these patterns.
    #[arg(long, value_name = "PATTERNS")]
    pub exclude_pattern: Option<String>,
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
    /// Tolerated modification-time difference, e.g. `2s` (default: exact).
    #[arg(long, value_name = "DURATION")]
    pub modify_window: Option<String>,

    /// Delete destination entries that are not at the source: false, true or prompt.
    #[arg(long, value_enum, default_value = "false", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", ignore_case = true)]
    pub delete_destination: DeleteMode,
    /// Refuse to delete more than this many entries (the run reports an error instead).
    #[arg(long, value_name = "N")]
    pub max_delete: Option<u64>,
    /// Print what would be copied and deleted, and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// A plugin manifest (TOML) adding filters and hooks or replacing the comparator.
    #[arg(long = "plugins", value_name = "FILE")]
    pub plugins: Option<PathBuf>,

    /// How to authenticate to the blob side.
    #[arg(long, value_enum, default_value = "auto")]
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
    /// Storage account key (Shared Key).
    #[arg(
        long,
        env = "AZURE_STORAGE_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub account_key: Option<String>,

    /// Files transferred at once (default 32; azcopy's variable is honoured).
    #[arg(long, env = "AZCOPY_CONCURRENCY_VALUE", value_name = "N")]
    pub concurrency: Option<usize>,
    /// Block size for large files, in MiB.
    #[arg(long, default_value = "8", value_name = "MIB")]
    pub block_size_mb: f64,
    /// Files up to this size (MiB) are uploaded with a single request (default: the block size).
    #[arg(long, value_name = "MIB")]
    pub put_blob_size_mb: Option<f64>,
    /// Memory for blocks in flight, in MiB.
    #[arg(
        long,
        default_value = "64",
        value_name = "MIB",
        env = "BLOBSYNC_BUFFER_MB"
    )]
    pub buffer_mb: u64,

    /// Limit the bandwidth of all transfers together, in megabits per second.
    #[arg(long, value_name = "MBPS")]
    pub cap_mbps: Option<f64>,

    /// Follow symbolic links in a local source (loops are detected and skipped).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Accepted for azcopy compatibility; must agree with the arguments.
    #[arg(long, value_enum)]
    pub from_to: Option<FromTo>,

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
    #[arg(long, default_value = "1h", value_name = "AGE", requires = "watch")]
    pub watch_rescan: String,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output_type: OutputType,
    /// Print only errors and the summary.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every copy and delete.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `--output-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}
