//! What every run of a session works with — the configuration, both endpoints, the
//! plugins, the database and what all copies share — put together once
//! ([`Parts::new`]), and what the stages of a run ask of it.

use std::sync::Arc;

use super::annotations::{Annotations, Annotator, TypeGuesser};
use super::backup::Backup;
use super::committing::Committing;
use super::config::{Location, SyncConfig};
use super::context::RunContext;
use super::server_copy::ServerCopies;
use super::transfer::Shared;
use super::{Direction, RunError};
use crate::endpoint::{Endpoint, EndpointKind, ListOrder};
use crate::plugin::{PluginHost, RunValues};
use crate::store::Store;

/// What every run of a session works with.
pub(crate) struct Parts {
    pub(crate) config: SyncConfig,
    pub(crate) source: Arc<dyn Endpoint>,
    pub(crate) destination: Arc<dyn Endpoint>,
    pub(crate) plugins: PluginHost,
    pub(crate) store: Option<Arc<Store>>,
    pub(crate) transfers: Arc<Shared>,
    /// The order both listings are merged in.
    pub(crate) order: ListOrder,
    /// The local side's folder (absolute), for hashing and the MD5 cache.
    pub(crate) local_root: Option<std::path::PathBuf>,
    /// Where replaced and deleted entries are kept (`--backup-dir`).
    pub(crate) backup: Option<Arc<Backup>>,
}

impl Parts {
    /// Puts the parts together: the order both listings are merged in, the local side's
    /// folder, and what every copy shares. Endpoints that list in two different orders
    /// cannot be paired: a usage error.
    pub(crate) fn new(
        config: SyncConfig,
        source: Arc<dyn Endpoint>,
        destination: Arc<dyn Endpoint>,
        plugins: PluginHost,
        store: Option<Arc<Store>>,
    ) -> Result<Parts, RunError> {
        let order = merge_order(&*source, &*destination)?;
        let local_root = match (&config.source, &config.destination) {
            (Location::Local(p), _) | (_, Location::Local(p)) => {
                Some(std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            }
            _ => None,
        };
        let transfers = Arc::new(shared_by_copies(&config));
        Ok(Parts {
            config,
            source,
            destination,
            plugins,
            store,
            transfers,
            order,
            local_root,
            backup: None,
        })
    }

    /// The annotate stage, for copies to a container.
    pub(crate) fn annotator(&self, values: &RunValues) -> Option<Annotator> {
        let wanted = self.destination.capabilities().kind == EndpointKind::Blob
            && self.config.check.is_none();
        wanted.then(|| Annotator {
            carry: (self.config.direction == Direction::Copy).then_some(self.config.blob.s2s),
            source: self.plugins.has_annotators().then(|| {
                Box::new(self.plugins.annotator_chain_for(values)) as Box<dyn Annotations>
            }),
            guess: self.config.blob.guess_types.then(|| TypeGuesser {
                extra: Arc::new(self.config.blob.type_map.clone()),
            }),
        })
    }

    /// Makes the destination ready for writes (a missing container or folder is created),
    /// once per run. A failure ends the run with that one error: nothing can be written.
    pub(crate) async fn prepare(&self, ctx: &RunContext) -> bool {
        if ctx.prepared.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return ctx.control.fatal().is_none();
        }
        let ready = if self.config.dry_run {
            self.destination.check_writable().await
        } else {
            self.destination.prepare_for_writes().await
        };
        match ready {
            Ok(()) => true,
            Err(e) => {
                ctx.fail(RunError::from(e.explain("; nothing was written")));
                false
            }
        }
    }
}

/// The order both listings are merged in: the one the endpoints list in, or the default
/// when neither declares one.
fn merge_order(source: &dyn Endpoint, destination: &dyn Endpoint) -> Result<ListOrder, RunError> {
    match (
        source.capabilities().order,
        destination.capabilities().order,
    ) {
        (Some(a), Some(b)) if a != b => {
            // Two accounts of different kinds: a hierarchical namespace lists path by
            // path, a flat one by name, and neither can list in the other's order.
            Err(RunError::Usage(format!(
                "{} lists in {} and {} in {}; blobsync pairs two listings of one order \
                 (memory stays flat that way), so these cannot be synced directly — \
                 sync between accounts of the same kind (both with or both without a \
                 hierarchical namespace), or through a local folder",
                source.describe(),
                a.describe(),
                destination.describe(),
                b.describe()
            )))
        }
        (Some(order), _) | (None, Some(order)) => Ok(order),
        (None, None) => Ok(ListOrder::default()),
    }
}

/// What every copy of the session shares: the transfer options and the server-side
/// copies (the endpoints keep to the bandwidth cap and the buffer budget themselves).
fn shared_by_copies(config: &SyncConfig) -> Shared {
    let committing = Arc::new(Committing::default());
    Shared {
        options: config.transfer.clone(),
        check_source_md5: config.direction != Direction::Upload,
        // Blob reads: ranges the service checksums (up to 4 MiB), so a corrupted one is
        // fetched again on its own.
        max_read: match config.direction {
            Direction::Download | Direction::Copy => 4 << 20,
            Direction::Upload => u64::MAX,
        },
        server: ServerCopies::new(config.direction == Direction::Copy && !config.blob.s2s.stream)
            .with_committing(committing.clone()),
        committing,
    }
}
