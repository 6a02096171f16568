//! The flag groups only `blobsync sync` has: what a run writes and deletes, and how. A
//! `check` changes nothing, so none of these exist on it.

use clap::{ArgAction, Args};

use crate::endpoint::SnapshotPolicy;
use crate::sync::{BlobOptions, CheckMd5, DeleteMode, TransferOptions, WatchOptions};
use crate::units::{ByteSize, Span};

/// Whether destination entries missing at the source are deleted, and how many may be.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Delete destination entries that are not at the source: false, true or prompt.
    #[arg(long, value_enum, default_value_t = DeleteMode::default(), num_args = 0..=1,
          require_equals = true, default_missing_value = "true", ignore_case = true)]
    pub delete_destination: DeleteMode,
    /// Refuse to delete more than this many entries (checked after the copies, before any
    /// delete; exit code 7).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_delete: Option<i64>,
    /// With --delete-destination, let a source that lists no files delete everything at
    /// the destination (without it, such a run is refused with exit code 7).
    #[arg(long)]
    pub allow_empty_source: bool,
    /// What deleting a blob does with its snapshots: include (delete them too), only
    /// (delete only the snapshots) or fail.
    #[arg(long, value_enum, default_value_t = SnapshotPolicy::default(), ignore_case = true)]
    pub delete_snapshots: SnapshotPolicy,
}

/// How much one run may change: nothing, at most so many entries, bytes or so long.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Refuse the whole run, before anything is written, if it would overwrite or delete
    /// more than N destination entries, or more than P% of them (`10%`; exit code 7).
    #[arg(long, value_name = "N|P%")]
    pub max_changes: Option<String>,
    /// Start no more transfers once this much data has been sent (500M, 10G, 10GB…); exit
    /// code 8, and the next run continues.
    #[arg(long, value_name = "SIZE")]
    pub max_transfer: Option<ByteSize>,
    /// Start no more transfers after this long, and stop those in flight (2h30m…); exit
    /// code 10, and the next run continues.
    #[arg(long, value_name = "DURATION")]
    pub max_duration: Option<Span>,
    /// Print what would be copied and deleted, and why; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where what a run overwrites or deletes is kept first.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Keep every destination entry the run would overwrite or delete here first: a
    /// folder on the destination's file system (entries are moved), or a container or
    /// folder in the destination's account (blobs are copied server-side).
    #[arg(long, value_name = "LOCATION")]
    pub backup_dir: Option<String>,
    /// Add this to the names kept in --backup-dir (e.g. `-$(date +%F)`).
    #[arg(long, value_name = "SUFFIX")]
    pub suffix: Option<String>,
    /// Put the --suffix before the file extension (`report-2024-06-01.pdf`).
    #[arg(long)]
    pub suffix_keep_extension: bool,
}

/// How files are written: the sizes of upload requests, and the MD5s written and checked.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Store each file's MD5 as Content-MD5 (always computed in the upload's read pass).
    #[arg(long, default_value_t = TransferOptions::default().put_md5, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub put_md5: bool,
    /// Downloads: what to do when the data's MD5 differs from the blob's Content-MD5.
    #[arg(long, value_enum, default_value_t = TransferOptions::default().check_md5)]
    pub check_md5: CheckMd5,
    /// Block size for large files, in MiB (downloads: the range one GET fetches of a blob
    /// with a Content-MD5; others are read in checked ranges of up to 4 MiB).
    #[arg(long, value_name = "MIB",
          default_value_t = f64::from(TransferOptions::DEFAULT_BLOCK_MIB))]
    pub block_size_mb: f64,
    /// Files up to this size (MiB) are uploaded with a single request (given
    /// --block-size-mb and not this, the block size, as azcopy).
    #[arg(long, value_name = "MIB",
          default_value_t = f64::from(TransferOptions::DEFAULT_PUT_BLOB_MIB))]
    pub put_blob_size_mb: f64,
}

