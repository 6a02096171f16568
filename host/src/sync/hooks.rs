//! Delivers events to hook plugins, each on its own thread.
//!
//! Transfers never wait for a hook: events are queued without blocking, and a hook that
//! falls behind only lets its queue grow (with a warning). At the end of the run every
//! queue is drained and `on-complete` is called.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use super::report::EventSink;
use super::stop::Stop;
use crate::plugin::{Event, FailurePolicy, HookInstance, PluginError, Summary};

enum Message {
    Events(Arc<Vec<Event>>),
    Complete(Box<Summary>),
}

/// Batches queued for a hook before a "falling behind" warning.
const BACKLOG_WARNING: usize = 64;

struct HookWorker {
    name: String,
    tx: Sender<Message>,
    queued: Arc<AtomicUsize>,
    warned: AtomicBool,
    thread: Option<JoinHandle<()>>,
}

/// The hooks of a run.
pub struct HookDispatcher {
    workers: Vec<HookWorker>,
    failures: Arc<AtomicU64>,
}

impl HookDispatcher {
    /// Starts a worker per hook. A fail-closed hook's failure stops the run via `stop`.
    pub fn start(hooks: Vec<HookInstance>, stop: Stop) -> std::io::Result<HookDispatcher> {
        let failures = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for hook in hooks {
            let (tx, rx) = channel();
            let queued = Arc::new(AtomicUsize::new(0));
            let name = hook.name().to_string();
            let (q, f, s) = (queued.clone(), failures.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("hook-{name}"))
                .spawn(move || run_hook(hook, rx, q, f, s))?;
            workers.push(HookWorker {
                name,
                tx,
                queued,
                warned: AtomicBool::new(false),
                thread: Some(thread),
            });
        }
        Ok(HookDispatcher { workers, failures })
    }

    /// Hook failures so far (tolerated or not).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Sends the summary, waits for every hook to finish, and returns the failure count.
    pub fn finish(mut self, summary: Summary) -> u64 {
        for w in &self.workers {
            let _ = w.tx.send(Message::Complete(Box::new(summary.clone())));
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
        self.failures()
    }
}

impl EventSink for HookDispatcher {
    fn deliver(&self, events: Vec<Event>) {
        let batch = Arc::new(events);
        for w in &self.workers {
            let depth = w.queued.fetch_add(1, Ordering::Relaxed) + 1;
            if depth > BACKLOG_WARNING && !w.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "hook `{}` is slower than the transfers; {depth} batches are queued (transfers \
                     are not slowed down)",
                    w.name
                );
            }
            let _ = w.tx.send(Message::Events(batch.clone()));
        }
    }
}

/// EventSink through an `Arc`, so the reporter and the run can share the dispatcher.
impl EventSink for Arc<HookDispatcher> {
    fn deliver(&self, events: Vec<Event>) {
        (**self).deliver(events)
    }
}

fn run_hook(
    mut hook: HookInstance,
    rx: Receiver<Message>,
    queued: Arc<AtomicUsize>,
    failures: Arc<AtomicU64>,
    stop: Stop,
) {
    let report = |e: PluginError, hook: &HookInstance| {
        failures.fetch_add(1, Ordering::Relaxed);
        match hook.failure() {
            FailurePolicy::FailOpen => tracing::warn!("{e} (fail-open: the run goes on)"),
            FailurePolicy::FailClosed => {
                tracing::error!("{e} (fail-closed: stopping the run)");
                eprintln!("error: {e} (fail-closed: stopping the run)");
                stop.stop();
            }
        }
    };
    while let Ok(message) = rx.recv() {
        match message {
            Message::Events(batch) => {
                queued.fetch_sub(1, Ordering::Relaxed);
                if let Err(e) = hook.on_events(&batch) {
                    report(e, &hook);
                }
            }
            Message::Complete(summary) => {
                if let Err(e) = hook.on_complete(&summary) {
                    report(e, &hook);
                }
                break;
            }
        }
    }
}
