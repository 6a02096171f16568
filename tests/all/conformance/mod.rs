//! One conformance suite for every `Endpoint`: the local file system, the in-memory
//! endpoint — bare, and `decorated` in the `Budgeted` and `Throttled` wrappers a session
//! puts around every endpoint — and Azure Blob Storage on Azurite. One function per
//! behaviour, run against each; together they call every method of the trait and meet
//! every class of `EndpointError`. Where an endpoint does not do something, the test
//! asserts its documented answer (`None`, a usage error).
//!
//! | method | behaviours |
//! |---|---|
//! | `capabilities`, `describe`, `describe_path`, `credential`, `probe`, `refuses` | `describing.rs` |
//! | `list`, `Lister::next_batch`, `Lister::skip` | `listing.rs` |
//! | `open_reader`, `Reader::read`, `Reader::finish` | `reading.rs` |
//! | `prepare_for_writes`, `check_writable`, `finish_writes`, `open_writer`, `Writer::{write_block, resumed, commit, abort}`, `holds` | `writing.rs` |
//! | `copy_source`, `open_copy_writer`, `CopyWriter::{copy_block, commit}` | `copying.rs` |
//! | `delete`, `move_to`, `update` | `changing.rs` |
//!
//! | error class | local | memory | Azure |
//! |---|---|---|---|
//! | `Auth` | — (no credential) | — (no credential) | a SAS without a permission, a wrong key, a container a SAS cannot create |
//! | `NotFound` | a missing folder | — (a location always exists) | a missing container |
//! | `Changed` | reads of an entry changed or gone, overwrites, deletes, moves of a changed one | the same, updates | the same, updates, a copied source |
//! | `Usage` | a file where a folder must be, a name no file can have | `move_to` | `move_to` |
//! | `Corrupt` | never: no endpoint judges a stored checksum (the copy does) | never | never |
//! | `ServerCopyUnavailable` | — (no server-side copies) | — | a source in another Azurite |
//! | `Link` | a link in the way of a write | — (no links) | — |
//! | `Collision` | a name a case-insensitive folder (exFAT) holds as another | — (every name distinct) | — |
//! | `Other` | a commit with a block never written | the same | the same |
//!
//! (`errors.rs` holds one test per class; the other files meet them along the way.)

mod changing;
mod copying;
mod describing;
mod errors;
mod listing;
mod reading;
mod writing;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use blobsync::endpoint::azure::{
    AuthOptions, AzureEndpoint, BlobLocation, HttpSettings, resolve_auth, transport,
};
use blobsync::endpoint::{
    Budgeted, BufferBudget, CommitInfo, Endpoint, EndpointError, EndpointKind, Item, ListOrder,
    ListRequest, Listed, LocalEndpoint, MemoryEndpoint, RateLimiter, Throttled, Version,
    WriteShape, WriteTarget,
};
use blobsync_tests::*;

use changing::*;
use copying::*;
use describing::*;
use errors::*;
use listing::*;
use reading::*;
use writing::*;

/// A modification time with nanoseconds.
pub(super) const T: i64 = 1_700_000_000_123_456_789;

/// Which endpoint a fixture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Local,
    Memory,
    /// The in-memory endpoint in `Budgeted` and `Throttled`, as a session wraps it.
    Decorated,
    Azure,
}

/// A fresh endpoint on a location that does not exist yet, and the runtime it runs on.
pub(super) struct Fixture {
    pub(super) backend: Backend,
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) endpoint: Arc<dyn Endpoint>,
    /// The local folder (`Local`).
    pub(super) root: Option<PathBuf>,
    /// The container (`Azure`).
    pub(super) container: Option<String>,
    pub(super) _dir: Option<tempfile::TempDir>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn local() -> Fixture {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    Fixture {
        backend: Backend::Local,
        rt: runtime(),
        endpoint: Arc::new(LocalEndpoint::new(root.clone(), false, true)),
        root: Some(root),
        container: None,
        _dir: Some(d),
    }
}

fn memory() -> Fixture {
    Fixture {
        backend: Backend::Memory,
        rt: runtime(),
        endpoint: Arc::new(MemoryEndpoint::new(EndpointKind::Blob)),
        root: None,
        container: None,
        _dir: None,
    }
}

fn decorated() -> Fixture {
    // A cap and a budget no test comes near: the decorators must change nothing else.
    let throttled = Throttled::new(
        MemoryEndpoint::new(EndpointKind::Blob),
        Arc::new(RateLimiter::new(100_000.0)),
    );
    Fixture {
        backend: Backend::Decorated,
        endpoint: Arc::new(Budgeted::new(throttled, BufferBudget::new(64 << 20))),
        ..memory()
    }
}

fn azure() -> Fixture {
    let container = unique_container("conformance");
    let rt = runtime();
    let endpoint = azure_endpoint(&rt, &azurite().url(&container), &AuthOptions::default());
    Fixture {
        backend: Backend::Azure,
        rt,
        endpoint,
        root: None,
        container: Some(container),
        _dir: None,
    }
}

