//! `blobsync bisync`: its flags (the two locations, the groups it shares with `sync` —
//! what is synced, how the service is reached, how files are written, how the run is
//! reported — and its own: how conflicts are settled, how much one run may delete) and
//! their validation into a [`TwoWaySettings`].

use clap::Args;

use super::environment::Environment;
use super::locations::two_way_backups;
use super::selection_args::{CompareArgs, CompareHash, FilterArgs};
use super::shared_args::{
    AuthArgs, ListingArgs, LocationArgs, NetworkArgs, OutputArgs, PluginArgs, ShardArgs, Shared,
};
use super::sourced::Sourced;
use super::usage::{UsageError, usage};
use super::validate::{Settings, finish, shared};
use super::write_args::{BackupArgs, ContentArgs, TransferArgs};
use crate::bisync::conflict::{Loser, Resolve};
use crate::bisync::plan::PlanOptions;
use crate::sync::BackupConfig;

/// `blobsync bisync` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 all done (every conflict settled by --conflict-resolve); 1 some \
    items failed (a rerun may fix them); 2 usage or configuration error; 3 authentication or \
    authorisation; 7 refused by a guard (a side lists nothing, or would lose more than \
    --max-changes); 75 another two-way sync of the same locations is running; 130 \
    interrupted."
)]
pub struct BisyncArgs {
    /// The first location: a local folder or a blob URL (container or folder, optionally
    /// with a SAS).
    #[arg(value_name = "PATH1")]
    pub path1: String,
    /// The second location: a blob URL, or a local folder when PATH1 is a blob URL.
    #[arg(value_name = "PATH2")]
    pub path2: String,
    /// How conflicts are settled and how much one run may change.
    #[command(flatten)]
    pub two_way: TwoWayArgs,
    /// Which files are considered: patterns, paths, times, sizes.
    #[command(flatten)]
    pub filters: FilterArgs,
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
    /// How the run is reported and recorded.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `bisync`'s own flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Two-way")]
pub struct TwoWayArgs {
    /// Which version of a file changed on both sides (to different content) keeps its
    /// name; ties go to PATH1.
    #[arg(long, value_enum, default_value = "newer")]
    pub conflict_resolve: Resolve,
    /// What becomes of the other version.
    #[arg(long, value_enum, default_value = "rename")]
    pub conflict_loser: Loser,
    /// The most of a side's entries (as the last run left them) one run may delete
    /// there, in percent; a run that would delete more is refused (exit 7) and changes
    /// nothing.
    #[arg(long, value_name = "PERCENT", default_value = "50", value_parser = percent)]
    pub max_changes: f64,
    /// Keep every PATH1 entry a run overwrites or deletes (a conflict's losing version
    /// too) here first: a folder on PATH1's file system (entries are moved), or a
    /// container or folder in PATH1's account (blobs are copied server-side).
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir1: Option<String>,
    /// The same for PATH2's entries.
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir2: Option<String>,
    /// Add this to the names kept in --backup-dir1 and --backup-dir2 (e.g. `-$(date +%F)`).
    #[arg(long, value_name = "SUFFIX")]
    pub suffix: Option<String>,
    /// Put the --suffix before the file extension (`report-2024-06-01.pdf`).
    #[arg(long)]
    pub suffix_keep_extension: bool,
    /// A path deleted and a new path with the same size and MD5 on one side is a rename:
    /// the other side moves its entry (within the container, or the folder) instead of
    /// receiving the file again and deleting the old one.
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub track_renames: bool,
    /// Keep the state of the last run in the container (PATH1's, when both are
    /// containers; below the reserved `.blobsync/`) instead of the database: for pods and
    /// machines without a lasting disk.
    #[arg(long)]
    pub state_in_container: bool,
    /// Refuse to run (exit 7) unless both sides hold a --check-filename file, at the
    /// same relative paths: a guard against a wrong or unmounted folder or container.
    #[arg(long)]
    pub check_access: bool,
    /// The check files' name for --check-access.
    #[arg(long, value_name = "NAME", default_value = "BLOBSYNC_TEST")]
    pub check_filename: String,
    /// Adopt both locations as they are, as if never synced: the same content on both
    /// sides is settled, differing files are conflicts (nothing is overwritten).
    #[arg(long)]
    pub resync: bool,
    /// Show every action and its reason, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A percentage: 0 to 100, with or without `%`.
fn percent(value: &str) -> Result<f64, String> {
    let number = value.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!(
            "{value:?} is not a percentage from 0 to 100 (50, 50%)"
        )),
    }
}

