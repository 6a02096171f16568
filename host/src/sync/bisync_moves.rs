//! The moves of a two-way run (`--track-renames`): an entry renamed on one side is copied
//! to its new name within the other side — server-side in a container, through a new
//! file in a folder — then deleted under its old name there, each conditional on what
//! was listed (the new name must still be free, the old entry unchanged).

use std::collections::HashMap;

use futures::StreamExt as _;

use super::Action;
use super::backup::as_it_is;
use super::bisync_record::{Expected, StateRecorder};
use super::context::RunContext;
use super::observer::ItemDone;
use super::parts::Parts;
use super::server_copy::ServerCopies;
use super::transfer::{CopyOf, Shared, copy, unheard};
use crate::bisync::Which;
use crate::bisync::renames::Move;
use crate::endpoint::{DeleteTarget, Endpoint};
use crate::store::{Facts, Known};

/// Moves entries within the destination side of `parts`.
pub(crate) async fn move_round(
    parts: &Parts,
    ctx: &RunContext,
    recorder: &StateRecorder,
    moves: Vec<Move>,
) {
    if moves.is_empty() || ctx.stopped() {
        return;
    }
    let mut expected = HashMap::new();
    for m in &moves {
        expected.insert(m.to.clone(), Expected::Record(known_after(m)));
        expected.insert(m.item.path.clone(), Expected::Forget);
    }
    recorder.expect(expected);
    let shared = within_a_side(&parts.transfers);
    let endpoint = &*parts.destination;
    futures::stream::iter(moves)
        .for_each_concurrent(parts.config.concurrency.max(1), |m| {
            move_one(m, endpoint, &shared, ctx)
        })
        .await;
}

/// Copies within one side are made by the service itself where it can.
fn within_a_side(transfers: &Shared) -> Shared {
    let committing = transfers.committing.clone();
    Shared {
        options: transfers.options.clone(),
        check_source_md5: false,
        max_read: transfers.max_read,
        server: ServerCopies::new(true).with_committing(committing.clone()),
        committing,
    }
}

async fn move_one(m: Move, endpoint: &dyn Endpoint, shared: &Shared, ctx: &RunContext) {
    let (settings, metadata) = as_it_is(&m.item);
    let copied = copy(
        CopyOf {
            item: &m.item,
            to: &m.to,
            replaces: None,
            metadata,
            settings,
            on_moved: &unheard,
        },
        endpoint,
        endpoint,
        shared,
    )
    .await;
    let done = |path: String, action, bytes, reason: String, error: Option<String>, md5| {
        ctx.done(ItemDone {
            path,
            action,
            bytes,
            reason,
            error,
            md5,
            toward: None,
        })
    };
    let copied = match copied {
        Ok(copied) => copied,
        Err(e) => {
            let error = Some(format!("{}: {e}", endpoint.describe_path(&m.to)));
            return done(m.to, Action::Copy, 0, m.reason, error, None);
        }
    };
    let moved_to = format!("{}: moved to {}", m.reason, m.to);
    done(m.to, Action::Copy, copied.bytes, m.reason, None, copied.md5);
    let deleted = endpoint.delete(&DeleteTarget::of(&m.item)).await;
    let error = deleted.err().map(|e| e.to_string());
    done(m.item.path, Action::Delete, 0, moved_to, error, None);
}

/// Both sides' facts once `m` is done: the moved entry holds what it held, under its new
/// name; the renamed entry is as listed.
fn known_after(m: &Move) -> Known {
    let moved = Facts {
        etag: None,
        inode: None,
        ..Facts::of(&m.item)
    };
    let renamed = Facts::of(&m.renamed);
    let (path1, path2) = match m.on {
        Which::Path1 => (moved, renamed),
        Which::Path2 => (renamed, moved),
    };
    Known {
        path: m.to.clone(),
        path1,
        path2,
    }
}
