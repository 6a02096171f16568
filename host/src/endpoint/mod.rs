//! The two sides of a sync. An [`Endpoint`] lists itself (sorted, filtered, streamed),
//! reads ranges of an entry, writes an entry in blocks that become visible only on commit,
//! and deletes. The local file system and Azure Blob Storage implement it; one
//! conformance suite (`tests/all/conformance.rs`) runs against both.

pub mod azure;
pub mod local;

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use bytes::Bytes;

use crate::plugin::{EndpointKind, Entry, Exclusion, FilterChain, PluginError, Side};

/// One listed file or blob, with what only the host needs.
#[derive(Debug, Clone)]
pub struct Item {
    /// What plugins see.
    pub entry: Entry,
    /// A blob's ETag: downloads and deletes are conditional on it.
    pub etag: Option<Box<str>>,
    /// A local file's identity (device, inode, ctime in ns): the MD5 cache's key.
    pub identity: Option<(u64, u64, i64)>,
}

/// What a listing produces, in path byte order.
#[derive(Debug)]
pub enum Listed {
    /// A file or blob that passed every filter.
    Item(Item),
    /// An entry a filter excluded. For a directory, `path` ends with `/` and everything
    /// below it is excluded on both sides.
    Excluded {
        /// Relative path (with a trailing `/` for a directory).
        path: String,
        /// Which filter, and why.
        exclusion: Exclusion,
    },
    /// An entry skipped by the lister itself (a symbolic link, a special file). Like an
    /// exclusion, its counterpart on the other side is neither copied nor deleted.
    Skipped {
        /// Relative path (with a trailing `/` for a directory).
        path: String,
        /// Why it was skipped.
        reason: String,
        /// True for symbolic links (they are counted separately).
        symlink: bool,
    },
    /// A path that could not be listed. Counted as a failure; no deletes happen in a run
    /// with listing errors.
    Error {
        /// Relative path (with a trailing `/` for a directory that could not be read).
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Listed {
    /// The merge key: the relative path, with a trailing `/` for directory markers.
    pub fn key(&self) -> &str {
        match self {
            Listed::Item(item) => &item.entry.path,
            Listed::Excluded { path, .. }
            | Listed::Skipped { path, .. }
            | Listed::Error { path, .. } => path,
        }
    }
}

/// A batch of listed entries, or the end of the listing.
#[derive(Debug)]
pub enum ListMessage {
    /// Entries, in order, continuing the previous batch.
    Batch(Vec<Listed>),
    /// The listing could not go on (the root is missing, authorisation failed…). Nothing
    /// follows. Fatal to the run.
    Fatal(EndpointError),
    /// The listing completed.
    Done,
}

/// Collects listed entries into batches for the pipeline.
pub struct ListSink {
    tx: SyncSender<ListMessage>,
    batch: Vec<Listed>,
}

/// Entries per batch: large enough to amortise plugin calls and channel hand-offs.
pub const LIST_BATCH: usize = 1024;

impl ListSink {
    /// A sink sending to `tx`.
    pub fn new(tx: SyncSender<ListMessage>) -> Self {
        ListSink {
            tx,
            batch: Vec::with_capacity(LIST_BATCH),
        }
    }

    /// Adds one entry; returns false when the receiver is gone (the run is stopping).
    pub fn push(&mut self, listed: Listed) -> bool {
        self.batch.push(listed);
        if self.batch.len() >= LIST_BATCH {
            return self.flush();
        }
        true
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(LIST_BATCH));
        self.tx.send(ListMessage::Batch(batch)).is_ok()
    }

    /// Ends the listing, successfully or not.
    pub fn finish(mut self, result: Result<(), EndpointError>) {
        self.flush();
        let _ = self.tx.send(match result {
            Ok(()) => ListMessage::Done,
            Err(e) => ListMessage::Fatal(e),
        });
    }
}

/// The class of an endpoint failure; it decides the exit code and whether a retry helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The credentials were refused or lack a permission (exit code 3).
    Auth,
    /// The thing does not exist.
    NotFound,
    /// The source changed while it was being read.
    Changed,
    /// A usage problem the user must fix (a bad path, a name collision).
    Usage,
    /// A filter or comparator plugin failed (fail-closed).
    Plugin,
    /// Anything else (I/O, network, service errors).
    Other,
}