/// An endpoint for the container at `url`, authorised as `options` say (by default the
/// emulator's development key, chosen automatically for a loopback account; a SAS in the
/// URL when there is one).
pub(super) fn azure_endpoint(
    rt: &tokio::runtime::Runtime,
    url: &str,
    options: &AuthOptions,
) -> Arc<dyn Endpoint> {
    let location = BlobLocation::parse(url).unwrap();
    rt.block_on(async {
        let http = transport(&HttpSettings {
            concurrency: 4,
            ..Default::default()
        })
        .unwrap();
        let auth = resolve_auth(&location, options, &http).unwrap();
        Arc::new(AzureEndpoint::new(location, auth, &http).unwrap()) as Arc<dyn Endpoint>
    })
}

/// A second Azurite, whose service cannot read the first one's blobs.
pub(super) fn other_azurite() -> &'static Azurite {
    static OTHER: OnceLock<Azurite> = OnceLock::new();
    OTHER.get_or_init(|| start_azurite(&[]))
}

/// What a listing yielded.
#[derive(Default)]
pub(super) struct Listing {
    pub(super) files: Vec<Item>,
    /// Every key in the order listed (folders with a trailing `/`).
    pub(super) keys: Vec<String>,
    /// The entries skipped, with their kind.
    pub(super) skipped: Vec<(String, blobsync::endpoint::SkipKind)>,
}

impl Listing {
    pub(super) fn paths(&self) -> Vec<&str> {
        self.files.iter().map(|i| i.path.as_str()).collect()
    }
}

/// How `data` is written in blocks of `block` bytes.
pub(super) fn shape_of(len: usize, block: u64) -> WriteShape {
    if len as u64 <= block {
        WriteShape::Single
    } else {
        WriteShape::Blocks {
            size: block,
            count: (len as u64).div_ceil(block),
        }
    }
}

/// A new entry at `path` of `size` bytes in `shape`.
pub(super) fn target(path: &str, size: u64, shape: WriteShape) -> WriteTarget {
    WriteTarget {
        path: path.into(),
        size,
        shape,
        replaces: None,
        resume_tag: None,
    }
}

/// The commit of `data` with the time `mtime_ns`.
pub(super) fn info(data: &[u8], mtime_ns: i64) -> CommitInfo {
    CommitInfo {
        md5: md5_of(data),
        store_md5: true,
        mtime_ns,
        metadata: vec![],
        settings: Default::default(),
    }
}

pub(super) fn md5_of(data: &[u8]) -> [u8; 16] {
    <md5::Md5 as md5::Digest>::digest(data).into()
}

/// Lists `endpoint` (or `scope`) in `order`, skipping the folders named in `skip`.
pub(super) fn listing_of(
    endpoint: &dyn Endpoint,
    order: ListOrder,
    scope: Option<&str>,
    skip: &[&str],
) -> Result<Listing, EndpointError> {
    let request = ListRequest {
        scopes: scope.map(String::from).into_iter().collect(),
        order,
        ..Default::default()
    };
    let mut lister = endpoint.list(&request)?;
    let mut out = Listing::default();
    while let Some(batch) = lister.next_batch() {
        for listed in batch? {
            out.keys.push(listed.key().into_owned());
            match listed {
                Listed::File(item) => out.files.push(item),
                Listed::Dir(dir) => {
                    if skip.contains(&dir.path.as_str()) {
                        lister.skip(&dir.path);
                    }
                }
                Listed::Skipped { path, kind, .. } => out.skipped.push((path, kind)),
                Listed::Error { path, error } => panic!("cannot list {path}: {error}"),
            }
        }
    }
    Ok(out)
}

/// Writes `path` at `endpoint` in blocks of `block` bytes if it is still `replaces`.
pub(super) fn write_to(
    rt: &tokio::runtime::Runtime,
    endpoint: &dyn Endpoint,
    path: &str,
    data: &[u8],
    block: u64,
    mtime_ns: i64,
    replaces: Option<Version>,
) -> Result<(), EndpointError> {
    let shape = shape_of(data.len(), block);
    rt.block_on(async {
        endpoint.prepare_for_writes().await?;
        let writer = endpoint
            .open_writer(&WriteTarget {
                replaces,
                ..target(path, data.len() as u64, shape)
            })
            .await?;
        for i in 0..shape.blocks() {
            let start = ((i * block) as usize).min(data.len());
            let end = (start + block as usize).min(data.len());
            let block = bytes::Bytes::copy_from_slice(&data[start..end]);
            writer.write_block(i, start as u64, block).await?;
        }
        writer.commit(info(data, mtime_ns)).await
    })
}

impl Fixture {
    pub(super) fn is_blob(&self) -> bool {
        self.endpoint.capabilities().kind == EndpointKind::Blob
    }

    pub(super) fn order(&self) -> ListOrder {
        self.endpoint
            .capabilities()
            .order
            .unwrap_or(ListOrder::UTF16)
    }

