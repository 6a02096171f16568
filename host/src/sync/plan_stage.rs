//! The plan stage: one blocking task merges both filtered listings ([`super::plan`]) and
//! compares each pair ([`super::compare_stage`]), annotating copies to a container, and sends
//! the copies and updates to the transfer stage as it finds them.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use tokio::task::JoinHandle;

use super::annotations::Annotator;
use super::blob_md5::BlobHasher;
use super::collide::Collisions;
use super::compare_stage::Comparer;
use super::context::RunContext;
use super::entries::plugin_kind;
use super::filter_stage::ListMessage;
use super::local_md5::LocalHasher;
use super::parts::Parts;
use super::plan::{MergeOutcome, merge};
use super::work::Work;
use super::{BlobOptions, DeleteMode, MissingMd5, RunError, Side};
use crate::endpoint::{Endpoint, EndpointKind, Item, ListOrder};
use crate::plugin::{ComparatorInstance, EndpointKind as PluginKind, RunValues};
use crate::store::Store;

/// Both sides' filtered listings, as the filter stage sends them: source, destination.
pub(crate) type Listings = (Receiver<ListMessage>, Receiver<ListMessage>);

/// What the planner ends with: the merge's outcome and the delete candidates.
type Planned = (Result<MergeOutcome, RunError>, Vec<Item>);

/// Marks the plan complete when the planner ends (however it ends).
struct PlanDone<'a>(&'a RunContext);

impl Drop for PlanDone<'_> {
    fn drop(&mut self) {
        self.0
            .planned_all
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The plan stage, prepared from the session before its blocking task starts.
pub(crate) struct Planner {
    comparator: ComparatorInstance,
    hasher: Option<LocalHasher>,
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
    blob_hashers: (Option<BlobHasher>, Option<BlobHasher>),
    store_md5: bool,
}

impl Planner {
    /// Prepares the plan stage: the comparator, the hashers (local files, and blobs read
    /// for their MD5), the destination's collisions and the annotator.
    pub(crate) fn new(session: &Parts, ctx: &RunContext, values: &RunValues) -> Planner {
        let config = &session.config;
        let comparator = session.plugins.comparator_for(values);
        let hasher = match (
            &session.local_root,
            session.plugins.comparator_info().needs_md5,
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
        let kinds = (
            plugin_kind(session.source.capabilities().kind),
            plugin_kind(session.destination.capabilities().kind),
        );
        let collisions = Collisions::for_destination(&session.destination.capabilities());
        let read_all = config.check.is_some_and(|c| c.download);
        let read_missing = config.missing_md5 == MissingMd5::Download
            && session.plugins.comparator_info().needs_md5;
        let blob_hasher = |endpoint: &Arc<dyn Endpoint>| {
            ((read_all || read_missing) && endpoint.capabilities().kind == EndpointKind::Blob).then(
                || BlobHasher {
                    endpoint: endpoint.clone(),
                    runtime: tokio::runtime::Handle::current(),
                    missing_only: !read_all,
                    transfers: session.transfers.clone(),
                    stop: ctx.control.stop().clone(),
                },
            )
        };
        Planner {
            comparator,
            hasher,
            kinds,
            collect_deletes: config.delete != DeleteMode::False,
            order: session.order,
            collisions,
            latest_time_ns: session.destination.capabilities().latest_time_ns,
            blob: config.blob.clone(),
            backups: session.backup.is_some(),
            annotator: session.annotator(values),
            damaged_under: (session.destination.capabilities().kind == EndpointKind::Blob)
                .then(|| format!("{}/", session.destination.describe())),
            store: session.store.clone(),
            blob_hashers: (
                blob_hasher(&session.source),
                blob_hasher(&session.destination),
            ),
            store_md5: read_missing && !read_all && !config.dry_run,
        }
    }

    /// Starts the plan on a blocking task; copies and updates go to `copies` as they are
    /// found.
    pub(crate) fn spawn(
        self,
        ctx: &Arc<RunContext>,
        listings: Listings,
        copies: tokio::sync::mpsc::Sender<Work>,
    ) -> PlanTask {
        let ctx = ctx.clone();
        PlanTask(tokio::task::spawn_blocking(move || {
            self.plan(&ctx, listings, copies)
        }))
    }

    /// Merges and compares both listings, on the blocking task.
    fn plan(
        self,
        ctx: &RunContext,
        (source, destination): Listings,
        copies: tokio::sync::mpsc::Sender<Work>,
    ) -> Planned {
        let _done = PlanDone(ctx);
        let mut comparer = Comparer {
            backups: self.backups,
            ctx,
            comparator: self.comparator,
            hasher: self.hasher,
            kinds: self.kinds,
            copies,
            blob: self.blob,
            deletes: self.collect_deletes.then(Vec::new),
            pending: Vec::new(),
            annotator: self.annotator,
            held: Vec::new(),
            blob_hashers: self.blob_hashers,
            md5_read: Default::default(),
            store_md5: self.store_md5,
            latest_time_ns: self.latest_time_ns,
            damaged: match (&self.store, &self.damaged_under) {
                (Some(store), Some(prefix)) => store.bad_blobs(prefix),
                _ => Default::default(),
            },
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

/// The plan stage, running.
pub(crate) struct PlanTask(JoinHandle<Planned>);

impl PlanTask {
    /// Waits for the plan to end: the merge's outcome and the delete candidates. A plan
    /// that failed is recorded in `ctx` and ends with an empty outcome and no deletes.
    pub(crate) async fn finished(self, ctx: &RunContext) -> (MergeOutcome, Vec<Item>) {
        match self.0.await {
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
