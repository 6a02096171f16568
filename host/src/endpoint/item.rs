//! What a listing yields: files (or blobs), directories, skipped entries and per-path
//! errors.

use std::os::unix::fs::MetadataExt;

use super::{BlobProps, EndpointError, Tier};

/// The metadata key holding the source file's modification time (RFC 3339, ns). The
/// same key and format as rclone, so either tool reads the other's times.
pub const MTIME_KEY: &str = "mtime";

/// The metadata key marking a folder stub: a zero-length blob that stands for a folder
/// (written by ADLS Gen2, azcopy and Storage Explorer), value `true`.
pub const FOLDER_KEY: &str = "hdi_isfolder";

/// One listed file or blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Path relative to the synced root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// The endpoint's own modification time in ns (a blob's Last-Modified).
    pub mtime_ns: i64,
    /// The content MD5, when the endpoint knows it (a blob's Content-MD5), or once hashed.
    pub md5: Option<[u8; 16]>,
    /// Blob metadata (keys lower-case, sorted); empty for local files.
    pub metadata: Vec<(String, String)>,
    /// A blob's ETag: reads, overwrites and deletes are conditional on it.
    pub etag: Option<Box<str>>,
    /// A local file's identity, for the MD5 cache.
    pub identity: Option<FileIdentity>,
    /// A blob's properties (content headers, tier, tags); `None` for local files.
    pub blob: Option<Box<BlobProps>>,
    /// The blob name the listing gave (below the synced prefix), when it is not the name
    /// the path encodes to — a name another tool stored (a raw `file.`): reads,
    /// overwrites and deletes address the blob by it.
    pub listed_as: Option<Box<str>>,
}

impl Item {
    /// A file with a path, size and time.
    pub fn new(path: impl Into<String>, size: u64, mtime_ns: i64) -> Item {
        Item {
            path: path.into(),
            size,
            mtime_ns,
            ..Item::default()
        }
    }

    /// The value of a metadata key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The source file's modification time stored in the metadata by an upload, if any:
    /// blobsync's and rclone's `mtime` key, else azcopy's `modtime` (ns, written with
    /// `--preserve-posix-properties`).
    pub fn stored_mtime_ns(&self) -> Option<i64> {
        self.meta(MTIME_KEY)
            .and_then(blobsync_plugin::parse_rfc3339_ns)
            .or_else(|| self.meta("modtime").and_then(|v| v.trim().parse().ok()))
    }

    /// True for a folder stub (`hdi_isfolder=true`).
    pub fn is_folder_stub(&self) -> bool {
        self.metadata.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(FOLDER_KEY) && v.trim().eq_ignore_ascii_case("true")
        })
    }

    /// The modification time a copy of this item should carry: the stored source time if
    /// there is one, else the endpoint's own.
    pub fn preserved_mtime_ns(&self) -> i64 {
        self.stored_mtime_ns().unwrap_or(self.mtime_ns)
    }
}

impl Item {
    /// True for a blob in the Archive tier (offline: it cannot be read).
    pub fn archived(&self) -> bool {
        self.blob
            .as_ref()
            .is_some_and(|b| b.tier == Some(Tier::Archive))
    }
}

/// What identifies one version of a local file besides its path, size and time: if any of
/// these change, a cached hash is stale. The change time catches rewrites that restore the
/// modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileIdentity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Status-change time (ns).
    pub ctime_ns: i64,
}

impl FileIdentity {
    /// The identity in `meta`.
    pub fn of(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime_ns: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A file's modification time in nanoseconds since the epoch.
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    nanos(meta.mtime(), meta.mtime_nsec())
}

fn nanos(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// A directory (a local folder, or a blob prefix), listed before what is below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// Path relative to the synced root, without a trailing `/`.
    pub path: String,
    /// Its modification time (0 for blob prefixes).
    pub mtime_ns: i64,
}

/// Why an entry was skipped by the lister itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// A symbolic link (not followed), or a link loop.
    Symlink,
    /// A socket, FIFO or device.
    Special,
    /// A name the other side cannot store (over the service's limits, or a stored name
    /// no path maps to). Reported, not passed to the merge: nothing can pair with it.
    Unsyncable,
    /// An archived source blob (offline until rehydrated).
    Archived,
}

/// One entry of a listing.
#[derive(Debug, Clone)]
pub enum Listed {
    /// A file or blob.
    File(Item),
    /// A directory; the consumer may skip what is below it.
    Dir(Dir),
    /// An entry the lister skipped (its counterpart on the other side is left alone).
    Skipped {
        /// Relative path (a trailing `/` for a directory).
        path: String,
        /// Why.
        reason: String,
        /// What kind of entry.
        kind: SkipKind,
    },
    /// A path that could not be listed (a trailing `/` for a directory that could not be
    /// read). Counted as a failure; no deletes happen in a run with listing errors.
    Error {
        /// Relative path.
        path: String,
        /// What went wrong.
        error: EndpointError,
    },
}

impl Listed {
    /// The merge key: the relative path, with a trailing `/` for directories.
    pub fn key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Listed::File(item) => item.path.as_str().into(),
            Listed::Dir(dir) => format!("{}/", dir.path).into(),
            Listed::Skipped { path, .. } | Listed::Error { path, .. } => path.as_str().into(),
        }
    }
}
