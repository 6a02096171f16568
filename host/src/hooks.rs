//! Delivers what a run did to hook plugins: an [`Observer`] with one worker thread per
//! hook, alive for the whole session.
//!
//! Transfers never wait for a hook: events are queued without blocking, and a hook that
//! falls behind only lets its queue grow (with a warning). At the end of each run every
//! queue is drained and `on-complete` is called; a fail-closed hook's failure fails the
//! run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::bisync::Which;
use crate::bisync::plan::Conflict;
use crate::endpoint::Item;
use crate::plugin::{self, FailurePolicy, HookInstance, PluginError};
use crate::sync::{
    Action, Completion, Event, ItemDone, Observer, RunControl, RunError, RunInfo, RunOutcome,
    Status,
};

enum Message {
    /// A run starts: hooks are (re)configured with its job id and start time.
    Run(plugin::RunValues),
    Events(Arc<Vec<plugin::DirectedEvent>>),
    /// A two-way run's conflicts, as settled.
    Conflicts(Arc<Vec<plugin::SettledConflict>>),
    /// The run's summary, and where to say whether a fail-closed hook failed on it.
    Complete(Box<plugin::Summary>, Sender<Option<PluginError>>),
}

/// Batches queued for a hook before a "falling behind" warning.
const BACKLOG_WARNING: usize = 64;
/// Events per batch.
const EVENT_BATCH: usize = 256;

struct HookWorker {
    name: String,
    tx: Sender<Message>,
    queued: Arc<AtomicUsize>,
    warned: AtomicBool,
    thread: Option<JoinHandle<()>>,
}

/// What is waiting to be delivered.
#[derive(Default)]
struct Pending {
    events: Vec<plugin::DirectedEvent>,
    conflicts: Vec<plugin::SettledConflict>,
}

/// The hooks of a session.
pub struct HookDispatcher {
    workers: Vec<HookWorker>,
    pending: Mutex<Pending>,
    /// The current run's control, for fail-closed failures.
    run: Arc<Mutex<Option<RunControl>>>,
    /// Fail-open (and fail-closed) hook failures, by hook, since the run started.
    failures: Arc<plugin::Tolerated>,
}

impl HookDispatcher {
    /// Starts a worker per hook.
    pub fn start(hooks: Vec<HookInstance>) -> std::io::Result<HookDispatcher> {
        let failures = Arc::new(plugin::Tolerated::default());
        let run: Arc<Mutex<Option<RunControl>>> = Arc::default();
        let mut workers = Vec::new();
        for hook in hooks {
            let (tx, rx) = channel();
            let queued = Arc::new(AtomicUsize::new(0));
            let name = hook.name().to_string();
            let (q, f, r) = (queued.clone(), failures.clone(), run.clone());
            let thread = std::thread::Builder::new()
                .name(format!("hook-{name}"))
                .spawn(move || run_hook(hook, rx, q, f, r))?;
            workers.push(HookWorker {
                name,
                tx,
                queued,
                warned: AtomicBool::new(false),
                thread: Some(thread),
            });
        }
        Ok(HookDispatcher {
            workers,
            pending: Mutex::default(),
            run,
            failures,
        })
    }

    /// Queues a message for every hook, without waiting.
    fn deliver(&self, message: impl Fn() -> Message) {
        for w in &self.workers {
            let depth = w.queued.fetch_add(1, Ordering::Relaxed) + 1;
            if depth > BACKLOG_WARNING && !w.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "hook `{}` is slower than the transfers; {depth} batches are queued \
                     (transfers are not slowed down)",
                    w.name
                );
            }
            let _ = w.tx.send(message());
        }
    }

    fn deliver_events(&self, events: Vec<plugin::DirectedEvent>) {
        if !events.is_empty() {
            let batch = Arc::new(events);
            self.deliver(|| Message::Events(batch.clone()));
        }
    }

    fn deliver_conflicts(&self, conflicts: Vec<plugin::SettledConflict>) {
        if !conflicts.is_empty() {
            let batch = Arc::new(conflicts);
            self.deliver(|| Message::Conflicts(batch.clone()));
        }
    }

    /// Sends what is pending: conflicts first (they are settled before the copies that
    /// carry them out).
    fn flush(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.deliver_conflicts(pending.conflicts);
        self.deliver_events(pending.events);
    }

    /// Holds `add`'s item back until a batch is full.
    fn queue(&self, add: impl FnOnce(&mut Pending) -> bool) {
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            add(&mut pending)
        };
        if full {
            self.flush();
        }
    }
}

impl Drop for HookDispatcher {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let (tx, _) = channel();
            drop(std::mem::replace(&mut w.tx, tx));
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Observer for HookDispatcher {
    fn run_started(&self, run: &RunInfo) {
        *self.run.lock().unwrap_or_else(|e| e.into_inner()) = Some(run.control.clone());
        let values = plugin::RunValues {
            started_ms: u64::try_from(run.started_ms).unwrap_or(0),
            job_id: run.job_id.clone(),
            local_root: None,
            follow_links: false,
            time_precision_ns: 1,
        };
        for w in &self.workers {
            let _ = w.tx.send(Message::Run(values.clone()));
        }
        self.failures.take();
    }

    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Done(item) => {
                if let Some(event) = directed_event(item) {
                    self.queue(|p| {
                        p.events.push(event);
                        p.events.len() >= EVENT_BATCH
                    });
                }
            }
            Event::Conflict(conflict) => {
                let conflict = settled_conflict(conflict);
                self.queue(|p| {
                    p.conflicts.push(conflict);
                    p.conflicts.len() >= EVENT_BATCH
                });
            }
            // A few times a second: what is queued goes out.
            Event::Progress(_) => self.flush(),
            _ => {}
        }
    }

    fn run_completing(&self, outcome: &RunOutcome) -> Completion {
        self.flush();
        let summary = summary(outcome);
        let acks: Vec<Receiver<Option<PluginError>>> = self
            .workers
            .iter()
            .filter_map(|w| {
                let (tx, rx) = channel();
                w.tx.send(Message::Complete(Box::new(summary.clone()), tx))
                    .ok()
                    .map(|_| rx)
            })
            .collect();
        let error = acks
            .into_iter()
            .filter_map(|rx| rx.recv().ok().flatten())
            .next()
            .map(RunError::Plugin);
        *self.run.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Completion {
            plugin_failures: self.failures.take(),
            error,
        }
    }
}

