//! Validating the flag groups only `blobsync sync` has (`write_args`): what a run writes
//! and deletes, and how — read into the configuration the shared steps began, in order:
//! the backup location, flags that cannot work together, request sizes and MD5s,
//! deletes, watch mode, limits, how copies are made, the upload flags' annotator.

use super::args::{CompareHash, SyncArgs};
use super::derived::Derived;
use super::usage::{UsageError, usage};
use crate::sync::{ChangeLimit, DeleteMode};
use crate::units::ByteSize;

/// Reads `sync`'s own flag groups into `run`.
pub(super) fn apply(args: &SyncArgs, run: &mut Derived) -> Result<(), UsageError> {
    let direction = run.places.direction;
    run.config.backup = super::locations::backup(&args.backup, &run.places)?;
    refuse_unworkable(args)?;
    run.config.transfer = super::transfer_flags::transfer_options(&args.transfer)?;
    run.config.delete = args.deletes.delete_destination;
    run.config.max_delete = max_delete(args)?;
    run.config.allow_empty_source = args.deletes.allow_empty_source;
    if run.scopes.is_some() && args.watch.watch {
        return Err(usage(
            "--include-path and --files-from cannot be combined with --watch, which syncs what changes",
        ));
    }
    run.config.watch = super::watch_flags::watch_options(args, direction)?;
    run.config.dry_run = args.limits.dry_run;
    run.config.max_changes = max_changes(args)?;
    run.config.max_transfer = args.limits.max_transfer.map(ByteSize::bytes);
    run.config.max_duration =
        super::limit_flags::positive("--max-duration", args.limits.max_duration)
            .map_err(UsageError)?;
    super::blob_flags::copy_options(args, direction, &mut run.config.blob).map_err(UsageError)?;
    run.sources
        .annotators
        .extend(super::content_flags::annotator(&args.content, direction).map_err(UsageError)?);
    Ok(())
}

/// Refuses flags that cannot work as given: comparing MD5s that are not written, and
/// asking before deleting with no terminal to ask on.
fn refuse_unworkable(args: &SyncArgs) -> Result<(), UsageError> {
    if !args.transfer.put_md5 && args.compare.compare_hash == CompareHash::Md5 {
        return Err(usage(
            "--compare-hash=MD5 needs --put-md5 (it cannot be false)",
        ));
    }
    if args.deletes.delete_destination == DeleteMode::Prompt {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "--delete-destination=prompt needs a terminal to ask on, and stdin is not one; \
                 use --delete-destination=true (with --max-delete) for unattended runs",
            ));
        }
    }
    Ok(())
}

/// `--max-delete`: the most entries one run may delete.
fn max_delete(args: &SyncArgs) -> Result<Option<u64>, UsageError> {
    match args.deletes.max_delete {
        Some(n) if n < 0 => Err(usage(format!(
            "--max-delete {n}: it must be 0 or more (the most entries one run may delete)"
        ))),
        other => Ok(other.map(|n| n as u64)),
    }
}

/// `--max-changes`: the most destination entries the plan may overwrite or delete.
fn max_changes(args: &SyncArgs) -> Result<Option<ChangeLimit>, UsageError> {
    args.limits
        .max_changes
        .as_deref()
        .map(super::limit_flags::max_changes)
        .transpose()
        .map_err(UsageError)
}
