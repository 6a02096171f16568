//! Comparator plugins: decide which paths present on both sides are copied.
//!
//! Paths present only at the source are always copied and never reach the comparator.
//! A comparator that needs content hashes says so in [`Comparator::needs_md5`]; the host
//! then computes the MD5 of local files whose sizes match on both sides.
//!
//! ```
//! use blobsync_plugin::Config;
//! use blobsync_plugin::comparator::{Comparator, Decision, Entry};
//!
//! /// Copies only when the sizes differ.
//! struct SizeOnly;
//!
//! impl Comparator for SizeOnly {
//!     fn configure(config: Config) -> Result<Self, String> {
//!         config.check_keys(&[])?;
//!         Ok(SizeOnly)
//!     }
//!
//!     fn compare(&mut self, source: &Entry, destination: &Entry) -> Decision {
//!         if source.size != destination.size {
//!             Decision::transfer(format!("size differs ({} → {})", destination.size, source.size))
//!         } else {
//!             Decision::skip("same size")
//!         }
//!     }
//! }
//!
//! blobsync_plugin::export_comparator!(SizeOnly);
//! # fn main() {}
//! ```

use std::marker::PhantomData;

use crate::Config;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "comparator",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_comparator_world",
        default_bindings_module: "blobsync_plugin::comparator::bindings",
    });
}

pub use bindings::blobsync::plugin::types::{
    Action, ComparatorInfo, Decision, EndpointKind, Entry, Pair,
};
use bindings::exports::blobsync::plugin::comparator_plugin::Guest;

crate::entry::entry_helpers!(Entry);

impl Decision {
    /// Copy the source over the destination, saying why.
    pub fn transfer(reason: impl Into<String>) -> Self {
        Decision {
            action: Action::Transfer,
            reason: reason.into(),
        }
    }

    /// Leave the destination as it is, saying why.
    pub fn skip(reason: impl Into<String>) -> Self {
        Decision {
            action: Action::Skip,
            reason: reason.into(),
        }
    }
}

/// A comparator plugin.
pub trait Comparator: Sized + 'static {
    /// Builds the comparator from its configuration. An error aborts the run at start-up
    /// with the message shown to the user.
    fn configure(config: Config) -> Result<Self, String>;

    /// Whether the host must supply content MD5s (see the module docs). Asked once, after
    /// [`Comparator::configure`].
    fn needs_md5(&self) -> bool {
        false
    }

    /// Decides for one pair.
    fn compare(&mut self, source: &Entry, destination: &Entry) -> Decision;

    /// Decides for a batch. The default calls [`Comparator::compare`] for each pair. Must
    /// return exactly one decision per pair.
    fn compare_batch(&mut self, pairs: Vec<Pair>) -> Vec<Decision> {
        pairs
            .iter()
            .map(|p| self.compare(&p.source, &p.destination))
            .collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Comparator> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<ComparatorInfo, String> {
        crate::install_panic_hook();
        let plugin = T::configure(Config::new(config))?;
        let info = ComparatorInfo {
            needs_md5: plugin.needs_md5(),
        };
        crate::state::set(plugin);
        Ok(info)
    }

    fn compare(pairs: Vec<Pair>) -> Vec<Decision> {
        crate::state::with(|plugin: &mut T| plugin.compare_batch(pairs))
    }
}

/// Exports a [`Comparator`] implementation as the component's comparator.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_comparator {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncComparatorAdapter = $crate::comparator::Adapter<$plugin>;
        $crate::comparator::bindings::__blobsync_export_comparator_world!(
            __BlobsyncComparatorAdapter with_types_in $crate::comparator::bindings
        );
    };
}
