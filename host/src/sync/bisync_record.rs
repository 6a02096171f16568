//! The two-way run's state, kept as items finish: an observer between the run and the
//! user's observers that records each path's new state the moment its copy or delete
//! is done (the writer batches the rows), so a run cut short anywhere leaves a state
//! the next plain run converges from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Action;
use super::observer::{Completion, Event, Observer, RunInfo, RunOutcome};
use crate::endpoint::ListOrder;
use crate::store::{Known, Store};

/// What a finished item means for the state.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    /// A copy: both sides hold what this says (the MD5 of what was written filled in).
    Record(Known),
    /// A delete: the path is on neither side.
    Forget,
}

/// Passes every event on, and records the state of each item done.
pub(crate) struct StateRecorder {
    inner: Arc<dyn Observer>,
    store: Arc<Store>,
    pair: i64,
    order: ListOrder,
    /// The current phase's items, by path.
    expected: Mutex<HashMap<String, Expected>>,
}

impl StateRecorder {
    pub(crate) fn new(
        inner: Arc<dyn Observer>,
        store: Arc<Store>,
        pair: i64,
        order: ListOrder,
    ) -> StateRecorder {
        StateRecorder {
            inner,
            store,
            pair,
            order,
            expected: Mutex::new(HashMap::new()),
        }
    }

    /// The items of the next phase (a round of copies, or one side's deletes).
    pub(crate) fn expect(&self, items: HashMap<String, Expected>) {
        *self.expected.lock().unwrap_or_else(|e| e.into_inner()) = items;
    }

    /// More items of the phase under way (the next chunk of a round).
    pub(crate) fn expect_more(&self, items: HashMap<String, Expected>) {
        self.expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(items);
    }

    /// Records `known` at once (a path settled without a transfer).
    pub(crate) fn record(&self, known: &Known) {
        let key = self.order.sort_key(&known.path);
        self.store.bisync_record(self.pair, key, known);
    }

    /// Forgets `path` at once (on neither side).
    pub(crate) fn forget(&self, path: &str) {
        self.store
            .bisync_forget(self.pair, self.order.sort_key(path));
    }

    fn done(&self, path: &str, action: Action, md5: Option<[u8; 16]>) {
        let expected = self
            .expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(path);
        match (expected, action) {
            (Some(Expected::Forget), Action::Delete) => self.forget(path),
            (Some(Expected::Record(mut known)), _) if action != Action::Delete => {
                if let Some(md5) = md5 {
                    known.path1.md5 = Some(md5);
                    known.path2.md5 = Some(md5);
                }
                self.record(&known);
            }
            _ => {}
        }
    }
}

impl Observer for StateRecorder {
    fn run_started(&self, run: &RunInfo) {
        self.inner.run_started(run);
    }

    fn event(&self, event: &Event<'_>) {
        if let Event::Done(item) = event
            && item.error.is_none()
        {
            self.done(&item.path, item.action, item.md5);
        }
        self.inner.event(event);
    }

    fn run_completing(&self, outcome: &RunOutcome) -> Completion {
        self.store.flush();
        self.inner.run_completing(outcome)
    }

    fn run_finished(&self, outcome: &RunOutcome) {
        self.inner.run_finished(outcome);
    }

    fn notice(&self, message: &str) {
        self.inner.notice(message);
    }
}
