//! The two sides of a sync. An [`Endpoint`] only moves bytes: it lists itself (an
//! ordered stream of files, directories and per-path errors, whose consumer may skip a
//! directory's subtree), reads ranges of an entry, writes an entry in blocks that become
//! visible only on commit, deletes, and declares what it can do. It knows nothing of
//! plugins, filters or runs.
//!
//! Implementations: the local file system ([`local`]), Azure Blob Storage ([`azure`]) and
//! an in-memory store for tests ([`memory`]). One conformance suite
//! (`tests/all/conformance/`) runs against all three — and against the in-memory one
//! inside the decorators — calling every method and meeting every [`ErrorClass`].
//!
//! Decorators wrap any endpoint, in object_store's manner: [`Budgeted`] keeps the blocks
//! read from it in memory within a budget (`--buffer-mb`), [`Throttled`] its reads to a
//! bandwidth cap (`--cap-mbps`); a session wraps each of its endpoints in the first, and
//! in the second when a cap is set, all sharing one budget and one limiter. `Faulty`
//! (tests only) fails on cue.

pub mod azure;
mod budgeted;
mod crc64;
mod error;
#[cfg(test)]
pub(crate) mod faulty;
mod item;
pub(crate) mod local;
pub(crate) mod memory;
pub(crate) mod order;
mod properties;
mod reads_through;
mod throttled;
mod virtual_dirs;

use bytes::Bytes;

pub use azure::AzureEndpoint;
pub use budgeted::{Budgeted, BufferBudget};
pub(crate) use crc64::crc64;
pub use error::{EndpointError, ErrorClass};
pub use item::{Dir, FOLDER_KEY, FileIdentity, Item, Listed, MTIME_KEY, SkipKind, mtime_ns};
pub use local::LocalEndpoint;
pub use memory::MemoryEndpoint;
pub use order::ListOrder;
pub use properties::{
    BlobProps, BlobSettings, BlobUpdate, ContentHeaders, RehydratePriority, SnapshotPolicy, Tier,
};
pub use reads_through::{ReadLimit, ReadsThrough};
pub use throttled::{RateLimiter, Throttled};

/// Where entries live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// A local file system.
    Local,
    /// Azure Blob Storage.
    Blob,
}

/// What an endpoint can do.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Local file system or blob storage.
    pub kind: EndpointKind,
    /// Whether listings carry a content MD5 (blobs: Content-MD5).
    pub listed_md5: bool,
    /// The order its listings come in, if it is fixed; `None` when it lists in whatever
    /// order [`ListRequest::order`] asks for.
    pub order: Option<ListOrder>,
    /// How precisely it keeps modification times, in ns (1: exact; 1,000,000,000: whole
    /// seconds). Times are compared at the coarser of the two sides' precisions.
    pub time_precision_ns: u64,
    /// The latest modification time it can keep, in ns (a file system whose times end in
    /// 2038 keeps later ones as its last second); `i64::MAX` when there is no limit.
    pub latest_time_ns: i64,
    /// Which names it does not tell apart (measured on a local folder).
    pub fold: NameFold,
    /// True when a file and a folder cannot share a name (a file system; a container
    /// holds a blob `x` beside blobs `x/…`).
    pub one_entry_per_name: bool,
}

/// Which names a destination does not tell apart: two source entries whose names fold
/// to the same key would land on one entry there (a collision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum NameFold {
    /// Every distinct name is a distinct entry.
    #[default]
    Exact = 0,
    /// Letter case is ignored (exFAT, FAT, NTFS, most macOS volumes).
    Case = 1,
    /// Unicode normalisation forms are the same name (macOS: NFC and NFD).
    Normalization = 2,
    /// Both.
    CaseAndNormalization = 3,
}

impl NameFold {
    /// The fold from its number (as stored in an atomic).
    pub fn from_u8(n: u8) -> NameFold {
        match n {
            1 => NameFold::Case,
            2 => NameFold::Normalization,
            3 => NameFold::CaseAndNormalization,
            _ => NameFold::Exact,
        }
    }