/// A failure at an endpoint, with a message that names the path or URL (SAS redacted).
#[derive(Debug, Clone)]
pub struct EndpointError {
    /// The class.
    pub class: ErrorClass,
    /// The message shown to the user.
    pub message: String,
}

impl EndpointError {
    /// A new error.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        EndpointError {
            class,
            message: azure::redact(&message.into()),
        }
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EndpointError {}

impl From<PluginError> for EndpointError {
    fn from(e: PluginError) -> Self {
        EndpointError::new(ErrorClass::Plugin, e.to_string())
    }
}

/// What an endpoint can do.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Local file system or blob storage.
    pub kind: EndpointKind,
    /// Whether listings carry a content MD5 (blobs: Content-MD5).
    pub listed_md5: bool,
}

/// Facts recorded when a written entry is committed.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// MD5 of the whole content, computed while it was read; `None` when it must not be
    /// stored (`--put-md5=false`).
    pub md5: Option<[u8; 16]>,
    /// The source's modification time (ns), stored (blob metadata) or set (local mtime).
    pub mtime_ns: i64,
    /// The source's blob metadata, if the source is a blob.
    pub metadata: Vec<(String, String)>,
}

/// Reads one entry.
#[async_trait::async_trait]
pub trait Reader: Send + Sync {
    /// Reads `len` bytes at `offset`.
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError>;
    /// Confirms the entry did not change while it was read.
    async fn finish(&self) -> Result<(), EndpointError>;
}

/// Writes one entry; nothing is visible at the destination before [`Writer::commit`].
#[async_trait::async_trait]
pub trait Writer: Send + Sync {
    /// Writes block `index` (at `offset`). Blocks may be written concurrently and in any
    /// order.
    async fn write_block(&self, index: u64, offset: u64, data: Bytes) -> Result<(), EndpointError>;
    /// Makes the entry visible, all at once.
    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError>;
    /// Discards what was written.
    async fn abort(self: Box<Self>);
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

    /// Lists the endpoint on a new thread, in path byte order, applying `filters` (which
    /// may prune directories) and sending batches to `sink`. A non-empty `scope` limits
    /// the listing to that relative path and what is below it (watch mode); the caller
    /// has checked that no directory above it is excluded.
    fn start_listing(
        self: Arc<Self>,
        side: Side,
        scope: &str,
        filters: FilterChain,
        sink: ListSink,
        runtime: tokio::runtime::Handle,
    ) -> std::io::Result<std::thread::JoinHandle<()>>;

    /// Opens an entry for reading; fails with [`ErrorClass::Changed`] if it no longer
    /// matches its listing.
    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError>;

    /// Prepares to receive writes (creates a missing container). Called once, before the
    /// first write; never in a dry run.
    async fn prepare_for_writes(&self) -> Result<(), EndpointError>;

    /// Starts writing the entry at `path` of `size` bytes in blocks of `block_size`.
    async fn open_writer(
        &self,
        path: &str,
        size: u64,
        block_size: u64,
    ) -> Result<Box<dyn Writer>, EndpointError>;

    /// Deletes the entry at `path`, if it is still the listed version.
    async fn delete(&self, item: &DeleteTarget) -> Result<(), EndpointError>;
}

/// What a delete needs: the path and, for blobs, the listed ETag.
#[derive(Debug, Clone)]
pub struct DeleteTarget {
    /// Relative path.
    pub path: String,
    /// The listed ETag (the delete fails if the blob changed since).
    pub etag: Option<Box<str>>,
    /// Size, for messages and records (and, locally, to check the file is unchanged).
    pub size: u64,
    /// The listed modification time (local files: the delete fails if it changed).
    pub mtime_ns: i64,
}
