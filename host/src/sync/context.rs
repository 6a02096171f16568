//! What every stage of one run shares: the counters, the observer, and the control that
//! records the first fatal error and stops the run.

use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use super::observer::{
    Counters, Event, ItemDone, LARGE_FILE, Observer, Planned, Progress, RunControl, Side, Totals,
};
use super::{Action, RunError};
use crate::bisync::Which;
use crate::bisync::plan::Conflict;
use crate::endpoint::SkipKind;

/// One run's shared state.
pub(crate) struct RunContext {
    pub(crate) counters: Counters,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) control: RunControl,
    /// The destination was made ready for writes (see `run::prepare`).
    pub(crate) prepared: std::sync::atomic::AtomicBool,
    /// The plan is complete: listing and comparing are over.
    pub(crate) planned_all: std::sync::atomic::AtomicBool,
    /// Large files moving now: path, bytes moved, size.
    moving: std::sync::Mutex<Vec<(String, Arc<AtomicU64>, u64)>>,
    /// In a two-way run, the side the current round writes to: finished items say it.
    toward: std::sync::Mutex<Option<Which>>,
}

/// Counts the bytes one copy moves: into the run's total, and for a large file into its
/// own counter too (shown on its own line). Dropped when the copy ends.
pub(crate) struct Moved<'a> {
    ctx: &'a RunContext,
    file: Option<Arc<AtomicU64>>,
}

impl Moved<'_> {
    /// `n` more bytes reached the destination.
    pub(crate) fn add(&self, n: u64) {
        Counters::add(&self.ctx.counters.bytes_moved, n);
        if let Some(file) = &self.file {
            file.fetch_add(n, Ordering::Relaxed);
        }
    }
}

impl Drop for Moved<'_> {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            self.ctx
                .moving
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(_, f, _)| !Arc::ptr_eq(f, file));
        }
    }
}

impl RunContext {
    pub(crate) fn new(observer: Arc<dyn Observer>, control: RunControl) -> Self {
        RunContext {
            counters: Counters::default(),
            observer,
            control,
            prepared: Default::default(),
            planned_all: Default::default(),
            moving: Default::default(),
            toward: Default::default(),
        }
    }

    /// The side the items finished from now on were written to (a two-way run's rounds).
    pub(crate) fn set_toward(&self, side: Option<Which>) {
        *self.toward.lock().unwrap_or_else(|e| e.into_inner()) = side;
    }

    /// The totals so far.
    pub(crate) fn totals(&self) -> Totals {
        self.counters.snapshot()
    }

    /// Ends the run with `error` (the first one wins).
    pub(crate) fn fail(&self, error: RunError) {
        self.control.fail(error);
    }

    /// True once the run is stopping.
    pub(crate) fn stopped(&self) -> bool {
        self.control.stop().is_stopped()
    }

    /// What handing work on to the next stage came to: a next stage that ended first
    /// is the run stopping or cut off, else `next` failed unexpectedly.
    pub(crate) fn handed_on<T>(&self, sent: Result<(), T>, next: &str) -> Result<(), RunError> {
        match sent {
            Ok(()) => Ok(()),
            Err(_) if self.stopped() || self.control.fatal().is_some() => Ok(()),
            Err(_) => Err(RunError::Internal(format!("the {next} stage stopped"))),
        }
    }

    pub(crate) fn excluded(&self, side: Option<Side>, path: &str, plugin: &str, reason: &str) {
        Counters::add(&self.counters.excluded, 1);
        self.observer.event(&Event::Excluded {
            side,
            path,
            plugin,
            reason,
        });
    }

    pub(crate) fn skipped(&self, path: &str, reason: &str, kind: SkipKind) {
        let counter = match kind {
            SkipKind::Symlink => &self.counters.symlinks_skipped,
            SkipKind::Special => &self.counters.special_skipped,
            SkipKind::Unsyncable => &self.counters.unsyncable,
            SkipKind::Archived => &self.counters.archived,
        };
        Counters::add(counter, 1);
        self.observer.event(&Event::Skipped { path, reason, kind });
    }

