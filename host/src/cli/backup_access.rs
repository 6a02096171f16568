//! What `backups list` and `backups restore` share: their failures (an exit code and a
//! message), an endpoint for a container reached with the backup flags' credentials, and
//! a listing of its files.

use std::sync::Arc;

use super::args::AuthArgs;
use super::environment::Environment;
use super::sourced::Sourced;
use crate::endpoint::azure::{AzureEndpoint, BlobLocation, HttpSettings, resolve_auth, transport};
use crate::endpoint::{Endpoint, Item, ListRequest, Listed};
use crate::sync::{EXIT_FAILED, EXIT_USAGE};

/// A failure: the exit code and the message.
pub(super) type Failure = (u8, String);

/// A usage error (exit code 2).
pub(super) fn usage(message: impl Into<String>) -> Failure {
    (EXIT_USAGE, message.into())
}

/// Any other failure (exit code 1).
pub(super) fn failed(message: impl std::fmt::Display) -> Failure {
    (EXIT_FAILED, message.to_string())
}

/// Every file a listing of `endpoint` (below `scopes`, if any) yields.
pub(super) async fn list_items(
    endpoint: &dyn Endpoint,
    scopes: Vec<String>,
) -> Result<Vec<Item>, Failure> {
    let request = ListRequest {
        scopes,
        order: endpoint.capabilities().order.unwrap_or_default(),
        ..ListRequest::default()
    };
    let mut lister = endpoint.list(&request).map_err(failed)?;
    tokio::task::block_in_place(|| {
        let mut items = Vec::new();
        while let Some(batch) = lister.next_batch() {
            for listed in batch.map_err(failed)? {
                if let Listed::File(item) = listed {
                    items.push(item);
                }
            }
        }
        Ok(items)
    })
}

/// An endpoint for the container of `location` (its prefix dropped: paths are then
/// blob names), authorised by the flags, the environment or the URL's SAS.
pub(super) fn blob_endpoint(
    location: &BlobLocation,
    credentials: &Sourced<AuthArgs>,
    env: &Environment,
) -> Result<Arc<dyn Endpoint>, Failure> {
    let http = transport(&HttpSettings {
        concurrency: 8,
        retry: Default::default(),
        timeouts: Default::default(),
    })
    .map_err(failed)?;
    let options =
        super::network_flags::auth_options(credentials, env).map_err(|e| usage(e.to_string()))?;
    let auth = resolve_auth(location, &options, &http)
        .map_err(|e| (crate::sync::EXIT_AUTH, e.to_string()))?;
    let container = BlobLocation {
        prefix: String::new(),
        ..location.clone()
    };
    Ok(Arc::new(
        AzureEndpoint::new(container, auth, &http).map_err(failed)?,
    ))
}
