//! Hook plugins: observe what a run did.
//!
//! A hook receives batches of [`Event`]s while the run goes on (one per completed or
//! failed upload, download or delete) and a [`Summary`] at the end. Hooks run on their own
//! worker: a slow hook never stalls transfers. By default a failing hook is logged and
//! counted, and the run goes on (`failure = "fail-open"`).
//!
//! A hook exported with [`export_two_way_hook!`](crate::export_two_way_hook) instead
//! targets the `two-way-hook` world: it also hears which way each item of a two-way sync
//! (`blobsync bisync`) went ([`Hook::on_directed_event`]) and how each conflict was
//! settled ([`Hook::on_conflict`]). It receives one-way runs' events too, with no
//! direction. The same [`Hook`] trait serves both worlds.
//!
//! A hook has no file system. To get records out, the manifest grants it an append-only
//! output file (`output = "audit.jsonl"`), which [`write_line`] appends to, or origins it
//! may send HTTP requests to (`allowed-outbound-hosts`), which [`crate::http`] uses.
//!
//! ```
//! use blobsync_plugin::Config;
//! use blobsync_plugin::hook::{self, Event, Hook, Outcome, Summary};
//!
//! /// Writes one line per failed transfer.
//! struct Failures;
//!
//! impl Hook for Failures {
//!     fn configure(config: Config) -> Result<Self, String> {
//!         config.check_keys(&[])?;
//!         Ok(Failures)
//!     }
//!
//!     fn on_event(&mut self, event: &Event) {
//!         if event.outcome == Outcome::Failure {
//!             let error = event.error.as_deref().unwrap_or("");
//!             let _ = hook::write_line(&format!("{}\t{}", event.path, error));
//!         }
//!     }
//!
//!     fn on_complete(&mut self, summary: &Summary) {
//!         blobsync_plugin::log::info(&format!("{} failed", summary.failed));
//!     }
//! }
//!
//! blobsync_plugin::export_hook!(Failures);
//! # fn main() {}
//! ```

use std::marker::PhantomData;

use crate::Config;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "hook",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_hook_world",
        default_bindings_module: "blobsync_plugin::hook::bindings",
        with: {
            "blobsync:plugin/types@0.2.1": crate::filter::bindings::blobsync::plugin::types,
            "blobsync:plugin/host@0.2.1": crate::filter::bindings::blobsync::plugin::host,
        },
    });
}

#[doc(hidden)]
#[allow(missing_docs)]
pub mod two_way_bindings {
    wit_bindgen::generate!({
        world: "two-way-hook",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_two_way_hook_world",
        default_bindings_module: "blobsync_plugin::hook::two_way_bindings",
        with: {
            "blobsync:plugin/types@0.2.1": crate::filter::bindings::blobsync::plugin::types,
            "blobsync:plugin/host@0.2.1": crate::filter::bindings::blobsync::plugin::host,
            "blobsync:plugin/output@0.2.1": crate::hook::bindings::blobsync::plugin::output,
            "blobsync:plugin/two-way@0.2.1": crate::resolver::bindings::blobsync::plugin::two_way,
        },
    });
}

pub use crate::bindings::blobsync::plugin::types::{
    Event, EventAction, Outcome, RunStatus, Summary,
};
pub use crate::resolver::bindings::blobsync::plugin::two_way::{
    DirectedEvent, Direction, Facts, PairSide, SettledConflict,
};
use bindings::exports::blobsync::plugin::hook_plugin::Guest;
use two_way_bindings::exports::blobsync::plugin::two_way_hook_plugin::Guest as TwoWayGuest;

/// Appends `line` (and a newline) to the output file the manifest granted this hook.
///
/// Fails when the manifest grants no `output`, or when the host cannot write the file.
/// Outside WebAssembly (a plugin's own unit tests) the line goes to stdout.
pub fn write_line(line: &str) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    return bindings::blobsync::plugin::output::write_line(line);
    #[cfg(not(target_arch = "wasm32"))]
    {
        println!("{line}");
        Ok(())
    }
}

