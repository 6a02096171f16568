//! The delete phase: after every copy has finished, destination entries that are not at
//! the source are deleted concurrently — never after a listing error or an out-of-order
//! listing, never more than `--max-delete`, and (with `prompt`) only those the user
//! approves.

use futures::StreamExt;

use super::backup::Backup;
use super::config::DeleteMode;
use super::context::RunContext;
use super::observer::{ItemDone, Planned};
use super::plan::MergeOutcome;
use super::transfer::Shared;
use super::{Action, RunError};
use crate::endpoint::{DeleteTarget, Endpoint, Item};

/// How the delete phase runs.
pub(crate) struct DeletePolicy<'a> {
    pub(crate) mode: DeleteMode,
    pub(crate) max_delete: Option<u64>,
    pub(crate) dry_run: bool,
    pub(crate) concurrency: usize,
    /// `check`: report, as only at the destination.
    pub(crate) check: bool,
    /// `--backup-dir`: each entry is kept there before it is deleted.
    pub(crate) backup: Option<(&'a Backup, &'a Shared)>,
    /// Deleting everything because the source is empty is wanted (`--allow-empty-source`).
    pub(crate) allow_empty_source: bool,
}

/// The reason recorded for every delete.
const REASON: &str = "not at the source";

/// Deletes `targets` from `destination`, if it is safe to.
pub(crate) async fn delete_phase(
    policy: &DeletePolicy<'_>,
    targets: Vec<Item>,
    merge: &MergeOutcome,
    destination: &dyn Endpoint,
    ctx: &RunContext,
) {
    if targets.is_empty() || policy.mode == DeleteMode::False {
        return;
    }
    if !allowed(policy, &targets, merge, destination, ctx) {
        return;
    }
    if policy.dry_run {
        report_planned(policy, &targets, destination, ctx);
        return;
    }
    let targets = if policy.mode == DeleteMode::Prompt {
        let described: Vec<String> = targets
            .iter()
            .map(|d| destination.describe_path(&d.path))
            .collect();
        tokio::task::spawn_blocking(move || prompt(targets, &described))
            .await
            .unwrap_or_default()
    } else {
        targets
    };
    delete_all(policy, &targets, destination, ctx, &|_| REASON.into()).await;
}

/// The guards: no delete after a listing that may be incomplete, none beyond
/// `--max-delete`, and none of everything when the source lists nothing (unless
/// `--allow-empty-source`). A refusal is recorded on `ctx`; false means delete nothing.
fn allowed(
    policy: &DeletePolicy<'_>,
    targets: &[Item],
    merge: &MergeOutcome,
    destination: &dyn Endpoint,
    ctx: &RunContext,
) -> bool {
    if let Some(why) = merge.deletes_unsafe() {
        ctx.warning(&format!(
            "{} entries at the destination are not at the source, but nothing was deleted \
             because {why}; fix that and run again",
            targets.len()
        ));
        return false;
    }
    if let Some(max) = policy.max_delete
        && targets.len() as u64 > max
    {
        ctx.fail(RunError::Refused(format!(
            "{} entries at {} would be deleted, more than --max-delete {max}; nothing was \
             deleted (the copies were made). Check the source, or raise --max-delete",
            targets.len(),
            destination.describe()
        )));
        return false;
    }
    if ctx.totals().source_files == 0 && !policy.allow_empty_source {
        ctx.fail(RunError::Refused(format!(
            "the source lists no files, so every one of the {} entries at {} would be \
             deleted; nothing was deleted. Check that the source is there (an unmounted disk, \
             a wiped folder, a wrong path); if emptying the destination is what you want, add \
             --allow-empty-source",
            targets.len(),
            destination.describe()
        )));
        return false;
    }
    true
}

/// A dry run (or `check`): what would be kept and deleted, or what is only at the
/// destination.
fn report_planned(
    policy: &DeletePolicy<'_>,
    targets: &[Item],
    destination: &dyn Endpoint,
    ctx: &RunContext,
) {
    for d in targets {
        if let (Some((backup, _)), false) = (policy.backup, policy.check) {
            ctx.planned(
                Planned::Backup,
                &destination.describe_path(&d.path),
                Some(&backup.describe(&d.path)),
                "kept before it is deleted (--backup-dir)",
                d.size,
                "",
            );
        }
        ctx.planned(
            if policy.check {
                Planned::OnlyAtDestination
            } else {
                Planned::Remove
            },
            &destination.describe_path(&d.path),
            None,
            REASON,
            d.size,
            "",
        );
    }
}

/// Batches of deletes in flight at once, where the destination deletes in batches.
const BATCHES_IN_FLIGHT: usize = 4;

/// Deletes every target (each backed up first with `--backup-dir`), `reason` saying why
/// each goes, until the run stops: `--concurrency` at a time, or in batches where the
/// destination takes them (a container: 256 a request).
pub(crate) async fn delete_all(
    policy: &DeletePolicy<'_>,
    targets: &[Item],
    destination: &dyn Endpoint,
    ctx: &RunContext,
    reason: &(dyn Fn(&Item) -> String + Sync),
) {
    let batch = destination.delete_batch_size().max(1);
    let in_flight = match batch {
        1 => policy.concurrency.max(1),
        _ => BATCHES_IN_FLIGHT,
    };
    let results = futures::stream::iter(targets.chunks(batch))
        .take_while(|_| std::future::ready(!ctx.stopped()))
        .map(|chunk| delete_chunk(policy, chunk, destination, ctx))
        .buffer_unordered(in_flight);
    futures::pin_mut!(results);
    while let Some(done) = results.next().await {
        for (target, result) in done {
            if let Err(e) = &result
                && let Some(kind) = super::transfer_stage::skip_kind(e.class())
            {
                ctx.skipped(&target.path, e.message(), kind);
                continue;
            }
            ctx.done(ItemDone {
                path: target.path.clone(),
                action: Action::Delete,
                bytes: 0,
                reason: reason(target),
                error: result.err().map(|e| e.to_string()),
                md5: None,
                toward: None,
            });
        }
    }
}

