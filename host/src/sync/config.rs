//! A validated sync: everything a session needs, resolved once from flags and the
//! manifest. Nothing downstream reads flags.
//!
//! Every default is written once, here: the `Default` implementations hold them (or the
//! constants beside the types), and the command line's help and validation read them
//! from there.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::endpoint::azure::{AuthOptions, BlobLocation, RetrySettings, Timeouts};
use crate::endpoint::{RehydratePriority, SnapshotPolicy};
use crate::plugin::{PluginKind, PluginSet, PluginSpec};

/// One side of a sync, as given on the command line.
#[derive(Debug, Clone)]
pub enum Location {
    /// A local folder.
    Local(PathBuf),
    /// A container or a folder in one.
    Blob(BlobLocation),
}

impl Location {
    /// The location for messages and records (SAS redacted).
    pub fn display(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Blob(b) => b.to_string(),
        }
    }
}

/// Which way data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A local folder to a container.
    Upload,
    /// A container to a local folder.
    Download,
    /// A container to a container (the same account or another): copied server-side
    /// where the destination can read the source, otherwise streamed through blobsync.
    Copy,
}

impl Direction {
    /// The direction between two locations, if blobsync syncs it.
    pub fn between(source: &Location, destination: &Location) -> Result<Direction, String> {
        match (source, destination) {
            (Location::Local(_), Location::Blob(_)) => Ok(Direction::Upload),
            (Location::Blob(_), Location::Local(_)) => Ok(Direction::Download),
            (Location::Local(_), Location::Local(_)) => Err(
                "both arguments are local paths; one of them must be a blob URL \
                 (https://ACCOUNT.blob.core.windows.net/CONTAINER)"
                    .into(),
            ),
            (Location::Blob(_), Location::Blob(_)) => Ok(Direction::Copy),
        }
    }

    /// What a copy in this direction is called.
    pub fn action(self) -> super::Action {
        match self {
            Direction::Upload => super::Action::Upload,
            Direction::Download => super::Action::Download,
            Direction::Copy => super::Action::Copy,
        }
    }

    /// The side that is a local folder, if one is.
    pub fn local_side(self) -> Option<super::Side> {
        match self {
            Direction::Upload => Some(super::Side::Source),
            Direction::Download => Some(super::Side::Destination),
            Direction::Copy => None,
        }
    }
}

/// `--delete-destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeleteMode {
    /// Never delete.
    #[default]
    False,
    /// Delete destination entries that are not at the source.
    True,
    /// Ask before each delete (needs a terminal).
    Prompt,
}

/// What to do when a downloaded file's MD5 differs from the blob's Content-MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum CheckMd5 {
    /// Do not compare.
    NoCheck,
    /// Log a mismatch, keep the file.
    LogOnly,
    /// Fail on a mismatch; a blob without Content-MD5 passes.
    #[default]
    FailIfDifferent,
    /// Fail on a mismatch or when the blob has no Content-MD5.
    FailIfDifferentOrMissing,
}

/// How files are moved.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Block size for multi-block transfers (doubled for very large files).
    pub block_size: u64,
    /// Files up to this size are written with a single request.
    pub put_blob_size: u64,
    /// Blocks of one file in flight at once.
    pub blocks_in_flight: usize,
    /// Downloads: the MD5 check.
    pub check_md5: CheckMd5,
    /// Uploads: store the MD5 as Content-MD5.
    pub put_md5: bool,
}

impl TransferOptions {
    /// The block size, in MiB, unless `--block-size-mb` says otherwise.
    pub const DEFAULT_BLOCK_MIB: u32 = 8;
    /// Files up to this size, in MiB, are written with one request, unless
    /// `--put-blob-size-mb` (or `--block-size-mb`) says otherwise: one request moves a file
    /// up to 64 MiB faster than staged blocks do (one write at the service instead of
    /// blocks and a commit); larger files stay resumable.
    pub const DEFAULT_PUT_BLOB_MIB: u32 = 64;
    /// Blocks of one file in flight at once.
    pub const BLOCKS_IN_FLIGHT: usize = 8;
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            block_size: u64::from(Self::DEFAULT_BLOCK_MIB) << 20,
            put_blob_size: u64::from(Self::DEFAULT_PUT_BLOB_MIB) << 20,
            blocks_in_flight: Self::BLOCKS_IN_FLIGHT,
            check_md5: CheckMd5::default(),
            put_md5: true,
        }
    }
}

/// `--backup-dir`: where what a run overwrites or deletes is kept.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// A folder on the destination's file system, or a container or folder in the
    /// destination's account.
    pub location: Location,
    /// Added to each kept name (`--suffix`).
    pub suffix: String,
    /// The suffix goes before the extension (`--suffix-keep-extension`).
    pub keep_extension: bool,
}