    /// The key two names share when the destination cannot tell them apart.
    pub fn key<'a>(self, name: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let normalized = match self {
            NameFold::Normalization | NameFold::CaseAndNormalization => {
                icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(name)
            }
            _ => Cow::Borrowed(name),
        };
        match self {
            NameFold::Case | NameFold::CaseAndNormalization
                if normalized.chars().any(char::is_uppercase) =>
            {
                Cow::Owned(normalized.to_lowercase())
            }
            _ => normalized,
        }
    }

    /// What the destination ignores, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            NameFold::Exact => "nothing",
            NameFold::Case => "letter case",
            NameFold::Normalization => "Unicode normalisation",
            NameFold::CaseAndNormalization => "letter case and Unicode normalisation",
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only these relative paths and what is below them (empty: everything), in listing
    /// order and none below another. The folders above each are listed first, so a
    /// consumer can skip them too.
    pub scopes: Vec<String>,
    /// The order to list in, for endpoints whose order is not fixed.
    pub order: ListOrder,
    /// Cancelled when the consumer stops: a listing waiting on the network (or retrying)
    /// ends at once.
    pub cancel: tokio_util::sync::CancellationToken,
    /// List blob index tags too (needs the `t` permission; only asked when a run sets tags).
    pub with_tags: bool,
}

/// A listing in progress, read by one consumer.
pub trait Lister: Send {
    /// The next entries, in order, or `None` at the end. A batch ends after each
    /// directory, so that the consumer can [`skip`](Lister::skip) it before anything below
    /// it is read. An `Err` ends the listing (the root is missing, authorisation failed).
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>>;

    /// Lists nothing below `dir`, a directory of the last batch.
    fn skip(&mut self, dir: &str);
}

/// How an entry is written: in one request, or in blocks committed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteShape {
    /// One block, written with a single request at commit.
    Single,
    /// `count` blocks of `size` bytes (the last one shorter), staged then committed.
    Blocks {
        /// Bytes per block.
        size: u64,
        /// How many.
        count: u64,
    },
}

impl WriteShape {
    /// The number of blocks a writer receives.
    pub fn blocks(self) -> u64 {
        match self {
            WriteShape::Single => 1,
            WriteShape::Blocks { count, .. } => count,
        }
    }
}

/// What is about to be written.
#[derive(Debug, Clone)]
pub struct WriteTarget {
    /// Relative path.
    pub path: String,
    /// Total size.
    pub size: u64,
    /// Single request or blocks.
    pub shape: WriteShape,
    /// The version the write replaces, as listed; `None` when nothing was there. The
    /// commit fails with [`ErrorClass::Changed`] if the destination no longer holds it, so
    /// a run never silently replaces what another writer put there after the listing.
    pub replaces: Option<Version>,
    /// What identifies the source version (a blob's ETag): a write of the same version
    /// that was cut short may be continued instead of started again.
    pub resume_tag: Option<String>,
}

/// Facts recorded when a written entry is committed.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// MD5 of the whole content, computed while it was read.
    pub md5: [u8; 16],
    /// Whether to store it (blobs: Content-MD5; `--put-md5=false` turns it off where the
    /// service does not compute one itself).
    pub store_md5: bool,
    /// The source's modification time (ns), stored (blob metadata) or set (local mtime).
    pub mtime_ns: i64,
    /// Blob metadata to keep from the source, besides the time.
    pub metadata: Vec<(String, String)>,
    /// Blobs: headers, tier and tags (a local folder has nowhere to keep them).
    pub settings: BlobSettings,
}

