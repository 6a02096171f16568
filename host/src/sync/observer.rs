//! What a run reports, and to whom. The pipeline counts into one set of [`Totals`] and
//! tells an [`Observer`] what happens; the console, the job recorder and the hook
//! dispatcher are observers, wired together by the caller.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{RunError, Stop};
use crate::endpoint::SkipKind;

/// Declares the totals once: the plain snapshot and the atomic counters behind it.
macro_rules! totals {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A run's totals.
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize,
        )]
        #[serde(default)]
        pub struct Totals {
            $($(#[$doc])* pub $name: u64,)*
        }

        /// The totals while the run counts them.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl Counters {
            /// The totals so far.
            pub(crate) fn snapshot(&self) -> Totals {
                Totals { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

totals! {
    /// Files listed at the source that passed the filters.
    source_files,
    /// Files listed at the destination that passed the filters.
    destination_files,
    /// Entries (files or folders) excluded by filters, on either side.
    excluded,
    /// Symbolic links skipped.
    symlinks_skipped,
    /// Sockets, FIFOs and devices skipped.
    special_skipped,
    /// Names the other side cannot store, skipped.
    unsyncable,
    /// Archived source blobs skipped (or waiting for a rehydration).
    archived,
    /// Rehydrations of archived source blobs requested.
    rehydrating,
    /// `check`: entries only at the source.
    only_at_source,
    /// `check`: entries at both sides that differ.
    differ,
    /// `check`: entries only at the destination.
    only_at_destination,
    /// Pairs the comparator found up to date.
    up_to_date,
    /// Files copied (a dry run: that would be copied).
    copied,
    /// Bytes copied.
    bytes_copied,
    /// Bytes of the copies planned so far (the plan grows while listing goes on).
    bytes_planned,
    /// Bytes written to the destination so far, including those of copies in flight.
    bytes_moved,
    /// Bytes of the source files listed.
    bytes_enumerated,
    /// Destination entries deleted (a dry run: that would be deleted).
    deleted,
    /// Destination entries kept in the backup location before they were overwritten or
    /// deleted (`--backup-dir`; a dry run: that would be).
    backed_up,
    /// Destination blobs whose headers, tier, metadata or tags were changed without an
    /// upload (a dry run: that would be).
    updated,
    /// Items that failed: copies, deletes, listing and hashing errors.
    failed,
    /// Plugin failures tolerated (fail-open).
    plugin_failures,
    /// Requests (and download ranges) tried again after a failure.
    retries,
}

impl Counters {
    /// Adds one to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Which side of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Copied from.
    Source,
    /// Copied to.
    Destination,
}

impl Side {
    /// `source` or `destination`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }
}

/// What was done to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A local file copied to a blob.
    Upload,
    /// A blob copied to a local file.
    Download,
    /// A blob copied to another blob (server-side, or streamed through blobsync).
    Copy,
    /// A destination entry deleted.
    Delete,
    /// A blob's headers, tier, metadata or tags changed without copying it.
    Update,
    /// An archived source blob's rehydration requested.
    Rehydrate,
}

impl Action {
    /// `upload`, `download`, `copy`, `delete`, `update` or `rehydrate`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Upload => "upload",
            Action::Download => "download",
            Action::Copy => "copy",
            Action::Delete => "delete",
            Action::Update => "update",
            Action::Rehydrate => "rehydrate",
        }
    }
}

/// A copy or delete that finished, or failed.
#[derive(Debug, Clone)]
pub struct ItemDone {
    /// Relative path.
    pub path: String,
    /// What was done.
    pub action: Action,
    /// Bytes moved.
    pub bytes: u64,
    /// Why it was done.
    pub reason: String,
    /// The error, if it failed.
    pub error: Option<String>,
    /// MD5 of what was written.
    pub md5: Option<[u8; 16]>,
    /// In a two-way run, the side it was written to (or deleted on); `None` in a one-way
    /// run.
    pub toward: Option<crate::bisync::Which>,
}

/// What a dry run would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// Copy the source over the destination.
    Copy,
    /// Delete the destination entry.
    Remove,
    /// Change a blob's headers, tier, metadata or tags.
    Update,
    /// Ask for an archived source blob's rehydration.
    Rehydrate,
    /// Keep a destination entry in the backup location before it is replaced or deleted.
    Backup,
    /// `check`: an entry only at the source.
    OnlyAtSource,
    /// `check`: an entry at both sides that differs.
    Differs,
    /// `check`: an entry only at the destination.
    OnlyAtDestination,
}

