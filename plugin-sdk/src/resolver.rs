//! Resolver plugins: settle a two-way sync's conflicts (`blobsync bisync`).
//!
//! A conflict is a path changed on both sides since the last run to different content
//! (or found on both sides, different, on a first run). A resolver receives conflicts in
//! batches — each with both sides' entries now and, where there is a state, as the last
//! run left them — and answers, for each, which version keeps the name: PATH1's,
//! PATH2's, both kept ([`Choice::KeepBoth`]: the other version under its conflict name
//! on both sides), or no opinion ([`Choice::Policy`]: the next resolver, then
//! `--conflict-resolve` and `--conflict-loser`, decide). The reason is shown with the
//! conflict. A failing resolver stops the run by default (nothing is written).
//!
//! ```
//! use blobsync_plugin::Config;
//! use blobsync_plugin::resolver::{Choice, Conflict, Resolution, Resolver};
//!
//! /// The CMS (PATH2) wins for `content/`; the rest is left to the policy.
//! struct CmsWins;
//!
//! impl Resolver for CmsWins {
//!     fn configure(config: Config) -> Result<Self, String> {
//!         config.check_keys(&[])?;
//!         Ok(CmsWins)
//!     }
//!
//!     fn resolve(&mut self, conflict: &Conflict) -> Resolution {
//!         if conflict.path.starts_with("content/") {
//!             Resolution::new(Choice::Path2, "the CMS owns content/")
//!         } else {
//!             Resolution::policy()
//!         }
//!     }
//! }
//!
//! blobsync_plugin::export_resolver!(CmsWins);
//! # fn main() {}
//! ```

use std::marker::PhantomData;

use crate::Config;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "resolver",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_resolver_world",
        default_bindings_module: "blobsync_plugin::resolver::bindings",
        additional_derives: [PartialEq],
        with: {
            "blobsync:plugin/types@0.2.1": crate::filter::bindings::blobsync::plugin::types,
            "blobsync:plugin/host@0.2.1": crate::filter::bindings::blobsync::plugin::host,
        },
    });
}

pub use bindings::blobsync::plugin::two_way::{Choice, Conflict, Facts, Resolution};
use bindings::exports::blobsync::plugin::resolver_plugin::Guest;

impl Resolution {
    /// `choice`, for `reason`.
    pub fn new(choice: Choice, reason: impl Into<String>) -> Resolution {
        Resolution {
            choice,
            reason: reason.into(),
        }
    }

    /// No opinion: the next resolver, then the flags, decide.
    pub fn policy() -> Resolution {
        Resolution::new(Choice::Policy, "")
    }
}

/// A resolver plugin.
pub trait Resolver: Sized + 'static {
    /// Builds the resolver from its configuration. An error aborts the run at start-up
    /// with the message shown to the user.
    fn configure(config: Config) -> Result<Self, String>;

    /// Settles one conflict.
    fn resolve(&mut self, conflict: &Conflict) -> Resolution;

    /// Settles a batch of conflicts, one resolution each, in order. The default calls
    /// [`Resolver::resolve`] for each.
    fn resolve_all(&mut self, conflicts: Vec<Conflict>) -> Vec<Resolution> {
        conflicts.iter().map(|c| self.resolve(c)).collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Resolver> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<(), String> {
        crate::install_panic_hook();
        crate::state::set(T::configure(Config::new(config))?);
        Ok(())
    }

    fn resolve(conflicts: Vec<Conflict>) -> Vec<Resolution> {
        crate::state::with(|plugin: &mut T| plugin.resolve_all(conflicts))
    }
}

/// Exports a [`Resolver`] implementation as the component's resolver.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_resolver {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncResolverAdapter = $crate::resolver::Adapter<$plugin>;
        $crate::resolver::bindings::__blobsync_export_resolver_world!(
            __BlobsyncResolverAdapter with_types_in $crate::resolver::bindings
        );
    };
}