/// `blobsync check`: a dry run that reports differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckMode {
    /// Compare content by reading blobs (their stored Content-MD5 is not trusted).
    pub download: bool,
}

/// `--missing-md5`: what `--compare-hash=MD5` does with a blob that has no Content-MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingMd5 {
    /// Copy it (azcopy's behaviour).
    #[default]
    Copy,
    /// Compare size and modification time instead.
    SizeTime,
    /// Read the blob to hash it (when the sizes match), and store the MD5 in its
    /// Content-MD5.
    Download,
}

/// `--max-changes`: the most destination entries one run may overwrite or delete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChangeLimit {
    /// At most this many.
    Count(u64),
    /// At most this percentage of the destination's files.
    Percent(f64),
}

/// `--archived`: what a run does with an archived source blob that must be copied. Shown
/// as the flag takes it: `skip`, `fail`, `rehydrate:Standard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchivedPolicy {
    /// Skip it, counted apart (not a failure).
    #[default]
    Skip,
    /// Count it as a failure.
    Fail,
    /// Ask for its rehydration to Hot (Set Blob Tier), and skip it this run.
    Rehydrate(RehydratePriority),
}

impl fmt::Display for ArchivedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchivedPolicy::Skip => f.write_str("skip"),
            ArchivedPolicy::Fail => f.write_str("fail"),
            ArchivedPolicy::Rehydrate(RehydratePriority::High) => f.write_str("rehydrate:High"),
            ArchivedPolicy::Rehydrate(RehydratePriority::Standard) => {
                f.write_str("rehydrate:Standard")
            }
        }
    }
}

/// How blob-specific features are handled.
#[derive(Debug, Clone)]
pub struct BlobOptions {
    /// Archived source blobs.
    pub archived: ArchivedPolicy,
    /// An archived destination blob that must be replaced is deleted and uploaded again
    /// (`--overwrite-archived`); otherwise it is a per-item error.
    pub overwrite_archived: bool,
    /// What deletes do with snapshots.
    pub snapshots: SnapshotPolicy,
    /// Folder stubs (`hdi_isfolder=true`) are synced as folders.
    pub directory_stubs: bool,
    /// Owners, groups, modes and times kept in metadata and restored
    /// (`--preserve-posix-properties`).
    pub posix: bool,
    /// Symbolic links synced as links (`--preserve-symlinks`).
    pub symlinks: bool,
    /// Uploads without a Content-Type get one guessed from the extension (off with
    /// `--no-guess-mime-type`).
    pub guess_types: bool,
    /// Extra extension (lower-case, no dot) → Content-Type mappings
    /// (`AZCOPY_CONTENT_TYPE_MAP`).
    pub type_map: std::collections::HashMap<String, String>,
    /// Blob → blob: what is carried over, and how data moves.
    pub s2s: S2sOptions,
}

impl Default for BlobOptions {
    /// Archived source blobs skipped, snapshots deleted with their blob, no folder stubs,
    /// POSIX properties or links, Content-Types guessed, and blob → blob copies keeping
    /// the source's access tier.
    fn default() -> Self {
        BlobOptions {
            archived: ArchivedPolicy::default(),
            overwrite_archived: false,
            snapshots: SnapshotPolicy::default(),
            directory_stubs: false,
            posix: false,
            symlinks: false,
            guess_types: true,
            type_map: Default::default(),
            s2s: S2sOptions {
                preserve_tier: true,
                ..S2sOptions::default()
            },
        }
    }
}

/// Blob → blob syncs (azcopy's `--s2s-*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct S2sOptions {
    /// The source blob's explicit access tier is set on the copy
    /// (`--s2s-preserve-access-tier`).
    pub preserve_tier: bool,
    /// The source blob's index tags are set on the copy, and listed for it (which needs
    /// the `t` permission; `--s2s-preserve-blob-tags`).
    pub preserve_tags: bool,
    /// Content always streams through blobsync, never copied server-side
    /// (`--s2s-stream`).
    pub stream: bool,
}

/// `--watch`: keep syncing as the source changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Quiet time after the last change before a sync.
    pub debounce: Duration,
    /// A full sync this often, in case a notification was missed.
    pub rescan: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_secs(1),
            rescan: Duration::from_secs(3600),
        }
    }
}

