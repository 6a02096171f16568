//! Building a session's two endpoints from its configuration: the HTTP transport the blob
//! side(s) share, and each blob side's credentials — resolved separately for a blob →
//! blob sync, each side with what authorises it (its SAS, the connection string naming
//! its account, the key, Entra ID). Every endpoint built here, the backup location's too,
//! is wrapped in the session's [`Limits`].

use std::sync::Arc;

use super::backup::Backup;
use super::config::{Location, SyncConfig};
use super::server_copy::ServerCopies;
use super::{RunError, Side};
use crate::endpoint::azure::{AzureEndpoint, Http, HttpSettings, resolve_auth, transport};
use crate::endpoint::local::LocalEndpoint;
use crate::endpoint::{Budgeted, BufferBudget, Endpoint, RateLimiter, Throttled};

/// The source, the destination, and the HTTP client of the blob side(s), if any.
pub(crate) type Built = (Arc<dyn Endpoint>, Arc<dyn Endpoint>, Option<Http>);

/// What every endpoint of a session is wrapped in: the bandwidth cap (`--cap-mbps`) on
/// what is read from it, and the buffer budget (`--buffer-mb`) on the blocks in memory —
/// one limiter and one budget, shared by all of them.
pub(crate) struct Limits {
    rate: Option<Arc<RateLimiter>>,
    budget: BufferBudget,
}

impl Limits {
    /// The limits `config` sets.
    pub(crate) fn of(config: &SyncConfig) -> Limits {
        Limits {
            rate: config.cap_mbps.map(|mbps| Arc::new(RateLimiter::new(mbps))),
            budget: BufferBudget::new(config.buffer_bytes),
        }
    }

    /// `endpoint`, keeping to the limits. The budget is the outer wrapper: a read asks for
    /// room first, in the order reads are made, then waits for its bandwidth.
    pub(crate) fn wrap(&self, endpoint: impl Endpoint) -> Arc<dyn Endpoint> {
        match &self.rate {
            Some(rate) => Arc::new(Budgeted::new(
                Throttled::new(endpoint, rate.clone()),
                self.budget.clone(),
            )),
            None => Arc::new(Budgeted::new(endpoint, self.budget.clone())),
        }
    }
}

/// Builds both endpoints of `config`, each wrapped in `limits`.
pub(crate) fn build(config: &SyncConfig, limits: &Limits) -> Result<Built, RunError> {
    let http = match (&config.source, &config.destination) {
        (Location::Local(_), Location::Local(_)) => None,
        _ => Some(transport(&HttpSettings {
            concurrency: config.concurrency,
            retry: config.retry.clone(),
            timeouts: config.timeouts,
        })?),
    };
    let source = endpoint(config, Side::Source, http.as_ref(), limits)?;
    let destination = endpoint(config, Side::Destination, http.as_ref(), limits)?;
    Ok((source, destination, http))
}

/// The backup location of `--backup-dir`, as an endpoint of the destination's kind (a
/// blob location is authorised as the destination is), wrapped in `limits`.
pub(crate) fn build_backup(
    config: &SyncConfig,
    http: Option<&Http>,
    limits: &Limits,
) -> Result<Option<Arc<Backup>>, RunError> {
    let Some(backup) = &config.backup else {
        return Ok(None);
    };
    let (endpoint, local_root): (Arc<dyn Endpoint>, _) = match &backup.location {
        Location::Local(path) => (
            limits.wrap(LocalEndpoint::new(path.clone(), false, false)),
            Some(std::path::absolute(path).unwrap_or_else(|_| path.clone())),
        ),
        Location::Blob(blob) => {
            let Some(http) = http else {
                return Err(RunError::Internal("no HTTP transport".into()));
            };
            let options = match &config.source {
                Location::Blob(other) => config.auth.for_side(blob, other)?,
                Location::Local(_) => config.auth.clone(),
            };
            let auth = resolve_auth(blob, &options, http)?;
            (
                limits.wrap(
                    AzureEndpoint::new(blob.clone(), auth, http)?
                        .with_snapshot_policy(config.blob.snapshots),
                ),
                None,
            )
        }
    };
    Ok(Some(Arc::new(Backup {
        endpoint,
        local_root,
        suffix: backup.suffix.clone(),
        keep_extension: backup.keep_extension,
        server: ServerCopies::new(true),
    })))
}

fn endpoint(
    config: &SyncConfig,
    side: Side,
    http: Option<&Http>,
    limits: &Limits,
) -> Result<Arc<dyn Endpoint>, RunError> {
    let (location, other) = match side {
        Side::Source => (&config.source, &config.destination),
        Side::Destination => (&config.destination, &config.source),
    };
    Ok(match location {
        // The destination of a real run removes what killed downloads left behind.
        Location::Local(path) => limits.wrap(
            LocalEndpoint::new(
                path.clone(),
                config.follow_symlinks,
                side == Side::Destination && !config.dry_run,
            )
            .with_posix(config.blob.posix)
            .with_symlinks(config.blob.symlinks)
            .with_directory_stubs(config.blob.directory_stubs),
        ),
        Location::Blob(blob) => {
            let Some(http) = http else {
                return Err(RunError::Internal("no HTTP transport".into()));
            };
            let options = match other {
                Location::Blob(other) => config.auth.for_side(blob, other)?,
                Location::Local(_) => config.auth.clone(),
            };
            let auth = resolve_auth(blob, &options, http)?;
            tracing::info!(
                "authenticating to the {} {blob} with {}",
                side.name(),
                auth.describe()
            );
            limits.wrap(
                AzureEndpoint::new(blob.clone(), auth, http)?
                    .with_snapshot_policy(config.blob.snapshots)
                    .with_directory_stubs(config.blob.directory_stubs)
                    .with_list_parallelism(config.list_parallelism),
            )
        }
    })
}
