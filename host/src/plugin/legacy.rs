//! Plugins built against `blobsync:plugin@0.1.x` keep loading: their worlds' bindings
//! (generated from the frozen `plugin-sdk/wit-0.1`) and the conversions between the 0.1
//! records and the host's types.
//!
//! A 0.1 plugin receives each entry as a record with every field (path, MD5, metadata),
//! as it always did; only 0.2 plugins get column batches with the fields they ask for.

#![allow(missing_docs, clippy::all)]

pub mod hook {
    wasmtime::component::bindgen!({
        world: "hook",
        path: "../plugin-sdk/wit-0.1",
    });
}

pub mod filter {
    wasmtime::component::bindgen!({
        world: "filter",
        path: "../plugin-sdk/wit-0.1",
        with: {
            "blobsync:plugin/types": super::hook::blobsync::plugin::types,
            "blobsync:plugin/host": super::hook::blobsync::plugin::host,
        },
    });
}

pub mod comparator {
    wasmtime::component::bindgen!({
        world: "comparator",
        path: "../plugin-sdk/wit-0.1",
        with: {
            "blobsync:plugin/types": super::hook::blobsync::plugin::types,
            "blobsync:plugin/host": super::hook::blobsync::plugin::host,
        },
    });
}

pub use hook::blobsync::plugin::{host, output, types};

use super::bindings::types as v2;
use super::entry::Entry;

/// The 0.1 record of an entry (every field, strings copied).
pub(crate) fn entry(e: &Entry) -> types::Entry {
    types::Entry {
        path: e.path.clone(),
        size: e.size,
        mtime_ns: e.mtime_ns,
        md5: e.md5.map(|m| m.to_vec()),
        is_dir: e.is_dir,
        endpoint: match e.endpoint {
            v2::EndpointKind::Local => types::EndpointKind::Local,
            v2::EndpointKind::AzureBlob => types::EndpointKind::AzureBlob,
        },
        metadata: e.metadata.clone(),
    }
}

pub(crate) fn side(s: v2::Side) -> types::Side {
    match s {
        v2::Side::Source => types::Side::Source,
        v2::Side::Destination => types::Side::Destination,
    }
}

/// A 0.1 verdict as a 0.2 one: `None` includes, `Some(reason)` excludes.
pub(crate) fn verdict(v: types::Verdict) -> Option<String> {
    (!v.included).then_some(v.reason)
}

pub(crate) fn decision(d: types::Decision) -> v2::Decision {
    v2::Decision {
        action: match d.action {
            types::Action::Transfer => v2::Action::Transfer,
            types::Action::Skip => v2::Action::Skip,
        },
        reason: Some(d.reason),
    }
}

pub(crate) fn event(e: &v2::Event) -> types::Event {
    types::Event {
        path: e.path.clone(),
        action: match e.action {
            v2::EventAction::Upload => types::EventAction::Upload,
            v2::EventAction::Download => types::EventAction::Download,
            v2::EventAction::Delete => types::EventAction::Delete,
        },
        bytes: e.bytes,
        outcome: match e.outcome {
            v2::Outcome::Success => types::Outcome::Success,
            v2::Outcome::Failure => types::Outcome::Failure,
        },
        reason: e.reason.clone(),
        error: e.error.clone(),
        md5: e.md5.clone(),
        time_ms: e.time_ms,
    }
}

pub(crate) fn summary(s: &v2::Summary) -> types::Summary {
    types::Summary {
        job_id: s.job_id.clone(),
        source: s.source.clone(),
        destination: s.destination.clone(),
        dry_run: s.dry_run,
        status: match s.status {
            v2::RunStatus::Completed => types::RunStatus::Completed,
            v2::RunStatus::CompletedWithErrors => types::RunStatus::CompletedWithErrors,
            v2::RunStatus::Failed => types::RunStatus::Failed,
            v2::RunStatus::Cancelled => types::RunStatus::Cancelled,
        },
        source_files: s.source_files,
        destination_files: s.destination_files,
        copied: s.copied,
        skipped: s.skipped,
        deleted: s.deleted,
        failed: s.failed,
        bytes_transferred: s.bytes_transferred,
        elapsed_ms: s.elapsed_ms,
    }
}

pub(crate) fn level(l: host::Level) -> super::bindings::host::Level {
    match l {
        host::Level::Error => super::bindings::host::Level::Error,
        host::Level::Warn => super::bindings::host::Level::Warn,
        host::Level::Info => super::bindings::host::Level::Info,
        host::Level::Debug => super::bindings::host::Level::Debug,
        host::Level::Trace => super::bindings::host::Level::Trace,
    }
}