/// What uploaded blobs carry: content headers, access tier, metadata, index tags.
#[derive(Debug, Args)]
pub struct ContentArgs {
    /// Uploads: every blob's Content-Type (instead of guessing it from the extension).
    #[arg(long, value_name = "TYPE", help_heading = "What uploaded blobs carry")]
    pub content_type: Option<String>,
    /// Uploads: every blob's Cache-Control, e.g. `max-age=3600`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub cache_control: Option<String>,
    /// Uploads: every blob's Content-Encoding, e.g. `gzip` for pre-compressed files.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_encoding: Option<String>,
    /// Uploads: every blob's Content-Disposition, e.g. `attachment`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_disposition: Option<String>,
    /// Uploads: every blob's Content-Language, e.g. `en-GB`.
    #[arg(long, value_name = "VALUE", help_heading = "What uploaded blobs carry")]
    pub content_language: Option<String>,
    /// Uploads: Cache-Control by kind of file: `static-site` gives HTML `no-cache` and
    /// fingerprinted assets (`app.3f2a9c1b.js`) `max-age=31536000, immutable`.
    #[arg(
        long,
        value_name = "PRESET",
        help_heading = "What uploaded blobs carry"
    )]
    pub cache_control_preset: Option<String>,
    /// Uploads: the access tier of every blob: Hot, Cool, Cold or Archive (up-to-date
    /// blobs in another tier are moved with Set Blob Tier).
    #[arg(long, value_name = "TIER", help_heading = "What uploaded blobs carry")]
    pub block_blob_tier: Option<String>,
    /// Uploads: user metadata for every blob, `key=value;key2=value2` (kept with what a
    /// blob already has).
    #[arg(long, value_name = "PAIRS", help_heading = "What uploaded blobs carry")]
    pub metadata: Option<String>,
    /// Uploads: blob index tags for every blob, `key=value&key2=value2` (URL-encoded; the
    /// credential needs the `t` permission).
    #[arg(long, value_name = "PAIRS", help_heading = "What uploaded blobs carry")]
    pub blob_tags: Option<String>,
    /// Do not guess a Content-Type from the file extension for blobs that get none
    /// otherwise (extra extensions: a JSON file named by AZCOPY_CONTENT_TYPE_MAP).
    #[arg(long)]
    pub no_guess_mime_type: bool,
}

/// How copies to a container are made: what blob → blob copies carry over and how their
/// data moves, and what happens to an archived blob in the way.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Replace an archived destination blob by deleting it (with its snapshots) and
    /// uploading again; without it, such a blob is reported as a failure.
    #[arg(long)]
    pub overwrite_archived: bool,
    /// Blob → blob: give each copy the source blob's access tier (an explicit one; the
    /// account default is not copied).
    #[arg(long, default_value_t = BlobOptions::default().s2s.preserve_tier, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub s2s_preserve_access_tier: bool,
    /// Blob → blob: give each copy the source blob's index tags (listing them needs the
    /// `t` permission on the source).
    #[arg(long, default_value_t = BlobOptions::default().s2s.preserve_tags, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub s2s_preserve_blob_tags: bool,
    /// Blob → blob: stream content through blobsync instead of having the destination copy
    /// it server-side (for a destination that cannot reach the source).
    #[arg(long)]
    pub s2s_stream: bool,
}

/// Watch mode: keep syncing as the local source changes.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Keep running: sync again whenever the local source changes (local → blob only).
    #[arg(long)]
    pub watch: bool,
    /// Watch mode: wait this long after the last change before syncing (milliseconds).
    #[arg(long, value_name = "MS", requires = "watch",
          default_value_t = WatchOptions::default().debounce.as_millis() as u64)]
    pub watch_debounce_ms: u64,
    /// Watch mode: also sync everything this often, in case a change was missed.
    #[arg(long, value_name = "DURATION", requires = "watch",
          default_value_t = Span(WatchOptions::default().rescan))]
    pub watch_rescan: Span,
}