/// A validated two-way sync: path1 → path2 as `sync` would be configured, and how the
/// two ways meet.
#[derive(Debug, Clone)]
pub struct TwoWaySettings {
    /// The run's settings; `sync` is path1 → path2.
    pub settings: Settings,
    /// How conflicts are settled.
    pub plan: PlanOptions,
    /// `--max-changes`, as a share.
    pub max_share: f64,
    /// `--resync`.
    pub resync: bool,
    /// `--backup-dir1` (`--backup-dir2` is `settings.sync.backup`, path2 being the
    /// destination of path1 → path2).
    pub backup1: Option<Box<BackupConfig>>,
    /// `--check-access`: the check files' name.
    pub check_access: Option<String>,
    /// `--state-in-container`.
    pub state_in_container: bool,
}

/// Validates `blobsync bisync` flags: the groups it shares with `sync` as `sync` reads
/// them (path1 as the source), then its own.
pub fn bisync_settings(args: &BisyncArgs, env: &Environment) -> Result<TwoWaySettings, UsageError> {
    let locations = LocationArgs {
        source: args.path1.clone(),
        destination: args.path2.clone(),
        from_to: None,
    };
    let compare = CompareArgs {
        compare_hash: CompareHash::None,
        modify_window: None,
        size_only: false,
        update: false,
        ignore_existing: false,
        mirror_mode: false,
        missing_md5: None,
    };
    let shard = ShardArgs {
        shard: None,
        shards: None,
    };
    let groups = Shared {
        locations: &locations,
        filters: &args.filters,
        compare: &compare,
        plugins: &args.plugins,
        credentials: &args.credentials,
        network: &args.network,
        listing: &args.listing,
        shard: &shard,
        output: &args.output,
    };
    let mut run = shared(&groups, env)?;
    let two_way = &args.two_way;
    let suffixes = BackupArgs {
        backup_dir: None,
        suffix: two_way.suffix.clone(),
        suffix_keep_extension: two_way.suffix_keep_extension,
    };
    let dirs = [
        two_way.backup_dir1.as_deref(),
        two_way.backup_dir2.as_deref(),
    ];
    let [backup1, backup2] = two_way_backups(dirs, &suffixes, &run.places)?;
    check_backups(two_way, [&backup1, &backup2])?;
    run.config.backup = backup2;
    run.config.transfer = super::transfer_flags::transfer_options(&args.transfer)?;
    run.config.dry_run = args.two_way.dry_run;
    let direction = run.places.direction;
    run.sources
        .annotators
        .extend(super::content_flags::annotator(&args.content, direction).map_err(UsageError)?);
    let settings = finish(run, &args.output, env)?;
    if settings.database.is_none() {
        return Err(usage(
            "bisync keeps what each run left in its database, and none is configured \
             (BLOBSYNC_DATA_DIR, or a home directory)",
        ));
    }
    Ok(TwoWaySettings {
        settings,
        plan: PlanOptions {
            resolve: two_way.conflict_resolve,
            loser: two_way.conflict_loser,
            track_renames: two_way.track_renames,
            // Set once the plugins are known (the session).
            resolvers: false,
        },
        max_share: two_way.max_changes,
        resync: two_way.resync,
        backup1: backup1.map(Box::new),
        check_access: two_way.check_access.then(|| two_way.check_filename.clone()),
        state_in_container: two_way.state_in_container,
    })
}

/// `--conflict-loser backup` keeps each losing version in its side's backup location: the
/// side(s) that can lose need one.
fn check_backups(
    two_way: &TwoWayArgs,
    backups: [&Option<BackupConfig>; 2],
) -> Result<(), UsageError> {
    if two_way.conflict_loser != Loser::Backup {
        return Ok(());
    }
    let can_lose = match two_way.conflict_resolve {
        Resolve::Path1 => [false, true],
        Resolve::Path2 => [true, false],
        _ => [true, true],
    };
    let missing: Vec<&str> = ["--backup-dir1", "--backup-dir2"]
        .into_iter()
        .zip(can_lose.into_iter().zip(backups))
        .filter(|(_, (loses, backup))| *loses && backup.is_none())
        .map(|(flag, _)| flag)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "--conflict-loser backup keeps the losing version of a conflict in its side's \
         backup location: give {}",
        missing.join(" and ")
    )))
}