impl Event {
    /// The content MD5 as lower-case hex, if known.
    pub fn md5_hex(&self) -> Option<String> {
        self.md5
            .as_ref()
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A hook plugin.
pub trait Hook: Sized + 'static {
    /// Builds the hook from its configuration. An error aborts the run at start-up with
    /// the message shown to the user.
    fn configure(config: Config) -> Result<Self, String>;

    /// Called for each completed or failed action.
    fn on_event(&mut self, event: &Event) {
        let _ = event;
    }

    /// Called with a batch of events. The default calls [`Hook::on_event`] for each.
    fn on_events(&mut self, events: Vec<Event>) {
        for event in &events {
            self.on_event(event);
        }
    }

    /// A two-way hook's ([`export_two_way_hook!`](crate::export_two_way_hook)) event, with
    /// the way it went in a two-way sync (`None` in a one-way sync). The default calls
    /// [`Hook::on_event`].
    fn on_directed_event(&mut self, event: &Event, direction: Option<Direction>) {
        let _ = direction;
        self.on_event(event);
    }

    /// A two-way hook's conflict, as the run settled it (before the copies that carry it
    /// out). Never called for a hook exported with [`export_hook!`](crate::export_hook).
    fn on_conflict(&mut self, conflict: &SettledConflict) {
        let _ = conflict;
    }

    /// Called once at the end of the run.
    fn on_complete(&mut self, summary: &Summary) {
        let _ = summary;
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Hook> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<(), String> {
        crate::install_panic_hook();
        crate::state::set(T::configure(Config::new(config))?);
        Ok(())
    }

    fn on_events(events: Vec<Event>) {
        crate::state::with(|plugin: &mut T| plugin.on_events(events))
    }

    fn on_complete(summary: Summary) {
        crate::state::with(|plugin: &mut T| plugin.on_complete(&summary))
    }
}

impl<T: Hook> TwoWayGuest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<(), String> {
        <Self as Guest>::configure(config)
    }

    fn on_events(events: Vec<DirectedEvent>) {
        crate::state::with(|plugin: &mut T| {
            for e in &events {
                plugin.on_directed_event(&e.event, e.direction);
            }
        })
    }

    fn on_conflicts(conflicts: Vec<SettledConflict>) {
        crate::state::with(|plugin: &mut T| {
            for c in &conflicts {
                plugin.on_conflict(c);
            }
        })
    }

    fn on_complete(summary: Summary) {
        <Self as Guest>::on_complete(summary)
    }
}

impl Direction {
    /// `path1-to-path2` or `path2-to-path1`, as in `--output-type json`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Path1ToPath2 => "path1-to-path2",
            Direction::Path2ToPath1 => "path2-to-path1",
        }
    }
}

impl PairSide {
    /// `path1` or `path2`.
    pub fn name(self) -> &'static str {
        match self {
            PairSide::Path1 => "path1",
            PairSide::Path2 => "path2",
        }
    }
}

/// Exports a [`Hook`] implementation as the component's hook.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_hook {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncHookAdapter = $crate::hook::Adapter<$plugin>;
        $crate::hook::bindings::__blobsync_export_hook_world!(
            __BlobsyncHookAdapter with_types_in $crate::hook::bindings
        );
    };
}

/// Exports a [`Hook`] implementation as a two-way hook: one that also receives each
/// item's direction in a two-way sync ([`Hook::on_directed_event`]) and each conflict
/// ([`Hook::on_conflict`]). Use it instead of [`export_hook!`](crate::export_hook), once,
/// at the top level of the plugin crate.
#[macro_export]
macro_rules! export_two_way_hook {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncTwoWayHookAdapter = $crate::hook::Adapter<$plugin>;
        $crate::hook::two_way_bindings::__blobsync_export_two_way_hook_world!(
            __BlobsyncTwoWayHookAdapter with_types_in $crate::hook::two_way_bindings
        );
    };
}
