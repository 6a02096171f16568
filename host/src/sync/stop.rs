//! A run-wide stop signal: set by a fatal error or an interrupt, checked by every stage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Cloneable handle to the run's stop signal.
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    interrupted: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// A new, unset signal.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks every stage to stop starting new work (a fatal error).
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Stops because the user asked to (SIGINT, SIGTERM): the run ends as Cancelled.
    pub fn interrupt(&self) {
        self.inner.interrupted.store(true, Ordering::SeqCst);
        self.stop();
    }

    /// True once `stop` or `interrupt` was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// True once `interrupt` was called.
    pub fn is_interrupted(&self) -> bool {
        self.inner.interrupted.load(Ordering::SeqCst)
    }

    /// Waits until `stop` is called.
    pub async fn stopped(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}
