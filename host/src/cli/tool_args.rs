//! The arguments of the subcommands that look after blobsync rather than sync: `jobs`,
//! `backups` and `plugin`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::shared_args::{AuthArgs, OutputType};
use super::sourced::Sourced;
use crate::units::Span;

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
        #[arg(long, value_name = "DURATION")]
        older_than: Option<Span>,
    },
}

/// `blobsync backups …`.
#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List the kept versions of PATH, newest first (from the job records, or by scanning
    /// --backup-dir).
    List(BackupsListArgs),
    /// Put a kept version of PATH back (by default under its original name).
    #[command(disable_version_flag = true)]
    Restore(BackupsRestoreArgs),
}

/// `blobsync backups list`.
#[derive(Debug, Args)]
pub struct BackupsListArgs {
    /// The entry: a local file's path, or a blob's URL.
    pub path: String,
    /// Scan this backup location for the versions instead of reading the job records
    /// (names the entry's name with a suffix after it or before its extension).
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output_type: OutputType,
    #[command(flatten)]
    pub credentials: Sourced<AuthArgs>,
}

/// `blobsync backups restore`.
#[derive(Debug, Args)]
pub struct BackupsRestoreArgs {
    /// The entry: a local file's path, or a blob's URL.
    pub path: String,
    /// Which version (the number `backups list` shows; 1 is the newest).
    #[arg(long, value_name = "N")]
    pub version: usize,
    /// Put it here instead of under its original name.
    #[arg(long, value_name = "DEST")]
    pub to: Option<String>,
    /// Find the versions by scanning this backup location instead of the job records.
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir: Option<String>,
    /// Replace what is at the destination (without it, an existing entry is refused).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub credentials: Sourced<AuthArgs>,
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
        /// The folder whose files are the source side (for resolvers: PATH1).
        dir: PathBuf,
        /// A component's configuration (repeatable).
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Grant a component `read-content` with this many bytes.
        #[arg(long, value_name = "BYTES")]
        read_content: Option<u64>,
        /// A folder to compare with, as the destination (comparators); for resolvers,
        /// PATH2: the files that differ from DIR's are the conflicts put to them.
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
    /// Settles a two-way sync's conflicts.
    Resolver,
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
