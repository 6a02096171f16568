//! The pipeline against endpoints that fail on cue ([`Faulty`] around the in-memory
//! endpoint): what a run does about a path it cannot list, a listing refused, a delete
//! or a commit that fails, a download whose bytes do not match their MD5 — asserted on
//! the `RunOutcome` and on what the destination holds.

use std::sync::Arc;

use super::observer::Status;
use super::testing::{run_once, session_of, upload_config};
use super::{DeleteMode, Direction, Location, SyncConfig};
use crate::endpoint::azure::BlobLocation;
use crate::endpoint::faulty::{Fault, Faulty, Op};
use crate::endpoint::{Endpoint, EndpointKind, ErrorClass, MemoryEndpoint};

const T: i64 = 1_700_000_000_000_000_000;

/// A source with `a.txt` and `b.txt`, and a destination with an older `a.txt`, `stale.txt`
/// and `other.txt` (not at the source either).
fn sides() -> (MemoryEndpoint, MemoryEndpoint) {
    let source = MemoryEndpoint::new(EndpointKind::Local);
    source.insert("a.txt", b"alpha, new", T + 10);
    source.insert("b.txt", b"beta", T + 10);
    let destination = MemoryEndpoint::new(EndpointKind::Blob);
    destination.insert("a.txt", b"alpha", T);
    destination.insert("stale.txt", b"stale", T);
    destination.insert("other.txt", b"other", T);
    (source, destination)
}

fn arc(e: impl Endpoint) -> Arc<dyn Endpoint> {
    Arc::new(e)
}

#[test]
fn a_path_the_destination_cannot_list_disables_every_delete() {
    let (source, destination) = sides();
    let faulty = Faulty::new(destination.clone()).fail(
        Op::List,
        "other.txt",
        Fault::Error(ErrorClass::Other),
        1,
    );
    let session = session_of(upload_config(DeleteMode::True), arc(source), arc(faulty));
    let (outcome, events) = run_once(&session);
    assert_eq!(
        outcome.status,
        Status::CompletedWithErrors,
        "{:?}",
        events.lines()
    );
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!((outcome.totals.copied, outcome.totals.deleted), (2, 0));
    assert_eq!(outcome.totals.failed, 1, "the listing error counts");
    assert!(events.has("nothing was deleted"), "{:?}", events.lines());
    assert_eq!(
        destination.paths(),
        ["a.txt", "b.txt", "other.txt", "stale.txt"]
    );
}

#[test]
fn a_refused_listing_fails_the_run_before_anything_is_written() {
    let (source, destination) = sides();
    let faulty =
        Faulty::new(destination.clone()).fail(Op::List, "", Fault::Error(ErrorClass::Auth), 1);
    let session = session_of(upload_config(DeleteMode::True), arc(source), arc(faulty));
    let (outcome, events) = run_once(&session);
    assert_eq!(outcome.status, Status::Failed, "{:?}", events.lines());
    assert_eq!(outcome.exit_code(), 3, "an authorisation failure");
    assert_eq!((outcome.totals.copied, outcome.totals.deleted), (0, 0));
    assert_eq!(destination.get("a.txt").unwrap(), &b"alpha"[..]);
    assert_eq!(destination.paths(), ["a.txt", "other.txt", "stale.txt"]);
}

#[test]
fn a_failed_delete_is_one_failed_item_and_the_other_deletes_go_on() {
    let (source, destination) = sides();
    let faulty = Faulty::new(destination.clone()).fail(
        Op::Delete,
        "stale.txt",
        Fault::Error(ErrorClass::Other),
        1,
    );
    let session = session_of(upload_config(DeleteMode::True), arc(source), arc(faulty));
    let (outcome, events) = run_once(&session);
    assert_eq!(
        outcome.status,
        Status::CompletedWithErrors,
        "{:?}",
        events.lines()
    );
    assert_eq!(
        (outcome.totals.deleted, outcome.totals.failed),
        (1, 1),
        "{:?}",
        events.lines()
    );
    assert!(
        events.has("done delete stale.txt Some("),
        "{:?}",
        events.lines()
    );
    assert_eq!(destination.paths(), ["a.txt", "b.txt", "stale.txt"]);
}