/// How a service reads an entry itself, for a server-side copy: its URL, authorised by a
/// SAS in it or by a bearer token sent beside it. It carries secrets and is never printed
/// (its `Debug` shows only the redacted location).
#[derive(Clone)]
pub struct CopySource {
    /// The entry's URL, with a SAS when one authorises reading it.
    pub url: String,
    /// `Bearer TOKEN`, for `x-ms-copy-source-authorization`, when a token authorises it.
    pub authorization: Option<String>,
    /// The listed version (ETag): the copy fails if the entry changed since.
    pub etag: Option<Box<str>>,
    /// The entry's location for messages (SAS redacted).
    pub described: String,
}

impl std::fmt::Debug for CopySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopySource")
            .field("described", &self.described)
            .finish_non_exhaustive()
    }
}

/// Writes one entry by having the destination's service read it from a [`CopySource`]
/// (no content passes through blobsync); nothing is visible before
/// [`CopyWriter::commit`]. A failure of class [`ErrorClass::ServerCopyUnavailable`] means
/// the copy must go through a [`Reader`] and a [`Writer`] instead.
#[async_trait::async_trait]
pub trait CopyWriter: Send + Sync {
    /// Has block `index` — `len` bytes at `offset` of the source — copied. Blocks may be
    /// copied concurrently and in any order.
    async fn copy_block(&self, index: u64, offset: u64, len: u64) -> Result<(), EndpointError>;
    /// Makes the entry visible, all at once.
    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError>;
    /// Copies the whole entry, `size` bytes in one block, and commits it — in one request
    /// where the service has one. Asked only when the content headers stay the source's.
    async fn copy_whole(self: Box<Self>, size: u64, info: CommitInfo) -> Result<(), EndpointError> {
        self.copy_block(0, 0, size).await?;
        self.commit(info).await
    }
}

/// Reads one entry.
#[async_trait::async_trait]
pub trait Reader: Send + Sync {
    /// Reads `len` bytes at `offset`. A blob with a Content-MD5 is read without checks of
    /// its own: the copy checks the whole against it, and reads again with
    /// [`Reader::read_checked`] where it does not match.
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError>;
    /// Reads `len` bytes at `offset`, every piece checked on its way (a blob: ranges of up
    /// to 4 MiB, each against the checksum the service sends, a bad one fetched again).
    /// By default the same as [`Reader::read`].
    async fn read_checked(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        self.read(offset, len).await
    }
    /// Confirms the entry did not change while it was read.
    async fn finish(&self) -> Result<(), EndpointError>;
}

/// Writes one entry; nothing is visible at the destination before [`Writer::commit`].
#[async_trait::async_trait]
pub trait Writer: Send + Sync {
    /// Writes block `index` (at `offset`). Blocks may be written concurrently and in any
    /// order.
    async fn write_block(&self, index: u64, offset: u64, data: Bytes) -> Result<(), EndpointError>;
    /// Block `index`, if an earlier attempt at this write (a killed run) left it intact;
    /// the caller then does not read it from the source or write it again.
    async fn resumed(&self, _index: u64) -> Result<Option<Bytes>, EndpointError> {
        Ok(None)
    }
    /// Makes the entry visible, all at once.
    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError>;
    /// Discards what was written.
    async fn abort(self: Box<Self>);
}

/// What identifies one listed version of an entry: a blob's ETag, a file's size and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The listed ETag (blobs).
    pub etag: Option<Box<str>>,
    /// Size.
    pub size: u64,
    /// The listed modification time (files: part of what identifies the version).
    pub mtime_ns: i64,
    /// The listed file's device and inode (local files): a file replaced by another of
    /// the same size and time since the listing is not the listed version.
    pub inode: Option<(u64, u64)>,
    /// The blob name the listing gave, when it differs from the path's encoding
    /// ([`Item::listed_as`]): the version is addressed by it.
    pub listed_as: Option<Box<str>>,
}

impl Version {
    /// The listed version of `item`.
    pub fn of(item: &Item) -> Version {
        Version {
            etag: item.etag.clone(),
            size: item.size,
            mtime_ns: item.mtime_ns,
            inode: item.identity.map(|i| (i.dev, i.ino)),
            listed_as: item.listed_as.clone(),
        }
    }
}