    /// Lists everything (or `scope`), skipping the folders named in `skip`.
    pub(super) fn list(
        &self,
        scope: Option<&str>,
        skip: &[&str],
    ) -> Result<Listing, EndpointError> {
        self.list_in(self.order(), scope, skip)
    }

    /// Lists as [`Fixture::list`] does, asking for `order`.
    pub(super) fn list_in(
        &self,
        order: ListOrder,
        scope: Option<&str>,
        skip: &[&str],
    ) -> Result<Listing, EndpointError> {
        listing_of(&*self.endpoint, order, scope, skip)
    }

    /// `path` as it is listed now.
    pub(super) fn item(&self, path: &str) -> Item {
        self.list(Some(path), &[])
            .unwrap()
            .files
            .into_iter()
            .find(|i| i.path == path)
            .unwrap_or_else(|| panic!("{path} is not listed"))
    }

    /// The listed version of `path`, if it is there.
    pub(super) fn version(&self, path: &str) -> Option<Version> {
        self.list(Some(path), &[])
            .ok()?
            .files
            .into_iter()
            .find(|i| i.path == path)
            .map(|i| Version::of(&i))
    }

    /// Writes `path`, replacing what is there now.
    pub(super) fn put(&self, path: &str, data: &[u8], block: u64, mtime_ns: i64) {
        let replaces = self.version(path);
        self.write(path, data, block, mtime_ns, replaces).unwrap();
    }

    /// Writes `path` in blocks of `block` bytes if it is still `replaces`.
    pub(super) fn write(
        &self,
        path: &str,
        data: &[u8],
        block: u64,
        mtime_ns: i64,
        replaces: Option<Version>,
    ) -> Result<(), EndpointError> {
        let endpoint = &*self.endpoint;
        write_to(&self.rt, endpoint, path, data, block, mtime_ns, replaces)
    }

    /// The whole content of the listed `item`, read in one range and confirmed.
    pub(super) fn read_all(&self, item: &Item) -> Result<Vec<u8>, EndpointError> {
        self.rt.block_on(async {
            let reader = self.endpoint.open_reader(item).await?;
            let data = reader.read(0, item.size as usize).await?;
            reader.finish().await?;
            Ok(data.to_vec())
        })
    }
}

macro_rules! conformance {
    ($module:ident = $backend:ident: $($behaviour:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                fn $behaviour() {
                    super::$behaviour(super::$backend());
                }
            )*
        }
    };
}

macro_rules! every_backend {
    ($($backend:ident),*) => {
        $(conformance!($backend = $backend:
            // describing.rs
            capabilities_declare_what_the_endpoint_does,
            descriptions_name_the_location_and_each_entry,
            a_credential_is_named_where_one_is_used,
            probing_keeps_the_capabilities_true,
            refusals_name_what_cannot_be_stored,
            // listing.rs
            an_empty_location_lists_nothing,
            an_uncommitted_write_is_not_listed,
            writes_list_in_order_with_sizes_times_and_hashes,
            folders_come_before_their_contents_and_can_be_skipped,
            scoped_listings_hold_the_path_and_what_is_below_it,
            names_beyond_ascii_list_in_the_declared_order,
            // reading.rs
            reads_return_any_range,
            a_read_of_an_entry_changed_since_it_was_listed_fails_as_changed,
            a_read_of_an_entry_gone_since_it_was_listed_fails_as_changed,
            a_change_while_reading_never_passes_for_the_listed_version,
            // writing.rs
            preparing_makes_the_location_once_and_for_all,
            a_writability_check_writes_nothing,
            finishing_the_writes_leaves_no_temporary_files,
            an_overwrite_replaces_only_the_listed_version,
            commits_carry_the_time_and_what_a_blob_keeps,
            an_aborted_write_leaves_nothing,
            a_write_cut_short_is_resumed_where_the_endpoint_can,
            holds_tells_whether_a_commit_landed,
            // copying.rs
            a_copy_source_is_offered_only_by_a_service,
            a_server_side_copy_is_made_only_where_a_service_can_read_the_source,
            // changing.rs
            deletes_only_the_listed_version,
            an_entry_written_again_the_same_is_not_the_listed_version,
            moves_only_the_listed_version_where_entries_can_move,
            updates_change_only_the_listed_blob,
            a_lock_is_held_by_one_run_at_a_time_where_locks_are_kept,
            own_blobs_are_kept_apart_from_the_data,
            // errors.rs
            refused_credentials_are_auth_errors,
            a_missing_location_is_not_found,
            what_the_user_must_fix_is_a_usage_error,
            a_stored_checksum_is_never_judged_by_the_endpoint,
            a_copy_no_service_can_make_is_server_copy_unavailable,
            a_commit_missing_a_block_is_another_error,
        );)*
    };
}

every_backend!(local, memory, decorated, azure);

// Links and names a folder does not tell apart exist only in a local folder.
conformance!(local_only = local:
    a_link_in_the_way_is_a_link_error,
    a_name_the_folder_holds_as_another_is_a_collision,
);
