//! What every stage of one run shares: the counters, the observer, and the control that
//! records the first fatal error and stops the run.

use std::sync::Arc;

use super::observer::{Counters, Event, ItemDone, Observer, Planned, RunControl, Side, Totals};
use super::{Action, RunError};
use crate::endpoint::SkipKind;

/// One run's shared state.
pub(crate) struct RunContext {
    pub(crate) counters: Counters,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) control: RunControl,
    /// The destination was made ready for writes (see `run::prepare`).
    pub(crate) prepared: std::sync::atomic::AtomicBool,
}

impl RunContext {
    pub(crate) fn new(observer: Arc<dyn Observer>, control: RunControl) -> Self {
        RunContext {
            counters: Counters::default(),
            observer,
            control,
            prepared: Default::default(),
        }
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
    ) {
        match action {
            Planned::Copy => {
                Counters::add(&self.counters.copied, 1);
                Counters::add(&self.counters.bytes_copied, bytes);
            }
            Planned::Remove => Counters::add(&self.counters.deleted, 1),
            Planned::Update => Counters::add(&self.counters.updated, 1),
            Planned::Rehydrate => Counters::add(&self.counters.rehydrating, 1),
            Planned::Backup => {}
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
        });
    }

    /// A copy or delete that finished or failed.
    pub(crate) fn done(&self, item: ItemDone) {
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

    /// Reports the totals so far.
    pub(crate) fn progress(&self) {
        let totals = self.totals();
        self.observer.event(&Event::Progress(&totals));
    }
}
