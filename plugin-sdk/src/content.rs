//! Reading the start of local source files: the `read-content` capability of filters and
//! annotators.
//!
//! The manifest grants it per plugin (`read-content = { max-bytes = 65536 }`); without the
//! grant every read fails. Only the files of the batch being processed can be read, by
//! the path the plugin was given ([`crate::Entry::path`], so ask for
//! [`crate::EntryFields::PATH`]), and never more than the granted number of bytes.

#[cfg(not(target_arch = "wasm32"))]
use std::cell::RefCell;
#[cfg(not(target_arch = "wasm32"))]
use std::path::PathBuf;

/// Reads up to `max_bytes` bytes from the start of the local source file at `path` (an
/// entry of the batch being processed).
///
/// Outside WebAssembly (a plugin's own unit tests) it reads `path` below the folder set
/// with [`set_test_root`].
pub fn read(path: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::blobsync::plugin::content::read(path, max_bytes);
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::io::Read;
        let root = TEST_ROOT
            .with(|r| r.borrow().clone())
            .ok_or("no test root: call blobsync_plugin::content::set_test_root first")?;
        let file = std::fs::File::open(root.join(path)).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        file.take(max_bytes)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        Ok(buf)
    }
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static TEST_ROOT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// For a plugin's unit tests (outside WebAssembly): the folder [`read`] reads from.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_test_root(root: impl Into<PathBuf>) {
    TEST_ROOT.with(|r| *r.borrow_mut() = Some(root.into()));
}