#[test]
fn a_failed_commit_leaves_the_old_version_and_the_next_run_copies_it() {
    let (source, destination) = sides();
    let faulty = Faulty::new(destination.clone()).fail(
        Op::Commit,
        "a.txt",
        Fault::Error(ErrorClass::Other),
        1,
    );
    let session = session_of(upload_config(DeleteMode::False), arc(source), arc(faulty));
    let (first, events) = run_once(&session);
    assert_eq!(
        first.status,
        Status::CompletedWithErrors,
        "{:?}",
        events.lines()
    );
    assert_eq!((first.totals.copied, first.totals.failed), (1, 1));
    assert_eq!(
        destination.get("a.txt").unwrap(),
        &b"alpha"[..],
        "untouched"
    );
    let (second, events) = run_once(&session);
    assert_eq!(second.status, Status::Completed, "{:?}", events.lines());
    assert_eq!((second.totals.copied, second.totals.up_to_date), (1, 1));
    assert_eq!(destination.get("a.txt").unwrap(), &b"alpha, new"[..]);
}

/// A download from an in-memory container to an in-memory folder.
fn download_config() -> SyncConfig {
    let mut config = upload_config(DeleteMode::False);
    config.source =
        Location::Blob(BlobLocation::parse("http://127.0.0.1:1/devstoreaccount1/memory").unwrap());
    config.destination = Location::Local("/memory/destination".into());
    config.direction = Direction::Download;
    config
}

#[test]
fn a_download_whose_bytes_do_not_match_their_md5_is_never_committed() {
    let source = MemoryEndpoint::new(EndpointKind::Blob);
    source.insert("a.txt", b"alpha", T);
    source.insert("b.txt", b"beta", T);
    let destination = MemoryEndpoint::new(EndpointKind::Local);
    let faulty = Faulty::new(source).fail(Op::Read, "a.txt", Fault::Corrupt, usize::MAX);
    let session = session_of(download_config(), arc(faulty), arc(destination.clone()));
    let (outcome, events) = run_once(&session);
    assert_eq!(
        outcome.status,
        Status::CompletedWithErrors,
        "{:?}",
        events.lines()
    );
    assert_eq!((outcome.totals.copied, outcome.totals.failed), (1, 1));
    assert_eq!(destination.paths(), ["b.txt"], "a.txt never landed");
}

#[test]
fn a_download_corrupted_once_on_its_way_is_read_again_and_committed_whole() {
    let source = MemoryEndpoint::new(EndpointKind::Blob);
    source.insert("a.txt", b"alpha", T);
    let destination = MemoryEndpoint::new(EndpointKind::Local);
    let faulty = Faulty::new(source).fail(Op::Read, "a.txt", Fault::Corrupt, 1);
    let session = session_of(download_config(), arc(faulty), arc(destination.clone()));
    let (outcome, events) = run_once(&session);
    assert_eq!(outcome.status, Status::Completed, "{:?}", events.lines());
    assert_eq!(destination.get("a.txt").unwrap(), &b"alpha"[..]);
}

#[test]
fn a_source_that_reads_short_is_never_committed_truncated() {
    let (source, destination) = sides();
    let faulty = Faulty::new(source).fail(Op::Read, "a.txt", Fault::ShortRead, usize::MAX);
    let session = session_of(
        upload_config(DeleteMode::False),
        arc(faulty),
        arc(destination.clone()),
    );
    let (outcome, events) = run_once(&session);
    assert_eq!(
        outcome.status,
        Status::CompletedWithErrors,
        "{:?}",
        events.lines()
    );
    assert_eq!((outcome.totals.copied, outcome.totals.failed), (1, 1));
    assert_eq!(
        destination.get("a.txt").unwrap(),
        &b"alpha"[..],
        "the old version stays"
    );
    assert_eq!(destination.get("b.txt").unwrap(), &b"beta"[..]);
}
