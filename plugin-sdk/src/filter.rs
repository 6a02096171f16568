//! Filter plugins: decide which paths take part in a sync.
//!
//! A filter sees every listed entry on both sides, directories included. Excluding a
//! directory prunes everything below it before it is read. An excluded path is neither
//! copied nor deleted, whichever side excluded it.
//!
//! ```
//! use blobsync_plugin::Config;
//! use blobsync_plugin::filter::{Entry, Filter, Side, Verdict};
//!
//! /// Skips files larger than `max-size` bytes.
//! struct MaxSize {
//!     limit: u64,
//! }
//!
//! impl Filter for MaxSize {
//!     fn configure(config: Config) -> Result<Self, String> {
//!         config.check_keys(&["max-size"])?;
//!         let limit = config.parse("max-size")?.ok_or("`max-size` is required")?;
//!         Ok(MaxSize { limit })
//!     }
//!
//!     fn check(&mut self, _side: Side, entry: &Entry) -> Verdict {
//!         if !entry.is_dir && entry.size > self.limit {
//!             Verdict::exclude(format!("larger than {} bytes", self.limit))
//!         } else {
//!             Verdict::include("")
//!         }
//!     }
//! }
//!
//! blobsync_plugin::export_filter!(MaxSize);
//! # fn main() {}
//! ```

use std::marker::PhantomData;

use crate::Config;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "filter",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_filter_world",
        default_bindings_module: "blobsync_plugin::filter::bindings",
    });
}

pub use bindings::blobsync::plugin::types::{EndpointKind, Entry, Side, Verdict};
use bindings::exports::blobsync::plugin::filter_plugin::Guest;

crate::entry::entry_helpers!(Entry);

impl Verdict {
    /// Keeps the entry; `reason` may be empty.
    pub fn include(reason: impl Into<String>) -> Self {
        Verdict {
            included: true,
            reason: reason.into(),
        }
    }

    /// Excludes the entry, saying why.
    pub fn exclude(reason: impl Into<String>) -> Self {
        Verdict {
            included: false,
            reason: reason.into(),
        }
    }
}

/// A filter plugin.
pub trait Filter: Sized + 'static {
    /// Builds the filter from its configuration. An error aborts the run at start-up with
    /// the message shown to the user, so say what is wrong and how to fix it.
    fn configure(config: Config) -> Result<Self, String>;

    /// Decides for one entry.
    fn check(&mut self, side: Side, entry: &Entry) -> Verdict;

    /// Decides for a batch. The default calls [`Filter::check`] for each entry; override
    /// it to amortise work across a batch. Must return exactly one verdict per entry.
    fn filter(&mut self, side: Side, entries: Vec<Entry>) -> Vec<Verdict> {
        entries.iter().map(|e| self.check(side, e)).collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Filter> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<(), String> {
        crate::install_panic_hook();
        crate::state::set(T::configure(Config::new(config))?);
        Ok(())
    }

    fn filter(side: Side, entries: Vec<Entry>) -> Vec<Verdict> {
        crate::state::with(|plugin: &mut T| plugin.filter(side, entries))
    }
}

/// Exports a [`Filter`] implementation as the component's filter.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncFilterAdapter = $crate::filter::Adapter<$plugin>;
        $crate::filter::bindings::__blobsync_export_filter_world!(
            __BlobsyncFilterAdapter with_types_in $crate::filter::bindings
        );
    };
}
