//! Hook plugins: observe what a run did.
//!
//! A hook receives batches of [`Event`]s while the run goes on (one per completed or
//! failed upload, download or delete) and a [`Summary`] at the end. Hooks run on their own
//! worker: a slow hook never stalls transfers. By default a failing hook is logged and
//! counted, and the run goes on (`failure = "fail-open"`).
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

pub use crate::bindings::blobsync::plugin::types::{
    Event, EventAction, Outcome, RunStatus, Summary,
};
use bindings::exports::blobsync::plugin::hook_plugin::Guest;

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
