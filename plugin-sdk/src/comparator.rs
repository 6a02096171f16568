//! Comparator plugins: decide which paths present on both sides are copied.
//!
//! Paths present only at the source are always copied and never reach the comparator.
//! A comparator that needs content hashes includes [`EntryFields::MD5`] in
//! [`Comparator::fields`]; the host then computes the MD5 of local files whose sizes match
//! on both sides. A comparator that judges modification times as blobsync's default
//! comparator does uses its [`TimeRule`].
//!
//! ```
//! use blobsync_plugin::{Config, Entry, EntryFields};
//! use blobsync_plugin::comparator::{Comparator, Decision};
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
//!     fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
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

use std::borrow::Cow;
use std::marker::PhantomData;

use crate::{Config, Entries, Entry, EntryFields};

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "comparator",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_comparator_world",
        default_bindings_module: "blobsync_plugin::comparator::bindings",
        with: {
            "blobsync:plugin/types@0.2.1": crate::filter::bindings::blobsync::plugin::types,
            "blobsync:plugin/host@0.2.1": crate::filter::bindings::blobsync::plugin::host,
        },
    });
}

pub use crate::bindings::blobsync::plugin::types::Action;
use crate::bindings::blobsync::plugin::types::Decision as WitDecision;
pub use crate::time_rule::{TimeRule, lmt_rule};
use bindings::exports::blobsync::plugin::comparator_plugin::Guest;

/// A comparator's answer for one pair.
///
/// A reason given as a `&'static str` costs no allocation, and a reason equal to the
/// previous pair's crosses to the host as `none` ("same as before"), so the common "up to
/// date" answer is nearly free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Transfer or skip.
    pub action: Action,
    /// Why, in a few words; shown in dry runs, logs and job records.
    pub reason: Cow<'static, str>,
}

impl Decision {
    /// Copy the source over the destination, saying why.
    pub fn transfer(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision {
            action: Action::Transfer,
            reason: reason.into(),
        }
    }

    /// Leave the destination as it is, saying why.
    pub fn skip(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision {
            action: Action::Skip,
            reason: reason.into(),
        }
    }
}

/// The decisions as they cross to the host: a reason repeating the previous one is sent
/// as `none`.
fn to_wit(decisions: Vec<Decision>) -> Vec<WitDecision> {
    let mut out: Vec<WitDecision> = Vec::with_capacity(decisions.len());
    // The last reason sent in full, and where its text was (a `&'static str` reason is
    // recognised by its address, without comparing bytes).
    let mut previous: Option<(usize, *const u8, usize)> = None;
    for d in decisions {
        let here = (d.reason.as_ptr(), d.reason.len());
        let repeat = previous.is_some_and(|(p, ptr, len)| {
            (ptr, len) == here || out[p].reason.as_deref() == Some(&*d.reason)
        });
        let reason = if repeat {
            None
        } else {
            previous = Some((out.len(), here.0, here.1));
            Some(d.reason.into_owned())
        };
        out.push(WitDecision {
            action: d.action,
            reason,
        });
    }
    out
}

/// A comparator plugin.
pub trait Comparator: Sized + 'static {
    /// Builds the comparator from its configuration. An error aborts the run at start-up
    /// with the message shown to the user.
    fn configure(config: Config) -> Result<Self, String>;

    /// The optional entry fields the comparator reads (asked once, after `configure`);
    /// [`EntryFields::MD5`] makes the host hash local files. The default is none: sizes
    /// and modification times are always sent.
    fn fields(&self) -> EntryFields {
        EntryFields::empty()
    }

    /// Decides for one pair.
    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision;

    /// Decides for a batch: `source` and `destination` hold the same paths in the same
    /// order. The default calls [`Comparator::compare`] for each pair. Must return exactly
    /// one decision per pair.
    fn compare_batch(&mut self, source: &Entries, destination: &Entries) -> Vec<Decision> {
        source
            .iter()
            .zip(destination.iter())
            .map(|(s, d)| self.compare(&s, &d))
            .collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Comparator> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<EntryFields, String> {
        crate::install_panic_hook();
        let plugin = T::configure(Config::new(config))?;
        let fields = plugin.fields();
        crate::state::set(plugin);
        Ok(fields)
    }

    fn compare(source: Entries, destination: Entries) -> Vec<WitDecision> {
        to_wit(crate::state::with(|plugin: &mut T| {
            plugin.compare_batch(&source, &destination)
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_reasons_cross_empty() {
        let wit = to_wit(vec![
            Decision::skip("same"),
            Decision::skip("same"),
            Decision::transfer(format!("size {}", 1)),
            Decision::skip("same"),
        ]);
        let reasons: Vec<Option<&str>> = wit.iter().map(|d| d.reason.as_deref()).collect();
        assert_eq!(reasons, [Some("same"), None, Some("size 1"), Some("same")]);
    }
}