/// The event hooks receive for a finished item, with its direction in a two-way run;
/// `None` for what hooks do not hear of.
fn directed_event(item: &ItemDone) -> Option<plugin::DirectedEvent> {
    let action = match item.action {
        // A blob → blob copy writes the destination, as an upload does (the hook
        // interface has no copy action).
        Action::Upload | Action::Copy => plugin::EventAction::Upload,
        Action::Download => plugin::EventAction::Download,
        Action::Delete => plugin::EventAction::Delete,
        // Hooks hear of content changes only.
        Action::Update | Action::Rehydrate => return None,
    };
    let event = plugin::Event {
        path: item.path.clone(),
        action,
        bytes: item.bytes,
        outcome: if item.error.is_some() {
            plugin::Outcome::Failure
        } else {
            plugin::Outcome::Success
        },
        reason: item.reason.clone(),
        error: item.error.clone(),
        md5: item.md5.map(|m| m.to_vec()),
        time_ms: crate::sync::now_ms() as u64,
    };
    let direction = item.toward.map(|side| match side {
        Which::Path2 => plugin::Direction::Path1ToPath2,
        Which::Path1 => plugin::Direction::Path2ToPath1,
    });
    Some(plugin::DirectedEvent { event, direction })
}

/// A two-way run's conflict as two-way hooks receive it.
fn settled_conflict(c: &Conflict) -> plugin::SettledConflict {
    let facts = |item: &Item| plugin::ConflictFacts {
        size: item.size,
        mtime_ns: item.preserved_mtime_ns(),
        md5: item.md5.map(|m| m.to_vec()),
    };
    plugin::SettledConflict {
        path: c.path.clone(),
        path1: facts(&c.path1),
        path2: facts(&c.path2),
        winner: match c.winner {
            Which::Path1 => plugin::PairSide::Path1,
            Which::Path2 => plugin::PairSide::Path2,
        },
        reason: c.reason.clone(),
        kept_as: c.kept_as.clone(),
        time_ms: crate::sync::now_ms() as u64,
    }
}

/// The summary hooks receive.
fn summary(outcome: &RunOutcome) -> plugin::Summary {
    let t = &outcome.totals;
    plugin::Summary {
        job_id: outcome.info.job_id.clone(),
        source: outcome.info.source.clone(),
        destination: outcome.info.destination.clone(),
        dry_run: outcome.info.dry_run,
        status: match outcome.status {
            Status::Completed => plugin::RunStatus::Completed,
            Status::CompletedWithErrors | Status::Differences => {
                plugin::RunStatus::CompletedWithErrors
            }
            Status::Failed => plugin::RunStatus::Failed,
            // A cut-off run stopped before it completed, as an interrupted one did.
            Status::Cancelled | Status::CutOff => plugin::RunStatus::Cancelled,
        },
        source_files: t.source_files,
        destination_files: t.destination_files,
        copied: t.copied,
        skipped: t.up_to_date,
        deleted: t.deleted,
        failed: t.failed,
        bytes_transferred: t.bytes_copied,
        elapsed_ms: outcome.elapsed.as_millis() as u64,
    }
}

fn run_hook(
    mut hook: HookInstance,
    rx: Receiver<Message>,
    queued: Arc<AtomicUsize>,
    failures: Arc<plugin::Tolerated>,
    run: Arc<Mutex<Option<RunControl>>>,
) {
    // A failure is counted; a fail-closed one also fails the run (returned to the caller
    // when it happens at the end).
    let report = |e: PluginError, hook: &HookInstance| -> Option<PluginError> {
        failures.record(hook.name(), &e.to_string());
        match hook.failure() {
            FailurePolicy::FailOpen => {
                tracing::warn!("{e} (fail-open: the run goes on)");
                None
            }
            FailurePolicy::FailClosed => {
                tracing::error!("{e} (fail-closed: stopping the run)");
                Some(e)
            }
        }
    };
    while let Ok(message) = rx.recv() {
        match message {
            Message::Run(values) => hook.begin_run(&values),
            Message::Events(_) | Message::Conflicts(_) => {
                queued.fetch_sub(1, Ordering::Relaxed);
                let delivered = match &message {
                    Message::Events(batch) => hook.on_events(batch),
                    Message::Conflicts(batch) => hook.on_conflicts(batch),
                    _ => Ok(()),
                };
                if let Err(e) = delivered
                    && let Some(e) = report(e, &hook)
                    && let Some(control) = &*run.lock().unwrap_or_else(|p| p.into_inner())
                {
                    control.fail(RunError::Plugin(e));
                }
            }
            Message::Complete(summary, ack) => {
                let failed = hook
                    .on_complete(&summary)
                    .err()
                    .and_then(|e| report(e, &hook));
                let _ = ack.send(failed);
            }
        }
    }
}
