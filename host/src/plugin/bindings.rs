//! Host-side bindings for the three plugin worlds, generated from `plugin-sdk/wit`.
//!
//! The hook world is generated first (it imports every host interface); the filter and
//! comparator worlds reuse its `types` and `host` modules so all three share one set of
//! Rust types.

#![allow(missing_docs, clippy::all)]

pub mod hook {
    wasmtime::component::bindgen!({
        world: "hook",
        path: "../plugin-sdk/wit",
        additional_derives: [PartialEq],
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

pub use hook::blobsync::plugin::{host, output, types};
