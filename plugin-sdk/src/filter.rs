//! Filter plugins: decide which paths take part in a sync.
//!
//! A filter sees every listed entry on both sides, directories included. Excluding a
//! directory prunes everything below it before it is read. An excluded path is neither
//! copied nor deleted, whichever side excluded it.
//!
//! ```
//! use blobsync_plugin::{Config, Entry, EntryFields, Side};
//! use blobsync_plugin::filter::{Filter, Verdict};
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
//!     // Sizes are always sent; this filter needs no optional field (not even the path).
//!     fn fields(&self) -> EntryFields {
//!         EntryFields::empty()
//!     }
//!
//!     fn check(&mut self, _side: Side, entry: &Entry<'_>) -> Verdict {
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

use std::borrow::Cow;
use std::marker::PhantomData;

use crate::{Config, Entries, Entry, EntryFields, Side};

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "filter",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_filter_world",
        default_bindings_module: "blobsync_plugin::filter::bindings",
        additional_derives: [PartialEq],
    });
}

use bindings::exports::blobsync::plugin::filter_plugin::Guest;

/// A filter's answer for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// False excludes the entry (and, for a directory, everything below it) from the sync
    /// on both sides: it is neither copied nor deleted.
    pub included: bool,
    /// Why, in a few words; shown in dry runs, logs and job records (an included entry's
    /// reason is not sent).
    pub reason: Cow<'static, str>,
}

impl Verdict {
    /// Keeps the entry; `reason` may be empty.
    pub fn include(reason: impl Into<Cow<'static, str>>) -> Self {
        Verdict {
            included: true,
            reason: reason.into(),
        }
    }

    /// Excludes the entry, saying why.
    pub fn exclude(reason: impl Into<Cow<'static, str>>) -> Self {
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

    /// The optional entry fields the filter reads (asked once, after `configure`). The
    /// default is the path.
    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    /// Decides for one entry.
    fn check(&mut self, side: Side, entry: &Entry<'_>) -> Verdict;

    /// Decides for a batch. The default calls [`Filter::check`] for each entry; override
    /// it to amortise work across a batch. Must return exactly one verdict per entry.
    fn filter(&mut self, side: Side, entries: &Entries) -> Vec<Verdict> {
        entries.iter().map(|e| self.check(side, &e)).collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Filter> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<EntryFields, String> {
        crate::install_panic_hook();
        let plugin = T::configure(Config::new(config))?;
        let fields = plugin.fields();
        crate::state::set(plugin);
        Ok(fields)
    }

    fn filter(side: Side, entries: Entries) -> Vec<Option<String>> {
        crate::state::with(|plugin: &mut T| plugin.filter(side, &entries))
            .into_iter()
            .map(|v| (!v.included).then(|| v.reason.into_owned()))
            .collect()
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
