//! Test support: an observer that keeps what it is told, and a run context around it.

use std::sync::{Arc, Mutex};

use super::Stop;
use super::context::RunContext;
use super::observer::{Event, Observer, RunControl};

/// Keeps every event as a line of text.
#[derive(Default)]
pub(crate) struct Collect(pub(crate) Mutex<Vec<String>>);

impl Collect {
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn has(&self, needle: &str) -> bool {
        self.lines().iter().any(|l| l.contains(needle))
    }
}

impl Observer for Collect {
    fn event(&self, event: &Event<'_>) {
        let line = match event {
            Event::Progress(_) => return,
            Event::Done(item) => {
                format!("done {} {} {:?}", item.action.name(), item.path, item.error)
            }
            Event::Warning(w) => format!("warning {w}"),
            Event::Failed { path, message } => format!("failed {path}: {message}"),
            Event::Excluded { path, .. } => format!("excluded {path}"),
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

/// A run context reporting to a fresh [`Collect`].
pub(crate) fn context() -> (RunContext, Arc<Collect>) {
    let collect = Arc::new(Collect::default());
    let ctx = RunContext::new(collect.clone(), RunControl::new(Stop::new()));
    (ctx, collect)
}
