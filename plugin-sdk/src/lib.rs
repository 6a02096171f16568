//! Write [blobsync](https://github.com/blobsync/blobsync) plugins in Rust.
//!
//! blobsync delegates three decisions to sandboxed WebAssembly components:
//!
//! | kind | trait | export macro | decides |
//! |---|---|---|---|
//! | filter | [`filter::Filter`] | [`export_filter!`] | which paths take part in a sync |
//! | comparator | [`comparator::Comparator`] | [`export_comparator!`] | which paths present on both sides are copied |
//! | hook | [`hook::Hook`] | [`export_hook!`] | nothing: it observes what was done |
//!
//! A plugin is a small `cdylib` crate that implements **one** of the traits and calls its
//! export macro once (a component targets exactly one world). `blobsync plugin build DIR`
//! compiles it to wasm and wraps it into a component; `blobsync plugin inspect FILE.wasm`
//! shows what it is. The contract itself is the WIT package in this crate's `wit/`
//! directory ([`WIT`]), versioned as [`INTERFACE_VERSION`].
//!
//! Plugins run without WASI: no file system, network, clock or environment. They can log
//! through the host ([`log`]), and a hook granted an `output` file by the manifest can
//! append lines to it ([`hook::write_line`]).
//!
//! Every call is batched: the host passes up to a few thousand entries at a time and
//! expects exactly one answer per entry, in order. The traits have per-entry methods with
//! batch defaults, so most plugins implement only the per-entry one.

#![deny(missing_docs)]

mod config;
mod entry;
mod time;

pub use config::Config;
pub use time::{format_rfc3339_ns, parse_rfc3339_ns};

/// The version of the WIT package `blobsync:plugin` this SDK builds against.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// The WIT contract (`wit/plugin.wit`), for tools that want to read it.
pub const WIT: &str = include_str!("../wit/plugin.wit");

/// The metadata key under which blobsync stores a file's modification time on a blob
/// (RFC 3339 with nanoseconds, the same key and format rclone uses).
pub const MTIME_METADATA_KEY: &str = "mtime";

pub mod filter;

pub mod comparator;

pub mod hook;

/// Writes to blobsync's log. Messages are tagged with the plugin's name by the host.
///
/// Outside WebAssembly (a plugin's own unit tests) messages go to stderr.
pub mod log {
    #[cfg(target_arch = "wasm32")]
    fn emit(level: crate::filter::bindings::blobsync::plugin::host::Level, message: &str) {
        crate::filter::bindings::blobsync::plugin::host::log(level, message)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn emit(level: crate::filter::bindings::blobsync::plugin::host::Level, message: &str) {
        eprintln!("[{level:?}] {message}");
    }

    use crate::filter::bindings::blobsync::plugin::host::Level;

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
            let value = slot
                .as_mut()
                .and_then(|b| b.downcast_mut::<T>())
                .expect("blobsync plugin called before configure");
            f(value)
        })
    }
}