/// What a commit wrote, to check whether it landed when its answer was lost (the run
/// stopped while it waited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Relative path.
    pub path: String,
    /// The blob name the listing gave the entry it replaced, if another one.
    pub listed_as: Option<Box<str>>,
    /// Size.
    pub size: u64,
    /// MD5 of the content.
    pub md5: [u8; 16],
    /// The source's modification time, which the entry carries.
    pub mtime_ns: i64,
}

/// What a delete needs: the path and the version that was listed (the delete fails if the
/// entry changed since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTarget {
    /// Relative path.
    pub path: String,
    /// The listed version.
    pub version: Version,
}

impl DeleteTarget {
    /// The listed version of `item`.
    pub fn of(item: &Item) -> DeleteTarget {
        DeleteTarget {
            path: item.path.clone(),
            version: Version::of(item),
        }
    }
}

/// The reserved prefix at a container's root: never synced, listed as data or deleted.
pub const RESERVED_PREFIX: &str = ".blobsync/";

/// This machine's name, as locks name their holders.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".into())
}

/// A lock held on an endpoint until it is released (or, if the holder dies, until it
/// expires).
#[async_trait::async_trait]
pub trait HeldLock: Send + Sync {
    /// Gives the lock up.
    async fn release(self: Box<Self>);
}

/// What asking for a lock came to.
pub enum Lock {
    /// It is held until released.
    Held(Box<dyn HeldLock>),
    /// Another run holds it: who, as it said when it took it.
    Taken(String),
    /// The endpoint keeps no locks (a local folder: the local lock covers it).
    Unsupported,
}

