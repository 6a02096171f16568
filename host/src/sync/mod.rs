//! The sync pipeline: list → filter → pair → compare → policy → annotate → transfer →
//! delete, reporting to observers. [`Session`] is built once from a [`SyncConfig`] and
//! [`Session::run`] does one run; [`watch::watch`] runs a session on every change.

mod annotate_stage;
mod annotations;
mod archive;
mod backup;
mod bisync_lock;
mod bisync_moves;
mod bisync_plan;
mod bisync_record;
mod bisync_rounds;
mod bisync_run;
mod bisync_state_blob;
#[cfg(test)]
mod bisync_tests;
mod blob_md5;
mod collide;
mod committing;
mod compare_stage;
mod config;
mod context;
mod delete;
mod endpoints;
mod entries;
mod error;
mod filter_stage;
mod guard;
mod hashing;
mod listing_stream;
mod local_md5;
mod metadata;
mod observer;
mod overlap;
mod parts;
#[cfg(test)]
mod pipeline_tests;
mod plan;
mod plan_stage;
mod policy;
mod run;
mod server_copy;
mod session;
mod shard;
mod stop;
#[cfg(test)]
mod testing;
mod transfer;
mod transfer_stage;
mod watch;
mod watch_plugins;
mod work;

pub use bisync_run::{TwoWayConfig, TwoWaySession};
pub use config::{
    ArchivedPolicy, BackupConfig, BlobOptions, ChangeLimit, CheckMd5, CheckMode, DeleteMode,
    Direction, Location, MissingMd5, S2sOptions, SyncConfig, TransferOptions, WatchOptions,
};
pub use error::{
    CutOff, EXIT_AUTH, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_MAX_DURATION, EXIT_MAX_TRANSFER,
    EXIT_OK, EXIT_USAGE, RunError,
};
pub use observer::{
    Action, Completion, Event, ItemDone, LARGE_FILE, Observer, Observers, Planned, Progress,
    RunControl, RunInfo, RunOutcome, Side, Status, Totals, now_ms,
};
pub use session::{RunRequest, Session, cancelled_before_start, not_started};
pub use shard::{Shard, shard_of};
pub use stop::Stop;
pub use watch::watch;
pub use watch_plugins::{HookStarter, Reload, WatchedPlugins};
