//! Annotator plugins: say what each uploaded file's blob gets — content headers, access
//! tier, metadata and blob index tags.
//!
//! An annotator is called in batches with every local file about to be uploaded (after
//! the comparator decided to copy it). Annotators run in the manifest's order, after the
//! built-in one the command-line flags configure; a later annotator overrides an earlier
//! one field by field (one header, the tier, one metadata key, one tag).
//!
//! ```
//! use blobsync_plugin::{AccessTier, Annotation, Config, Entry};
//! use blobsync_plugin::annotator::{Annotator, AnnotationExt};
//!
//! /// Sends `*.bak` files to the cool tier.
//! struct Backups;
//!
//! impl Annotator for Backups {
//!     fn configure(config: Config) -> Result<Self, String> {
//!         config.check_keys(&[])?;
//!         Ok(Backups)
//!     }
//!
//!     fn annotate(&mut self, entry: &Entry<'_>) -> Annotation {
//!         if entry.path.ends_with(".bak") {
//!             Annotation::none().tier(AccessTier::Cool).tag("retention", "7y")
//!         } else {
//!             Annotation::none()
//!         }
//!     }
//! }
//!
//! blobsync_plugin::export_annotator!(Backups);
//! # fn main() {}
//! ```

use std::marker::PhantomData;

use crate::{AccessTier, Annotation, Config, Entries, Entry, EntryFields, no_headers};

#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "annotator",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__blobsync_export_annotator_world",
        default_bindings_module: "blobsync_plugin::annotator::bindings",
        with: {
            "blobsync:plugin/types@0.2.1": crate::filter::bindings::blobsync::plugin::types,
            "blobsync:plugin/host@0.2.1": crate::filter::bindings::blobsync::plugin::host,
            "blobsync:plugin/content@0.2.1": crate::filter::bindings::blobsync::plugin::content,
        },
    });
}

use bindings::exports::blobsync::plugin::annotator_plugin::Guest;

/// Builder methods on [`Annotation`].
pub trait AnnotationExt: Sized {
    /// Nothing set: earlier annotators' values (or the service's defaults) stay.
    fn none() -> Self;
    /// Sets `Content-Type`.
    fn content_type(self, value: impl Into<String>) -> Self;
    /// Sets `Cache-Control`.
    fn cache_control(self, value: impl Into<String>) -> Self;
    /// Sets `Content-Encoding`.
    fn content_encoding(self, value: impl Into<String>) -> Self;
    /// Sets `Content-Disposition`.
    fn content_disposition(self, value: impl Into<String>) -> Self;
    /// Sets `Content-Language`.
    fn content_language(self, value: impl Into<String>) -> Self;
    /// Sets the access tier.
    fn tier(self, tier: AccessTier) -> Self;
    /// Sets a metadata key (a C# identifier; stored lower-case).
    fn metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self;
    /// Sets a blob index tag.
    fn tag(self, key: impl Into<String>, value: impl Into<String>) -> Self;
}

impl AnnotationExt for Annotation {
    fn none() -> Self {
        Annotation {
            headers: no_headers(),
            access_tier: None,
            metadata: Vec::new(),
            tags: Vec::new(),
        }
    }
    fn content_type(mut self, value: impl Into<String>) -> Self {
        self.headers.content_type = Some(value.into());
        self
    }
    fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.headers.cache_control = Some(value.into());
        self
    }
    fn content_encoding(mut self, value: impl Into<String>) -> Self {
        self.headers.content_encoding = Some(value.into());
        self
    }
    fn content_disposition(mut self, value: impl Into<String>) -> Self {
        self.headers.content_disposition = Some(value.into());
        self
    }
    fn content_language(mut self, value: impl Into<String>) -> Self {
        self.headers.content_language = Some(value.into());
        self
    }
    fn tier(mut self, tier: AccessTier) -> Self {
        self.access_tier = Some(tier);
        self
    }
    fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }
    fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
}

/// Lays `later` over `base`, field by field, as the host chains annotators: each header,
/// the tier, each metadata key and each tag `later` sets replaces `base`'s.
pub fn merge(base: &mut Annotation, later: Annotation) {
    let h = &mut base.headers;
    let l = later.headers;
    for (slot, value) in [
        (&mut h.content_type, l.content_type),
        (&mut h.cache_control, l.cache_control),
        (&mut h.content_encoding, l.content_encoding),
        (&mut h.content_disposition, l.content_disposition),
        (&mut h.content_language, l.content_language),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
    if later.access_tier.is_some() {
        base.access_tier = later.access_tier;
    }
    // Metadata keys are case-insensitive (Azure stores them lower-case); tag keys are not.
    for (k, v) in later.metadata {
        let k = k.to_ascii_lowercase();
        match base.metadata.iter_mut().find(|(key, _)| *key == k) {
            Some((_, value)) => *value = v,
            None => base.metadata.push((k, v)),
        }
    }
    for (k, v) in later.tags {
        match base.tags.iter_mut().find(|(key, _)| *key == k) {
            Some((_, value)) => *value = v,
            None => base.tags.push((k, v)),
        }
    }
}

/// An annotator plugin.
pub trait Annotator: Sized + 'static {
    /// Builds the annotator from its configuration. An error aborts the run at start-up
    /// with the message shown to the user.
    fn configure(config: Config) -> Result<Self, String>;

    /// The optional entry fields the annotator reads (asked once, after `configure`). The
    /// default is the path.
    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    /// What to set on one file's blob.
    fn annotate(&mut self, entry: &Entry<'_>) -> Annotation;

    /// What to set for a batch. The default calls [`Annotator::annotate`] for each file.
    /// Must return exactly one annotation per entry.
    fn annotate_batch(&mut self, entries: &Entries) -> Vec<Annotation> {
        entries.iter().map(|e| self.annotate(&e)).collect()
    }
}

#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

impl<T: Annotator> Guest for Adapter<T> {
    fn configure(config: Vec<(String, String)>) -> Result<EntryFields, String> {
        crate::install_panic_hook();
        let plugin = T::configure(Config::new(config))?;
        let fields = plugin.fields();
        crate::state::set(plugin);
        Ok(fields)
    }

    fn annotate(entries: Entries) -> Vec<Annotation> {
        crate::state::with(|plugin: &mut T| plugin.annotate_batch(&entries))
    }
}

/// Exports an [`Annotator`] implementation as the component's annotator.
///
/// Call it once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_annotator {
    ($plugin:ty) => {
        #[doc(hidden)]
        type __BlobsyncAnnotatorAdapter = $crate::annotator::Adapter<$plugin>;
        $crate::annotator::bindings::__blobsync_export_annotator_world!(
            __BlobsyncAnnotatorAdapter with_types_in $crate::annotator::bindings
        );
    };
}