impl Planned {
    /// The name used in output and job records.
    pub fn name(self) -> &'static str {
        match self {
            Planned::Copy => "copy",
            Planned::Remove => "remove",
            Planned::Update => "update",
            Planned::Rehydrate => "rehydrate",
            Planned::Backup => "backup",
            Planned::OnlyAtSource => "only-at-source",
            Planned::Differs => "differs",
            Planned::OnlyAtDestination => "only-at-destination",
        }
    }

    /// True for what `check` reports.
    pub fn is_difference(self) -> bool {
        matches!(
            self,
            Planned::OnlyAtSource | Planned::Differs | Planned::OnlyAtDestination
        )
    }
}

/// Something that happened during a run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An entry a filter excluded. `side` is `None` when the entry is excluded because its
    /// folder is excluded on the other side; `plugin` is then empty.
    Excluded {
        /// Where it was listed.
        side: Option<Side>,
        /// Relative path (a trailing `/` for a folder).
        path: &'a str,
        /// The filter's name.
        plugin: &'a str,
        /// The filter's reason.
        reason: &'a str,
    },
    /// An entry the lister skipped.
    Skipped {
        /// Relative path.
        path: &'a str,
        /// Why.
        reason: &'a str,
        /// What kind of entry.
        kind: SkipKind,
    },
    /// A pair the comparator found up to date.
    UpToDate {
        /// Relative path.
        path: &'a str,
        /// The comparator's reason.
        reason: &'a str,
    },
    /// A dry run's copy or delete.
    Planned {
        /// Copy or remove.
        action: Planned,
        /// What would be read (or removed), for messages.
        source: &'a str,
        /// Where it would be written, for a copy.
        destination: Option<&'a str>,
        /// Why.
        reason: &'a str,
        /// Its size.
        bytes: u64,
        /// What a new blob would carry (headers, tier, metadata, tags); empty otherwise.
        carries: &'a str,
    },
    /// A copy or delete finished or failed.
    Done(&'a ItemDone),
    /// A failure that is not a copy or delete (listing, hashing).
    Failed {
        /// The path or location.
        path: &'a str,
        /// What went wrong.
        message: &'a str,
    },
    /// A destination entry was kept in the backup location (`--backup-dir`) before it was
    /// overwritten or deleted.
    Kept {
        /// Relative path.
        path: &'a str,
        /// Where it was (the destination's location of it).
        original: &'a str,
        /// Where it is kept now.
        kept: &'a str,
        /// Its size.
        bytes: u64,
    },
    /// A two-way run's conflict (a path changed on both sides to different content) and
    /// how it is settled; reported before anything is written, in a dry run too.
    Conflict(&'a crate::bisync::plan::Conflict),
    /// Something the user should know; not a failure.
    Warning(&'a str),
    /// How far the run has come, a few times a second while it goes on.
    Progress(&'a Progress<'a>),
}

/// How far a run has come.
#[derive(Debug)]
pub struct Progress<'a> {
    /// The totals so far.
    pub totals: &'a Totals,
    /// Listing and comparing go on: the plan (`bytes_planned`) is still growing.
    pub planning: bool,
    /// Files of at least [`LARGE_FILE`] bytes now moving: (path, bytes moved, size).
    pub moving: &'a [(String, u64, u64)],
}

/// Files of this size and more are shown one by one while they move.
pub const LARGE_FILE: u64 = 64 << 20;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every item succeeded.
    Completed,
    /// Some items failed.
    CompletedWithErrors,
    /// A fatal error stopped the run, or kept it from starting.
    Failed,
    /// The user interrupted it.
    Cancelled,
    /// `--max-transfer` or `--max-duration` stopped it early; the next run continues.
    CutOff,
    /// `check`: the two sides differ.
    Differences,
}

impl Status {
    /// The name used in output and job records.
    pub fn name(self) -> &'static str {
        match self {
            Status::Completed => "Completed",
            Status::CompletedWithErrors => "CompletedWithErrors",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
            Status::CutOff => "CutOff",
            Status::Differences => "Differences",
        }
    }
}