/// A validated sync.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Copy from here…
    pub source: Location,
    /// …to here.
    pub destination: Location,
    /// Which way.
    pub direction: Direction,
    /// How to authenticate to the blob side.
    pub auth: AuthOptions,
    /// The plugins.
    pub plugins: PluginSet,
    /// Whether to delete destination entries missing at the source.
    pub delete: DeleteMode,
    /// Refuse to delete more than this many entries.
    pub max_delete: Option<u64>,
    /// Refuse a plan that overwrites or deletes more than this.
    pub max_changes: Option<ChangeLimit>,
    /// Start no transfer once this many bytes have been started (`--max-transfer`).
    pub max_transfer: Option<u64>,
    /// Start no transfer after this long, and stop those in flight (`--max-duration`).
    pub max_duration: Option<std::time::Duration>,
    /// Report what would happen; change nothing.
    pub dry_run: bool,
    /// A source that lists nothing may empty the destination (`--allow-empty-source`).
    pub allow_empty_source: bool,
    /// `blobsync check`: report differences (a dry run, and a differing pair is an error).
    pub check: Option<CheckMode>,
    /// What MD5 comparisons do with blobs that have no Content-MD5.
    pub missing_md5: MissingMd5,
    /// Container listings are split into up to this many ranges listed at once.
    pub list_parallelism: usize,
    /// Keep what is overwritten or deleted (`--backup-dir`).
    pub backup: Option<BackupConfig>,
    /// Block sizes and checks.
    pub transfer: TransferOptions,
    /// Files transferred at once.
    pub concurrency: usize,
    /// Memory for blocks in flight.
    pub buffer_bytes: u64,
    /// `--cap-mbps`: megabits per second for all transfers together.
    pub cap_mbps: Option<f64>,
    /// Follow symbolic links when listing a local folder.
    pub follow_symlinks: bool,
    /// Compiled-plugin cache (None: compile in memory).
    pub cache_dir: Option<PathBuf>,
    /// Threads hashing local files.
    pub hash_workers: usize,
    /// Watch mode, if on.
    pub watch: Option<WatchOptions>,
    /// How requests are retried.
    pub retry: RetrySettings,
    /// How long a request may take.
    pub timeouts: Timeouts,
    /// Archive, snapshots, folder stubs.
    pub blob: BlobOptions,
    /// Act only on this shard's paths (`--shard K/N`); `None`: on every path.
    pub shard: Option<super::Shard>,
}

impl SyncConfig {
    /// Files transferred at once, unless `--concurrency` says otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 32;
    /// Container listings in ranges listed at once (1: one flat listing).
    pub const DEFAULT_LIST_PARALLELISM: u16 = 1;
    /// Memory for blocks in flight, in MiB, unless `--buffer-mb` says otherwise.
    pub const DEFAULT_BUFFER_MIB: u64 = 64;
}

impl Default for SyncConfig {
    /// A sync with every setting at its default: an upload between two locations the
    /// caller gives (both empty here), the built-in time comparator, nothing deleted,
    /// no limits, the requests, retries and timeouts of [`TransferOptions`],
    /// [`RetrySettings`] and [`Timeouts`], no plugin cache, one hashing thread per CPU.
    fn default() -> Self {
        SyncConfig {
            source: Location::Local(PathBuf::new()),
            destination: Location::Local(PathBuf::new()),
            direction: Direction::Upload,
            auth: AuthOptions::default(),
            plugins: PluginSet {
                filters: Vec::new(),
                comparator: PluginSpec::builtin(
                    PluginKind::Comparator,
                    "mtime-compare",
                    Vec::new(),
                    "the default",
                ),
                annotators: Vec::new(),
                resolvers: Vec::new(),
                hooks: Vec::new(),
            },
            delete: DeleteMode::default(),
            max_delete: None,
            max_changes: None,
            max_transfer: None,
            max_duration: None,
            dry_run: false,
            allow_empty_source: false,
            check: None,
            missing_md5: MissingMd5::default(),
            list_parallelism: Self::DEFAULT_LIST_PARALLELISM.into(),
            backup: None,
            transfer: TransferOptions::default(),
            concurrency: Self::DEFAULT_CONCURRENCY,
            buffer_bytes: Self::DEFAULT_BUFFER_MIB << 20,
            cap_mbps: None,
            follow_symlinks: false,
            cache_dir: None,
            hash_workers: hash_workers(),
            watch: None,
            retry: RetrySettings::default(),
            timeouts: Timeouts::default(),
            blob: BlobOptions::default(),
            shard: None,
        }
    }
}

/// Threads hashing local files: one per CPU, and at least two.
fn hash_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archived_policies_show_as_the_flag_takes_them() {
        assert_eq!(ArchivedPolicy::default().to_string(), "skip");
        assert_eq!(ArchivedPolicy::Fail.to_string(), "fail");
        assert_eq!(
            ArchivedPolicy::Rehydrate(RehydratePriority::High).to_string(),
            "rehydrate:High"
        );
    }
}
