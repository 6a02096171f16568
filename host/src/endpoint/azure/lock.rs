//! Locks between runs on any machine that reaches the container: a lease on a blob
//! below the reserved prefix (`.blobsync/locks/NAME`, at the container's root), renewed
//! while the run holds it and released when it ends. A run that dies leaves a lease that
//! expires within [`LEASE_SECONDS`] — or at once, for the next run on the same machine:
//! a lease whose holder was a process of this machine that is no longer running is
//! broken. Who holds it is written in the blob's metadata, for the message another run
//! shows, with its machine and process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use azure_core::http::Etag;
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{
    BlobClientAcquireLeaseResultHeaders, BlobClientBreakLeaseOptions,
    BlobClientGetPropertiesResultHeaders, BlobClientSetMetadataOptions,
    BlockBlobClientUploadOptions,
};

use super::errors::{azure_error, error_code};
use crate::endpoint::{EndpointError, HeldLock, Lock, RESERVED_PREFIX};

/// How long a lease lasts unless renewed (the service allows 15 to 60 seconds).
pub(super) const LEASE_SECONDS: i32 = 60;
/// How often a held lease is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(20);
/// The metadata keys naming the holder: who, for messages; its machine and process.
const HOLDER: &str = "holder";
const HOST: &str = "host";
const PID: &str = "pid";

/// A held lease, renewed until released.
struct Leased {
    client: Arc<BlobClient>,
    lease_id: String,
    renewing: tokio::task::JoinHandle<()>,
}

#[async_trait::async_trait]
impl HeldLock for Leased {
    async fn release(self: Box<Self>) {
        self.renewing.abort();
        if let Err(e) = self.client.release_lease(self.lease_id.clone(), None).await {
            tracing::warn!("cannot release the lock: {e}; it expires within a minute");
        }
    }
}

/// Takes the lock `name` in the container of `container_client`'s blobs.
pub(super) async fn lock(
    blob: impl Fn(&str) -> BlobClient,
    name: &str,
    holder: &str,
    describe: &str,
) -> Result<Lock, EndpointError> {
    let client = Arc::new(blob(&format!("{RESERVED_PREFIX}locks/{name}")));
    // The lock blob, unless it is there already (a leased one is left as it is).
    let create = BlockBlobClientUploadOptions {
        if_none_match: Some(Etag::from("*")),
        ..Default::default()
    };
    match client
        .block_blob_client()
        .upload(bytes::Bytes::new().into(), Some(create))
        .await
    {
        Ok(_) => {}
        // No container yet (a dry run does not create it): nothing there to protect.
        Err(e) if error_code(&e) == Some("ContainerNotFound") => return Ok(Lock::Unsupported),
        Err(e)
            if matches!(
                error_code(&e),
                Some("BlobAlreadyExists" | "LeaseIdMissing" | "ConditionNotMet")
            ) => {}
        Err(e) => return Err(azure_error("cannot create the lock", describe, e)),
    }
    // Who takes it is written before the lease is (a leased blob refuses it: then the
    // lease is someone else's), so that a run killed at any moment after taking it is
    // named as its holder — and, if it ran here, seen to be gone by the next run. Once
    // the lease is held it is written again, in case another run wrote between.
    let metadata = HashMap::from([
        (HOLDER.to_string(), holder.to_string()),
        (HOST.to_string(), crate::endpoint::this_host()),
        (PID.to_string(), std::process::id().to_string()),
    ]);
    if let Err(e) = client.set_metadata(&metadata, None).await {
        tracing::debug!("cannot name the lock's holder before taking it: {e}");
    }
    let lease_id = match acquire(&client, describe).await? {
        Ok(lease_id) => lease_id,
        Err(holder) => return Ok(Lock::Taken(holder)),
    };
    let with_lease = BlobClientSetMetadataOptions {
        lease_id: Some(lease_id.clone()),
        ..Default::default()
    };
    if let Err(e) = client.set_metadata(&metadata, Some(with_lease)).await {
        tracing::debug!("cannot name the lock's holder: {e}");
    }
    let renewing = tokio::spawn(renew(client.clone(), lease_id.clone()));
    Ok(Lock::Held(Box::new(Leased {
        client,
        lease_id,
        renewing,
    })))
}

/// Renews the lease until the task is stopped.
async fn renew(client: Arc<BlobClient>, lease_id: String) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        if let Err(e) = client.renew_lease(lease_id.clone(), None).await {
            tracing::warn!("cannot renew the lock: {e}");
        }
    }
}

/// Acquires the lease: its id, or who holds it. A lease left by a process of this
/// machine that is no longer running (killed, crashed) is broken first.
async fn acquire(
    client: &BlobClient,
    describe: &str,
) -> Result<Result<String, String>, EndpointError> {
    for _ in 0..2 {
        match client.acquire_lease(LEASE_SECONDS, None).await {
            Ok(response) => return Ok(Ok(response.lease_id().ok().flatten().unwrap_or_default())),
            Err(e) if error_code(&e) == Some("LeaseAlreadyPresent") => {
                let metadata = metadata_of(client).await;
                let holder = metadata
                    .get(HOLDER)
                    .cloned()
                    .unwrap_or_else(|| "a run that did not say who it is".into());
                if !left_by_a_dead_process(&metadata) {
                    return Ok(Err(holder));
                }
                tracing::info!("breaking the lock left by {holder}, which is no longer running");
                let now = BlobClientBreakLeaseOptions {
                    break_period: Some(0),
                    ..Default::default()
                };
                if let Err(e) = client.break_lease(Some(now)).await {
                    tracing::debug!("cannot break the lock: {e}");
                    return Ok(Err(holder));
                }
            }
            Err(e) => return Err(azure_error("cannot lock", describe, e)),
        }
    }
    Ok(Err("a run that took the lock as it was broken".into()))
}

/// The lock blob's metadata (empty if it cannot be read).
async fn metadata_of(client: &BlobClient) -> HashMap<String, String> {
    match client.get_properties(None).await {
        Ok(properties) => properties.metadata().unwrap_or_default(),
        Err(_) => HashMap::new(),
    }
}

/// True if the lock's holder was a process of this machine that is not running now.
/// (Another machine's run, or a live process, keeps its lease until it expires.)
fn left_by_a_dead_process(metadata: &HashMap<String, String>) -> bool {
    let (Some(host), Some(pid)) = (metadata.get(HOST), metadata.get(PID)) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    *host == crate::endpoint::this_host()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}