/// Deletes one chunk of targets (one request where the destination batches), each kept
/// in the backup location first where there is one: a target whose backup failed is not
/// deleted.
async fn delete_chunk<'a>(
    policy: &DeletePolicy<'_>,
    chunk: &'a [Item],
    destination: &dyn Endpoint,
    ctx: &RunContext,
) -> Vec<(&'a Item, Result<(), crate::endpoint::EndpointError>)> {
    let kept: Vec<(&Item, Result<(), _>)> = futures::stream::iter(chunk)
        .map(|d| async move {
            match policy.backup {
                Some((backup, shared)) => (d, backup.keep(destination, d, shared, ctx).await),
                None => (d, Ok(())),
            }
        })
        .buffered(policy.concurrency.max(1))
        .collect()
        .await;
    let (going, mut out): (Vec<_>, Vec<_>) = kept.into_iter().partition(|(_, kept)| kept.is_ok());
    let targets: Vec<DeleteTarget> = going.iter().map(|(d, _)| DeleteTarget::of(d)).collect();
    let results = match targets.as_slice() {
        [one] => vec![destination.delete(one).await],
        many => destination.delete_many(many).await,
    };
    out.extend(going.into_iter().map(|(d, _)| d).zip(results));
    out
}

/// Asks on the terminal about each delete (`--delete-destination=prompt`), like azcopy:
/// Yes, No, Yes for all, No for all. End of input answers No for the rest.
fn prompt(targets: Vec<Item>, described: &[String]) -> Vec<Item> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut all: Option<bool> = None;
    let mut approved = Vec::new();
    for (target, label) in targets.into_iter().zip(described) {
        let yes = match all {
            Some(answer) => answer,
            None => loop {
                eprint!("Delete {label}? [Y] Yes  [N] No  [A] Yes for all  [L] No for all: ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        eprintln!();
                        all = Some(false);
                        break false;
                    }
                    Ok(_) => {}
                }
                match line.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => break true,
                    "n" | "no" => break false,
                    "a" => {
                        all = Some(true);
                        break true;
                    }
                    "l" => {
                        all = Some(false);
                        break false;
                    }
                    _ => eprintln!("please answer Y, N, A or L"),
                }
            },
        };
        if yes {
            approved.push(target);
        }
    }
    approved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointKind, MemoryEndpoint};
    use crate::sync::testing::context;

    fn destination(paths: &[&str]) -> (MemoryEndpoint, Vec<Item>) {
        let m = MemoryEndpoint::new(EndpointKind::Local);
        for p in paths {
            m.insert(p, b"x", 7);
        }
        let targets = paths.iter().map(|p| Item::new(*p, 1, 7)).collect();
        (m, targets)
    }

    fn policy(max_delete: Option<u64>) -> DeletePolicy<'static> {
        DeletePolicy {
            mode: DeleteMode::True,
            max_delete,
            dry_run: false,
            concurrency: 4,
            check: false,
            backup: None,
            allow_empty_source: true,
        }
    }

    fn complete() -> MergeOutcome {
        MergeOutcome {
            complete: true,
            ..Default::default()
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn max_delete_refuses_the_whole_batch_as_a_guard() {
        let (m, targets) = destination(&["a", "b", "c"]);
        let (ctx, _) = context();
        block_on(delete_phase(
            &policy(Some(2)),
            targets,
            &complete(),
            &m,
            &ctx,
        ));
        assert_eq!(m.paths(), ["a", "b", "c"], "nothing was deleted");
        match ctx.control.fatal() {
            Some(RunError::Refused(why)) => {
                assert!(why.contains("more than --max-delete 2"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ctx.totals().failed, 0, "a refusal is not an item failure");
    }

    #[test]
    fn within_max_delete_everything_goes() {
        let (m, targets) = destination(&["a", "b"]);
        let (ctx, _) = context();
        block_on(delete_phase(
            &policy(Some(2)),
            targets,
            &complete(),
            &m,
            &ctx,
        ));
        assert!(m.paths().is_empty());
        assert_eq!(ctx.totals().deleted, 2);
    }

    #[test]
    fn after_a_listing_error_nothing_is_deleted() {
        let (m, targets) = destination(&["a"]);
        let (ctx, events) = context();
        let merge = MergeOutcome {
            listing_errors: 1,
            ..complete()
        };
        block_on(delete_phase(&policy(None), targets, &merge, &m, &ctx));
        assert_eq!(m.paths(), ["a"]);
        assert!(events.has("nothing was deleted because some paths could not be listed"));
    }

    #[test]
    fn a_dry_run_only_reports() {
        let (m, targets) = destination(&["a"]);
        let (ctx, events) = context();
        let dry = DeletePolicy {
            dry_run: true,
            ..policy(None)
        };
        block_on(delete_phase(&dry, targets, &complete(), &m, &ctx));
        assert_eq!(m.paths(), ["a"]);
        assert_eq!(ctx.totals().deleted, 1);
        assert!(events.has("Remove"), "{:?}", events.lines());
    }
}