    pub(crate) fn up_to_date(&self, path: &str, reason: &str) {
        Counters::add(&self.counters.up_to_date, 1);
        self.observer.event(&Event::UpToDate { path, reason });
    }

    /// A failure that is not one item's copy or delete.
    pub(crate) fn failed(&self, path: &str, message: &str) {
        Counters::add(&self.counters.failed, 1);
        self.observer.event(&Event::Failed { path, message });
    }

    /// A destination entry kept in the backup location.
    pub(crate) fn kept(&self, path: &str, original: &str, kept: &str, bytes: u64) {
        Counters::add(&self.counters.backed_up, 1);
        self.observer.event(&Event::Kept {
            path,
            original,
            kept,
            bytes,
        });
    }

    /// A two-way run's conflict, and how it is settled.
    pub(crate) fn conflict(&self, conflict: &Conflict) {
        self.observer.event(&Event::Conflict(conflict));
    }

    pub(crate) fn warning(&self, message: &str) {
        self.observer.event(&Event::Warning(message));
    }

    /// A dry run's copy or delete.
    pub(crate) fn planned(
        &self,
        action: Planned,
        source: &str,
        destination: Option<&str>,
        reason: &str,
        bytes: u64,
        carries: &str,
    ) {
        match action {
            Planned::Copy => {
                Counters::add(&self.counters.copied, 1);
                Counters::add(&self.counters.bytes_copied, bytes);
            }
            Planned::Remove => Counters::add(&self.counters.deleted, 1),
            Planned::Update => Counters::add(&self.counters.updated, 1),
            Planned::Rehydrate => Counters::add(&self.counters.rehydrating, 1),
            Planned::Backup => Counters::add(&self.counters.backed_up, 1),
            Planned::OnlyAtSource => Counters::add(&self.counters.only_at_source, 1),
            Planned::Differs => Counters::add(&self.counters.differ, 1),
            Planned::OnlyAtDestination => Counters::add(&self.counters.only_at_destination, 1),
        }
        self.observer.event(&Event::Planned {
            action,
            source,
            destination,
            reason,
            bytes,
            carries,
        });
    }

    /// A copy or delete that finished or failed.
    pub(crate) fn done(&self, mut item: ItemDone) {
        if item.toward.is_none() {
            item.toward = *self.toward.lock().unwrap_or_else(|e| e.into_inner());
        }
        match (&item.error, item.action) {
            (Some(_), _) => Counters::add(&self.counters.failed, 1),
            (None, Action::Delete) => Counters::add(&self.counters.deleted, 1),
            (None, Action::Update) => Counters::add(&self.counters.updated, 1),
            (None, Action::Rehydrate) => Counters::add(&self.counters.rehydrating, 1),
            (None, _) => {
                Counters::add(&self.counters.copied, 1);
                Counters::add(&self.counters.bytes_copied, item.bytes);
            }
        }
        self.observer.event(&Event::Done(&item));
    }

    /// Starts counting what the copy of `path` (`size` bytes) moves.
    pub(crate) fn moving(&self, path: &str, size: u64) -> Moved<'_> {
        Counters::add(&self.counters.bytes_planned, size);
        let file = (size >= LARGE_FILE).then(|| {
            let counter = Arc::new(AtomicU64::new(0));
            self.moving.lock().unwrap_or_else(|e| e.into_inner()).push((
                path.to_string(),
                counter.clone(),
                size,
            ));
            counter
        });
        Moved { ctx: self, file }
    }

    /// Reports how far the run has come.
    pub(crate) fn progress(&self) {
        let totals = self.totals();
        let moving: Vec<(String, u64, u64)> = self
            .moving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(p, moved, size)| (p.clone(), moved.load(Ordering::Relaxed), *size))
            .collect();
        let progress = Progress {
            totals: &totals,
            planning: !self.planned_all.load(Ordering::Relaxed),
            moving: &moving,
        };
        self.observer.event(&Event::Progress(&progress));
    }
}
