//! Stopping: a cancellation token shared by every stage of a session, with a flag that
//! says whether the user asked (SIGINT, SIGTERM) or an error did.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

/// Cloneable handle to a stop signal.
#[derive(Clone, Default, Debug)]
pub struct Stop {
    token: CancellationToken,
    interrupted: Arc<AtomicBool>,
}

impl Stop {
    /// A new, unset signal.
    pub fn new() -> Self {
        Stop::default()
    }

    /// A signal for one run: stopped when this one is, and stoppable on its own (a fatal
    /// error ends the run, not the watch that started it).
    pub fn child(&self) -> Stop {
        Stop {
            token: self.token.child_token(),
            interrupted: self.interrupted.clone(),
        }
    }

    /// Asks every stage to stop starting new work.
    pub fn stop(&self) {
        self.token.cancel();
    }

    /// Stops because the user asked to: the run ends as Cancelled.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.token.cancel();
    }

    /// True once `stop` or `interrupt` was called (here or on a parent).
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// True once `interrupt` was called.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// The token behind the signal, for code that takes a plain cancellation token.
    pub(crate) fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Waits until the signal is set.
    pub async fn stopped(&self) {
        self.token.cancelled().await
    }
}