/// Lets an observer end the run with an error (a fail-closed hook).
#[derive(Debug, Clone)]
pub struct RunControl {
    stop: Stop,
    fatal: Arc<OnceLock<RunError>>,
}

impl RunControl {
    pub(crate) fn new(stop: Stop) -> Self {
        RunControl {
            stop,
            fatal: Arc::default(),
        }
    }

    /// Ends the run with `error`, unless another fatal error came first.
    pub fn fail(&self, error: RunError) {
        if self.fatal.set(error).is_ok() {
            self.stop.stop();
        }
    }

    /// The run's stop signal.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The first fatal error, if any.
    pub(crate) fn fatal(&self) -> Option<RunError> {
        self.fatal.get().cloned()
    }
}

/// A run about to start.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The job id.
    pub job_id: String,
    /// The source, for messages (SAS redacted).
    pub source: String,
    /// The destination, for messages (SAS redacted).
    pub destination: String,
    /// Nothing will be changed.
    pub dry_run: bool,
    /// `blobsync check`: differences are reported, and are the run's result.
    pub check: bool,
    /// Only these paths and what is below them (watch mode); empty: everything.
    pub scopes: Vec<String>,
    /// Start time, ms since the epoch.
    pub started_ms: i64,
    /// The shard of the sync this run is (`--shard K/N`), if it is one.
    pub shard: Option<super::Shard>,
    /// Ends the run with an error.
    pub control: RunControl,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run as it started.
    pub info: RunInfo,
    /// How it ended.
    pub status: Status,
    /// The totals.
    pub totals: Totals,
    /// Wall time.
    pub elapsed: Duration,
    /// The error that stopped the run, or kept it from starting.
    pub error: Option<RunError>,
    /// The fail-open plugins that failed, by name (their total is
    /// [`Totals::plugin_failures`]).
    pub plugin_failures: Vec<crate::plugin::PluginFailures>,
}

impl RunOutcome {
    /// The process exit code for this outcome.
    pub fn exit_code(&self) -> u8 {
        match (&self.error, self.status) {
            (Some(e), _) => e.exit_code(),
            (None, Status::Cancelled) => super::error::EXIT_INTERRUPTED,
            (None, Status::Completed) => super::error::EXIT_OK,
            (None, _) => super::error::EXIT_FAILED,
        }
    }
}

/// What an observer adds when a run completes (a hook's failures at the end).
#[derive(Debug, Default)]
pub struct Completion {
    /// Plugin failures tolerated (fail-open), by plugin.
    pub plugin_failures: Vec<crate::plugin::PluginFailures>,
    /// A failure that fails the run (fail-closed).
    pub error: Option<RunError>,
}

/// Receives what a run does. Calls come from several threads at once.
pub trait Observer: Send + Sync {
    /// A run starts.
    fn run_started(&self, _run: &RunInfo) {}
    /// Something happened.
    fn event(&self, event: &Event<'_>);
    /// The pipeline has finished; the run's status may still change with what this
    /// returns.
    fn run_completing(&self, _outcome: &RunOutcome) -> Completion {
        Completion::default()
    }
    /// The run has ended.
    fn run_finished(&self, _outcome: &RunOutcome) {}
    /// A message about the session rather than one run (watch mode: retries, a stop).
    fn notice(&self, _message: &str) {}
}

/// Several observers, called in order.
#[derive(Default, Clone)]
pub struct Observers(Vec<Arc<dyn Observer>>);

impl Observers {
    /// Observers called in the order given.
    pub fn new(observers: Vec<Arc<dyn Observer>>) -> Self {
        Observers(observers)
    }
}

impl Observer for Observers {
    fn run_started(&self, run: &RunInfo) {
        self.0.iter().for_each(|o| o.run_started(run));
    }

    fn event(&self, event: &Event<'_>) {
        self.0.iter().for_each(|o| o.event(event));
    }

    fn run_completing(&self, outcome: &RunOutcome) -> Completion {
        let mut all = Completion::default();
        for o in &self.0 {
            let c = o.run_completing(outcome);
            all.plugin_failures.extend(c.plugin_failures);
            if all.error.is_none() {
                all.error = c.error;
            }
        }
        all
    }

    fn run_finished(&self, outcome: &RunOutcome) {
        self.0.iter().for_each(|o| o.run_finished(outcome));
    }

    fn notice(&self, message: &str) {
        self.0.iter().for_each(|o| o.notice(message));
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
