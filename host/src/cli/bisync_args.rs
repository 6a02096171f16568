//! `blobsync bisync`: its flags (the two locations, the groups it shares with `sync` —
//! what is synced, how the service is reached, how files are written, how the run is
//! reported — and its own: how conflicts are settled, how much one run may delete) and
//! their validation into a [`TwoWaySettings`].

use clap::Args;

use super::environment::Environment;
use super::selection_args::{CompareArgs, CompareHash, FilterArgs};
use super::shared_args::{
    AuthArgs, ListingArgs, LocationArgs, NetworkArgs, OutputArgs, PluginArgs, ShardArgs, Shared,
};
use super::sourced::Sourced;
use super::usage::{UsageError, usage};
use super::validate::{Settings, finish, shared};
use super::write_args::{ContentArgs, TransferArgs};
use crate::bisync::conflict::{Loser, Resolve};
use crate::bisync::plan::PlanOptions;

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
    let two_way = &args.two_way;
    Ok(TwoWaySettings {
        settings,
        plan: PlanOptions {
            resolve: two_way.conflict_resolve,
            loser: two_way.conflict_loser,
        },
        max_share: two_way.max_changes,
        resync: two_way.resync,
    })
}
