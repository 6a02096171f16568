//! Host-side bindings for the plugin worlds of `blobsync:plugin@0.2.0`, generated from
//! `plugin-sdk/wit`.
//!
//! The hook world is generated first; the other worlds reuse its `types` and `host`
//! modules (and the filter world's `content`) so that all four share one set of Rust
//! types. The 0.1 worlds, which blobsync still loads, are in `legacy.rs`.

#![allow(missing_docs, clippy::all)]

pub mod hook {
    wasmtime::component::bindgen!({
        world: "hook",
        path: "../plugin-sdk/wit",
        additional_derives: [PartialEq, Eq],
    });
}

pub mod filter {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../plugin-sdk/wit",
        with: {
            "blobsync:plugin/types": super::hook::blobsync::plugin::types,
            "blobsync:plugin/host": super::hook::blobsync::plugin::host,
        },
    });
}

pub mod comparator {
    wasmtime::component::bindgen!({
        world: "comparator",
        path: "../plugin-sdk/wit",
        with: {
            "blobsync:plugin/types": super::hook::blobsync::plugin::types,
            "blobsync:plugin/host": super::hook::blobsync::plugin::host,
        },
    });
}

pub mod annotator {
    wasmtime::component::bindgen!({
        world: "annotator",
        path: "../plugin-sdk/wit",
        with: {
            "blobsync:plugin/types": super::hook::blobsync::plugin::types,
            "blobsync:plugin/host": super::hook::blobsync::plugin::host,
            "blobsync:plugin/content": super::filter::blobsync::plugin::content,
        },
    });
}

pub use filter::blobsync::plugin::content;
pub use hook::blobsync::plugin::{host, output, types};
