//! Watch mode from `blobsync sync` flags (`--watch`, `--watch-debounce-ms`,
//! `--watch-rescan`), and what it cannot be combined with.

use std::time::Duration;

use super::args::SyncArgs;
use super::usage::{UsageError, usage};
use crate::sync::{DeleteMode, Direction, WatchOptions};

/// The shortest `--watch-rescan`.
const MIN_RESCAN: Duration = Duration::from_secs(10);

/// Watch settings, validated.
pub(super) fn watch_options(
    args: &SyncArgs,
    direction: Direction,
) -> Result<Option<WatchOptions>, UsageError> {
    if !args.watch.watch {
        return Ok(None);
    }
    if direction != Direction::Upload {
        return Err(usage(
            "--watch syncs a local folder to a container; the source must be the local folder",
        ));
    }
    if args.limits.dry_run {
        return Err(usage("--watch and --dry-run cannot be combined"));
    }
    if args.deletes.delete_destination == DeleteMode::Prompt {
        return Err(usage(
            "--watch cannot ask before deleting; use --delete-destination=true with --max-delete",
        ));
    }
    let rescan = args.watch.watch_rescan.duration();
    if rescan < MIN_RESCAN {
        return Err(usage(format!(
            "--watch-rescan {}: a full sync at most every {} s (notifications catch changes in \
             between)",
            args.watch.watch_rescan,
            MIN_RESCAN.as_secs()
        )));
    }
    Ok(Some(WatchOptions {
        debounce: Duration::from_millis(args.watch.watch_debounce_ms),
        rescan,
    }))
}
