//! Limits shared by every transfer of a session: memory for blocks in flight, and
//! bandwidth (`--cap-mbps`).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A token bucket over bytes (`--cap-mbps`). It holds at most one second of tokens, so a
/// pause is never followed by a burst above the cap.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_second: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl RateLimiter {
    /// A limit of `megabits` per second (10^6 bit/s, as azcopy's `--cap-mbps`).
    pub fn new(megabits: f64) -> Self {
        let bytes_per_second = megabits * 1_000_000.0 / 8.0;
        RateLimiter {
            bytes_per_second,
            state: tokio::sync::Mutex::new((bytes_per_second, tokio::time::Instant::now())),
        }
    }

    /// Waits until `bytes` may be sent.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let mut state = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let elapsed = now.duration_since(state.1).as_secs_f64();
            state.0 = (state.0 + elapsed * self.bytes_per_second).min(self.bytes_per_second);
            state.1 = now;
            state.0 -= bytes as f64;
            if state.0 < 0.0 {
                -state.0 / self.bytes_per_second
            } else {
                0.0
            }
        };
        if wait > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
        }
    }
}

/// Memory for blocks in flight, in KiB permits, shared by all transfers.
#[derive(Debug, Clone)]
pub struct BufferBudget {
    semaphore: Arc<Semaphore>,
    total_kib: u32,
}

impl BufferBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        let total_kib = (bytes >> 10).clamp(1024, u32::MAX as u64 >> 4) as u32;
        BufferBudget {
            semaphore: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Waits for room for `bytes`; a block larger than the whole budget takes all of it.
    /// `None` only if the budget was closed, which never happens.
    pub(crate) async fn acquire(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let kib = (bytes.div_ceil(1024) as u32).clamp(1, self.total_kib);
        self.semaphore.clone().acquire_many_owned(kib).await.ok()
    }
}