/// One side of a sync.
#[async_trait::async_trait]
pub trait Endpoint: Send + Sync + 'static {
    /// What it can do.
    fn capabilities(&self) -> Capabilities;

    /// The location, for messages (SAS redacted).
    fn describe(&self) -> String;

    /// The location of one entry, for messages (SAS redacted).
    fn describe_path(&self, path: &str) -> String;

    /// The credential it uses, for messages (`SAS token in the URL`, `Shared Key for
    /// \`acct\` (the connection string)`, `Entra ID (managed identity)`); `None` when it
    /// uses none (a local folder).
    fn credential(&self) -> Option<String> {
        None
    }

    /// Learns what the endpoint is, once, before anything is listed (a blob account's
    /// namespace kind, which decides its listing order). Failures are not errors.
    async fn probe(&self) {}

    /// Why an entry of the other side cannot be stored here, if it cannot: a name over
    /// the service's limits ([`SkipKind::Unsyncable`]: reported once per run, not retried
    /// as a failure), or a kind of entry this side is not set up to keep (a symbolic link).
    fn refuses(&self, _item: &Item) -> Option<(SkipKind, String)> {
        None
    }

    /// Starts a listing. Blocking: call it, and read the lister, off the async runtime.
    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError>;

    /// Opens an entry for reading; reads fail with [`ErrorClass::Changed`] if it no longer
    /// matches its listing.
    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError>;

    /// Prepares to receive writes (creates a missing container or folder). Called once,
    /// before the first write; never in a dry run.
    async fn prepare_for_writes(&self) -> Result<(), EndpointError>;

    /// What a dry run can tell of [`Endpoint::prepare_for_writes`] without writing: an
    /// error when the writes would be refused (a missing container that the credential
    /// cannot create).
    async fn check_writable(&self) -> Result<(), EndpointError> {
        Ok(())
    }

    /// The run's writes are over: what was kept only while writing goes (an empty
    /// folder of temporary downloads). Never called in a dry run.
    async fn finish_writes(&self) {}

    /// Starts writing `target`.
    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError>;

    /// How another endpoint's service can read `item` itself, for a server-side copy;
    /// `None` when no service can (a local file).
    async fn copy_source(&self, _item: &Item) -> Result<Option<CopySource>, EndpointError> {
        Ok(None)
    }

    /// True if the entry holds what `written` describes: a commit whose answer was lost
    /// landed. Endpoints that cannot tell answer false.
    async fn holds(&self, _written: &Written) -> bool {
        false
    }

    /// Starts writing `target` as a server-side copy of `source`; `None` when this endpoint
    /// cannot copy that way (its writes then come through [`Endpoint::open_writer`]).
    async fn open_copy_writer(
        &self,
        _target: &WriteTarget,
        _source: &CopySource,
    ) -> Result<Option<Box<dyn CopyWriter>>, EndpointError> {
        Ok(None)
    }

    /// Deletes the entry, if it is still the listed version; one already gone is deleted.
    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError>;

    /// How many entries [`Endpoint::delete_many`] deletes to good effect at once (1: one
    /// by one).
    fn delete_batch_size(&self) -> usize {
        1
    }

    /// Deletes several entries, each as [`Endpoint::delete`] does; each one's result, in
    /// order. By default one by one; a container sends them in batches.
    async fn delete_many(&self, targets: &[DeleteTarget]) -> Vec<Result<(), EndpointError>> {
        let mut results = Vec::with_capacity(targets.len());
        for target in targets {
            results.push(self.delete(target).await);
        }
        results
    }

    /// Moves the listed version of an entry to `to` (a relative path) below
    /// `backup_root`, a folder on the same file system (`--backup-dir`), replacing what is
    /// there; fails with [`ErrorClass::Changed`] if the entry changed since it was listed.
    /// Endpoints that cannot move entries say so ([`ErrorClass::Usage`]); blobs are kept
    /// by a server-side copy instead.
    async fn move_to(
        &self,
        target: &DeleteTarget,
        backup_root: &std::path::Path,
        to: &str,
    ) -> Result<(), EndpointError> {
        Err(EndpointError::new(
            ErrorClass::Usage,
            format!(
                "{} cannot be moved to {}",
                self.describe_path(&target.path),
                backup_root.join(to).display()
            ),
        ))
    }

    /// Changes a blob's headers, metadata, tags or tier without rewriting its content
    /// (conditional on the listed ETag where the service allows).
    async fn update(&self, update: &BlobUpdate) -> Result<(), EndpointError> {
        Err(EndpointError::new(
            ErrorClass::Usage,
            format!(
                "{} cannot hold blob properties (headers, tier, metadata, tags)",
                self.describe_path(&update.path)
            ),
        ))
    }

    /// Takes the lock `name` (below [`RESERVED_PREFIX`]`locks/`), saying `holder` holds
    /// it, for runs on any machine that reach the same container.
    async fn lock(&self, _name: &str, _holder: &str) -> Result<Lock, EndpointError> {
        Ok(Lock::Unsupported)
    }

    /// Reads blobsync's own blob `name` (below [`RESERVED_PREFIX`] at the container's
    /// root, never listed as data) into `file`: its version's tag, or `None` if there is
    /// none. A local folder keeps no such blobs: [`ErrorClass::Usage`].
    async fn read_own(
        &self,
        _name: &str,
        _file: &std::path::Path,
    ) -> Result<Option<String>, EndpointError> {
        Err(keeps_no_own_blobs(&self.describe()))
    }

    /// Writes `file` as blobsync's own blob `name` if it is still the version `tag`
    /// (`None`: if there is none): the new tag. Another version there is
    /// [`ErrorClass::Changed`].
    async fn write_own(
        &self,
        _name: &str,
        _file: &std::path::Path,
        _tag: Option<&str>,
    ) -> Result<String, EndpointError> {
        Err(keeps_no_own_blobs(&self.describe()))
    }
}

fn keeps_no_own_blobs(location: &str) -> EndpointError {
    EndpointError::new(
        ErrorClass::Usage,
        format!("{location} is not a container: it cannot keep blobsync's own blobs"),
    )
}
