//! Plugins built against `blobsync:plugin@0.1.x` keep loading: their worlds' bindings
//! (generated from the frozen `plugin-sdk/wit-0.1` by the macro that generates 0.2's) and
//! the conversions between the 0.1 records and the host's types.
//!
//! A 0.1 plugin receives each entry as a record with every field (path, MD5, metadata),
//! as it always did; only 0.2 plugins get column batches with the fields they ask for.

#![allow(missing_docs, clippy::all)]

super::bindings::shared_worlds!("../plugin-sdk/wit-0.1": filter = "filter", comparator = "comparator");

use super::bindings::host as v2_host;
use super::bindings::types as v2;
use super::entry::{Entry, Pair};

/// `From` between the 0.1 and 0.2 copies of an enum whose cases are the same.
macro_rules! same_cases {
    ($from:ident :: $enum:ident => $to:ident: $($case:ident),+) => {
        impl From<$from::$enum> for $to::$enum {
            fn from(value: $from::$enum) -> Self {
                match value {
                    $($from::$enum::$case => $to::$enum::$case,)+
                }
            }
        }
    };
}

same_cases!(v2::EndpointKind => types: Local, AzureBlob);
same_cases!(v2::Side => types: Source, Destination);
same_cases!(types::Action => v2: Transfer, Skip);
same_cases!(v2::EventAction => types: Upload, Download, Delete);
same_cases!(v2::Outcome => types: Success, Failure);
same_cases!(v2::RunStatus => types: Completed, CompletedWithErrors, Failed, Cancelled);
same_cases!(host::Level => v2_host: Error, Warn, Info, Debug, Trace);

/// The 0.1 record of an entry (every field, strings copied).
pub(crate) fn entry(e: &Entry) -> types::Entry {
    types::Entry {
        path: e.path.clone(),
        size: e.size,
        mtime_ns: e.mtime_ns,
        md5: e.md5.map(|m| m.to_vec()),
        is_dir: e.is_dir,
        endpoint: e.endpoint.into(),
        metadata: e.metadata.clone(),
    }
}

pub(crate) fn pair(p: &Pair) -> types::Pair {
    types::Pair {
        source: entry(&p.source),
        destination: entry(&p.destination),
    }
}

/// A 0.1 verdict as a 0.2 one: `None` includes, `Some(reason)` excludes.
pub(crate) fn verdict(v: types::Verdict) -> Option<String> {
    (!v.included).then_some(v.reason)
}

pub(crate) fn decision(d: types::Decision) -> v2::Decision {
    v2::Decision {
        action: d.action.into(),
        reason: Some(d.reason),
    }
}

pub(crate) fn event(e: &v2::Event) -> types::Event {
    types::Event {
        path: e.path.clone(),
        action: e.action.into(),
        bytes: e.bytes,
        outcome: e.outcome.into(),
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
        status: s.status.into(),
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
