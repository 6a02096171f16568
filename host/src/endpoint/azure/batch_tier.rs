//! Tier changes in batches: concurrent Set Blob Tier requests (a `sync` that moves
//! up-to-date blobs to `--block-blob-tier`) are gathered for a few milliseconds and sent
//! as one Blob Batch of up to 256 (`PUT …?comp=tier` sub-requests). The first caller to
//! find nothing waiting gathers and sends; the others wait for its answer. A change the
//! batch did not make — it failed, was not taken, or its sender gave up — is made on its
//! own by the caller.

use std::sync::Mutex;
use std::time::Duration;

use azure_core::http::Method;
use tokio::sync::oneshot;

use super::AzureEndpoint;
use super::batch::MAX_BATCH;
use crate::endpoint::BlobUpdate;

/// How long the first caller waits for others to join its batch.
const GATHER: Duration = Duration::from_millis(10);

/// Tier changes waiting for a batch, each with where to say whether the batch made it.
#[derive(Default)]
pub(super) struct TierQueue(Mutex<Vec<(BlobUpdate, oneshot::Sender<bool>)>>);

impl TierQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(BlobUpdate, oneshot::Sender<bool>)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// On the gatherer's way out, however it ends: whatever still waits is told the batch did
/// not make it (its callers then change the tier on their own).
struct Release<'a>(&'a TierQueue);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        for (_, done) in self.0.lock().drain(..) {
            let _ = done.send(false);
        }
    }
}

impl AzureEndpoint {
    /// Changes the tier `update` asks for in a batch with others; false when the batch did
    /// not (the caller then does it on its own).
    pub(super) async fn set_tier_gathered(&self, update: &BlobUpdate) -> bool {
        if !self.batches() {
            return false;
        }
        let (done, answer) = oneshot::channel();
        let first = {
            let mut waiting = self.tiers.lock();
            waiting.push((update.clone(), done));
            waiting.len() == 1
        };
        if first {
            let _release = Release(&self.tiers);
            tokio::time::sleep(GATHER).await;
            loop {
                let batch: Vec<_> = {
                    let mut waiting = self.tiers.lock();
                    let n = waiting.len().min(MAX_BATCH);
                    waiting.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                self.send_tiers(batch).await;
            }
        }
        answer.await.unwrap_or(false)
    }

    /// Sends one batch of tier changes and tells each caller whether it was made.
    async fn send_tiers(&self, batch: Vec<(BlobUpdate, oneshot::Sender<bool>)>) {
        let answers = match self.tier_requests(&batch).await {
            Some(requests) => self.taken(self.send(requests).await),
            None => None,
        };
        for (i, (_, done)) in batch.into_iter().enumerate() {
            let made = answers
                .as_ref()
                .is_some_and(|a| matches!(a[i].status, 200 | 202));
            let _ = done.send(made);
        }
    }

    async fn tier_requests(
        &self,
        batch: &[(BlobUpdate, oneshot::Sender<bool>)],
    ) -> Option<Vec<super::batch_wire::SubRequest>> {
        let bearer = self.bearer().await.ok()?;
        let date = azure_core::time::to_rfc7231(&azure_core::time::OffsetDateTime::now_utc());
        batch
            .iter()
            .map(|(update, _)| {
                let (tier, priority) = update.tier?;
                let mut headers = vec![("x-ms-access-tier".to_string(), tier.name().to_string())];
                if let Some(p) = priority {
                    headers.push(("x-ms-rehydrate-priority".into(), p.name().into()));
                }
                let name = self
                    .location
                    .blob_name_as(&update.path, update.listed_as.as_deref());
                let query = Some(("comp", "tier"));
                self.sub_request(Method::Put, &name, query, headers, &date, bearer.as_deref())
                    .ok()
            })
            .collect()
    }
}
