//! The plan stage: one blocking task merges both filtered listings ([`super::plan`]),
//! compares each pair ([`super::compare_stage`]) and applies the copy policy
//! ([`super::policy`]); the annotate stage ([`super::annotate_stage`]), on a blocking task
//! of its own, settles what each blob carries and sends the copies and updates to the
//! transfer stage as they are found.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use tokio::task::JoinHandle;

use super::annotate_stage::AnnotateStage;
use super::annotations::Annotator;
use super::blob_md5::BlobHasher;
use super::collide::Collisions;
use super::compare_stage::Comparer;
use super::context::RunContext;
use super::entries::plugin_kind;
use super::filter_stage::ListMessage;
use super::hashing::Hashing;
use super::local_md5::LocalHasher;
use super::parts::Parts;
use super::plan::{MergeOutcome, merge};
use super::policy::{Decided, Policy};
use super::work::Work;
use super::{BlobOptions, DeleteMode, MissingMd5, RunError, Side};
use crate::endpoint::{Endpoint, EndpointKind, Item, ListOrder};
use crate::plugin::{ComparatorInstance, EndpointKind as PluginKind, RunValues};
use crate::store::Store;

/// Both sides' filtered listings, as the filter stage sends them: source, destination.
pub(crate) type Listings = (Receiver<ListMessage>, Receiver<ListMessage>);

/// What the planner ends with: the merge's outcome and the delete candidates.
type Planned = (Result<MergeOutcome, RunError>, Vec<Item>);

/// Decisions waiting for the annotate stage.
const DECIDED_WAITING: usize = 1024;

/// The plan stage, prepared from the session before its tasks start.
pub(crate) struct Planner {
    comparator: ComparatorInstance,
    hashing: Hashing,
    kinds: (PluginKind, PluginKind),
    collect_deletes: bool,
    order: ListOrder,
    collisions: Collisions,
    latest_time_ns: i64,
    blob: BlobOptions,
    backups: bool,
    annotator: Option<Annotator>,
    /// The destination container, when blobs found damaged before are looked up in it.
    damaged_under: Option<String>,
    store: Option<Arc<Store>>,
}

impl Planner {
    /// Prepares the plan stage: the comparator, the hashers (local files, and blobs read
    /// for their MD5), the destination's collisions and the annotator.
    pub(crate) fn new(session: &Parts, ctx: &RunContext, values: &RunValues) -> Planner {
        let config = &session.config;
        let destination = session.destination.capabilities();
        Planner {
            comparator: session.plugins.comparator_for(values),
            hashing: hashing(session, ctx),
            kinds: (
                plugin_kind(session.source.capabilities().kind),
                plugin_kind(destination.kind),
            ),
            collect_deletes: config.delete != DeleteMode::False,
            order: session.order,
            collisions: Collisions::for_destination(&destination),
            latest_time_ns: destination.latest_time_ns,
            blob: config.blob.clone(),
            backups: session.backup.is_some(),
            annotator: session.annotator(values),
            damaged_under: (destination.kind == EndpointKind::Blob)
                .then(|| format!("{}/", session.destination.describe())),
            store: session.store.clone(),
        }
    }

    /// Starts the plan on a blocking task, and the annotate stage on another; copies and
    /// updates go to `copies` as they are found.
    pub(crate) fn spawn(
        mut self,
        ctx: &Arc<RunContext>,
        listings: Listings,
        copies: tokio::sync::mpsc::Sender<Work>,
    ) -> PlanTask {
        let (decided_tx, decided_rx) = std::sync::mpsc::sync_channel(DECIDED_WAITING);
        let annotate = AnnotateStage {
            annotator: self.annotator.take(),
            ctx: ctx.clone(),
            copies,
        };
        let annotating = tokio::task::spawn_blocking(move || annotate.run(decided_rx));
        let ctx = ctx.clone();
        let planning = tokio::task::spawn_blocking(move || self.plan(&ctx, listings, decided_tx));
        PlanTask {
            planning,
            annotating,
        }
    }

    /// Merges and compares both listings, on the blocking task.
    fn plan(
        self,
        ctx: &RunContext,
        (source, destination): Listings,
        next: SyncSender<Decided>,
    ) -> Planned {
        let damaged = match (&self.store, &self.damaged_under) {
            (Some(store), Some(prefix)) => store.bad_blobs(prefix),
            _ => Default::default(),
        };
        let mut comparer = Comparer {
            ctx,
            comparator: self.comparator,
            hashing: self.hashing,
            kinds: self.kinds,
            latest_time_ns: self.latest_time_ns,
            deletes: self.collect_deletes.then(Vec::new),
            pending: Vec::new(),
            policy: Policy::new(ctx, self.blob, self.backups, damaged, next),
        };
        let outcome = merge(
            source.into_iter(),
            destination.into_iter(),
            self.order,
            self.collisions,
            ctx,
            &mut comparer,
        );
        (outcome, comparer.deletes.unwrap_or_default())
    }
}

/// The hashers the comparator needs: local files when it asks for MD5s, and blobs read
/// for theirs (`check --download`, `--missing-md5=download`).
fn hashing(session: &Parts, ctx: &RunContext) -> Hashing {
    let config = &session.config;
    let needs_md5 = session.plugins.comparator_info().needs_md5;
    let local = match (
        &session.local_root,
        needs_md5,
        config.direction.local_side(),
    ) {
        (Some(root), true, Some(side)) => Some(LocalHasher::new(
            root.clone(),
            side == Side::Source && config.follow_symlinks,
            side,
            config.hash_workers,
            session.store.clone(),
        )),
        _ => None,
    };
    let read_all = config.check.is_some_and(|c| c.download);
    let read_missing = config.missing_md5 == MissingMd5::Download && needs_md5;
    let blob_hasher = |endpoint: &Arc<dyn Endpoint>| {
        ((read_all || read_missing) && endpoint.capabilities().kind == EndpointKind::Blob).then(
            || BlobHasher {
                endpoint: endpoint.clone(),
                runtime: tokio::runtime::Handle::current(),
                missing_only: !read_all,
                stop: ctx.control.stop().clone(),
            },
        )
    };
    Hashing::new(
        local,
        (
            blob_hasher(&session.source),
            blob_hasher(&session.destination),
        ),
        read_missing && !read_all && !config.dry_run,
    )
}

/// The plan stage, running: the plan's task and the annotate stage's.
pub(crate) struct PlanTask {
    planning: JoinHandle<Planned>,
    annotating: JoinHandle<()>,
}

impl PlanTask {
    /// Waits for the plan to end: the merge's outcome and the delete candidates. A plan
    /// that failed is recorded in `ctx` and ends with an empty outcome and no deletes.
    pub(crate) async fn finished(self, ctx: &RunContext) -> (MergeOutcome, Vec<Item>) {
        let planned = self.planning.await;
        if let Err(e) = self.annotating.await {
            ctx.fail(RunError::Internal(format!(
                "the annotate stage failed: {e}"
            )));
        }
        match planned {
            Ok((Ok(outcome), deletes)) => (outcome, deletes),
            Ok((Err(e), _)) => {
                ctx.fail(e);
                (MergeOutcome::default(), Vec::new())
            }
            Err(e) => {
                ctx.fail(RunError::Internal(format!("the planner failed: {e}")));
                (MergeOutcome::default(), Vec::new())
            }
        }
    }
}
