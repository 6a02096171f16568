//! Write [blobsync](https://github.com/blobsync/blobsync) plugins in Rust.
//!
//! blobsync delegates its decisions to sandboxed WebAssembly components:
//!
//! | kind | trait | export macro | decides |
//! |---|---|---|---|
//! | filter | [`filter::Filter`] | [`export_filter!`] | which paths take part in a sync |
//! | comparator | [`comparator::Comparator`] | [`export_comparator!`] | which paths present on both sides are copied |
//! | annotator | [`annotator::Annotator`] | [`export_annotator!`] | the headers, tier, metadata and tags uploads get |
//! | resolver | [`resolver::Resolver`] | [`export_resolver!`] | which version of a two-way sync's conflict keeps the name |
//! | hook | [`hook::Hook`] | [`export_hook!`] (or [`export_two_way_hook!`]) | nothing: it observes what was done (and which way, and the conflicts) |
//!
//! A plugin is a small `cdylib` crate that implements **one** of the traits and calls its
//! export macro once (a component targets exactly one world). `blobsync plugin build DIR`
//! compiles it to wasm and wraps it into a component; `blobsync plugin inspect FILE.wasm`
//! shows what it is; `blobsync plugin new NAME --kind … --lang rust` writes a starting
//! point. The contract itself is the WIT package in this crate's `wit/` directory
//! ([`WIT`]), versioned as [`INTERFACE_VERSION`]; Python and JavaScript plugins target the
//! same worlds (see the README's plugin author's guide).
//!
//! # Batches and fields
//!
//! Every call is batched: the host passes up to a few thousand entries at a time as
//! columns ([`Entries`], walked as [`Entry`] views) and expects exactly one answer per
//! entry, in order. The traits have per-entry methods with batch defaults, so most
//! plugins implement only the per-entry one. Each trait's `fields` says which optional
//! columns the plugin reads ([`EntryFields`]); the host fills only those, which is what
//! keeps a call at tens of nanoseconds per entry.
//!
//! # Sandbox and capabilities
//!
//! Plugins have no file system, network or environment unless their manifest entry grants
//! one: an `output` file for hooks ([`hook::write_line`]), `read-content` for filters and
//! annotators ([`content::read`]), `allowed-outbound-hosts` for hooks ([`http`]), `env`
//! variables. They can always log ([`log`]) and read the run's job id and start time from
//! their [`Config`].

#![deny(missing_docs)]

mod config;
mod entries;
mod time;
mod time_rule;

pub mod annotator;
pub mod comparator;
pub mod content;
pub mod filter;
pub mod hook;
pub mod http;
pub mod resolver;

pub use config::{Config, JOB_ID_KEY, PRECISION_KEY, STARTED_KEY};
pub use entries::{
    ATTR_DIRECTORY, ATTR_MD5, ATTR_STORED_MTIME, Entry, EntryIter, TestEntry, all_fields,
    no_headers,
};
pub use time::{format_rfc3339_ns, parse_rfc3339_ns};

pub use bindings::blobsync::plugin::types::{
    AccessTier, Annotation, ArchiveStatus, ContentHeaders, EndpointKind, Entries, EntryFields, Side,
};
/// The types shared by every world (generated from the WIT).
pub(crate) use filter::bindings;

/// The version of the WIT package `blobsync:plugin` this SDK builds against.
pub const INTERFACE_VERSION: &str = "0.2.1";

/// The WIT contract (`wit/plugin.wit`), for tools that want to read it.
pub const WIT: &str = include_str!("../wit/plugin.wit");

/// The metadata key under which blobsync stores a file's modification time on a blob
/// (RFC 3339 with nanoseconds, the same key and format rclone uses).
pub const MTIME_METADATA_KEY: &str = "mtime";

/// Writes to blobsync's log. Messages are tagged with the plugin's name by the host.
///
/// Outside WebAssembly (a plugin's own unit tests) messages go to stderr.
pub mod log {
    use crate::bindings::blobsync::plugin::host::Level;

    #[cfg(target_arch = "wasm32")]
    fn emit(level: Level, message: &str) {
        crate::bindings::blobsync::plugin::host::log(level, message)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn emit(level: Level, message: &str) {
        eprintln!("[{level:?}] {message}");
    }

    /// Logs at error level.
    pub fn error(message: &str) {
        emit(Level::Error, message)
    }
    /// Logs at warning level.
    pub fn warn(message: &str) {
        emit(Level::Warn, message)
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        emit(Level::Info, message)
    }
    /// Logs at debug level.
    pub fn debug(message: &str) {
        emit(Level::Debug, message)
    }
    /// Logs at trace level.
    pub fn trace(message: &str) {
        emit(Level::Trace, message)
    }
}

/// Reports a panic's message through the host log before the instance aborts, so the
/// host can say why the plugin trapped. Installed by the export macros' `configure`.
#[doc(hidden)]
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log::error(&format!("{PANIC_PREFIX}{info}"))
        }));
    });
}

/// The prefix of the log message that carries a panic; the host looks for it.
#[doc(hidden)]
pub const PANIC_PREFIX: &str = "plugin panicked: ";

/// Per-instance plugin state. A component instance is single-threaded, so a thread-local
/// holds the value `configure` produced until the host drops the instance.
#[doc(hidden)]
pub mod state {
    use std::any::Any;
    use std::cell::RefCell;

    thread_local! {
        static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    /// Stores the configured plugin.
    pub fn set<T: 'static>(value: T) {
        STATE.with(|s| *s.borrow_mut() = Some(Box::new(value)));
    }

    /// Runs `f` with the configured plugin. The host always calls `configure` first;
    /// anything else is a host bug, reported as a trap.
    pub fn with<T: 'static, R>(f: impl FnOnce(&mut T) -> R) -> R {
        STATE.with(|s| {
            let mut slot = s.borrow_mut();
            match slot.as_mut().and_then(|b| b.downcast_mut::<T>()) {
                Some(value) => f(value),
                None => panic!("blobsync plugin called before configure"),
            }
        })
    }
}
