//! The commits waiting for their answer, so that a run that stops can still count the
//! writes that landed.

use crate::endpoint::{EndpointError, Written};

/// The commits waiting for their answer. When a run stops, transfers still in flight
/// after the grace period are cancelled; a commit among them may have landed although
/// its answer never came, so the destination is asked, and what landed is counted.
#[derive(Debug, Default)]
pub(crate) struct Committing {
    next: std::sync::atomic::AtomicU64,
    open: std::sync::Mutex<std::collections::HashMap<u64, Written>>,
}

impl Committing {
    /// Commits `writer`, remembered as `written` until its answer comes.
    pub(crate) async fn commit<F>(&self, written: Written, commit: F) -> Result<(), EndpointError>
    where
        F: std::future::Future<Output = Result<(), EndpointError>>,
    {
        let ticket = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().insert(ticket, written);
        let result = commit.await;
        self.lock().remove(&ticket);
        result
    }

    /// The commits whose answer never came (their tasks were cancelled).
    pub(crate) fn take_unanswered(&self) -> Vec<Written> {
        self.lock().drain().map(|(_, w)| w).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Written>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}
