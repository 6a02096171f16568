//! The database schema, declared once: the first version's tables and every migration
//! since. A new database runs them all, so it is built exactly as an old one is upgraded.

/// The schema version this blobsync writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = 1 + MIGRATIONS.len() as i64;

/// What takes a database of version N to N+1 (index 0: from 1 to 2).
pub(super) const MIGRATIONS: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE jobs ADD COLUMN shard TEXT;",
    BAD_BLOBS,
    BACKUPS,
    TOTALS,
    BISYNC,
];

/// Version 1: the MD5 cache, jobs and their items.
pub(super) const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS md5_cache (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    dev      INTEGER NOT NULL,
    ino      INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    md5      BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    id                TEXT PRIMARY KEY,
    started_ms        INTEGER NOT NULL,
    ended_ms          INTEGER,
    command           TEXT NOT NULL,
    source            TEXT NOT NULL,
    destination       TEXT NOT NULL,
    dry_run           INTEGER NOT NULL,
    status            TEXT NOT NULL,
    source_files      INTEGER NOT NULL DEFAULT 0,
    destination_files INTEGER NOT NULL DEFAULT 0,
    excluded          INTEGER NOT NULL DEFAULT 0,
    up_to_date        INTEGER NOT NULL DEFAULT 0,
    copied            INTEGER NOT NULL DEFAULT 0,
    deleted           INTEGER NOT NULL DEFAULT 0,
    failed            INTEGER NOT NULL DEFAULT 0,
    bytes_copied      INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    log_path          TEXT,
    pid               INTEGER
);
CREATE TABLE IF NOT EXISTS job_items (
    job_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    path    TEXT NOT NULL,
    action  TEXT NOT NULL,
    status  TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    error   TEXT,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;";

/// Blobs a download found whose content does not match their Content-MD5, by location
/// (URL without SAS) and the ETag that was read: the next upload from the source replaces
/// them.
const BAD_BLOBS: &str = "
CREATE TABLE IF NOT EXISTS bad_blobs (
    location TEXT PRIMARY KEY,
    etag     TEXT NOT NULL,
    found_ms INTEGER NOT NULL
) WITHOUT ROWID;";

/// Every version a run kept in a backup location (`--backup-dir`): where the entry was
/// (an absolute path, or a URL without SAS), where it is kept, by which job, when, and
/// its size. `blobsync backups list` reads them.
const BACKUPS: &str = "
CREATE TABLE IF NOT EXISTS backups (
    original TEXT NOT NULL,
    kept     TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    size     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS backups_by_original ON backups (original, time_ms);";

/// A job's totals as one JSON object (`sync::Totals`, every counter the run kept) instead
/// of a column per counter, which left most counters out of the records.
const TOTALS: &str = "
ALTER TABLE jobs ADD COLUMN totals TEXT NOT NULL DEFAULT '{}';
UPDATE jobs SET totals = json_object(
    'source_files', source_files, 'destination_files', destination_files,
    'excluded', excluded, 'up_to_date', up_to_date, 'copied', copied, 'deleted', deleted,
    'failed', failed, 'bytes_copied', bytes_copied, 'retries', retries);
ALTER TABLE jobs DROP COLUMN source_files;
ALTER TABLE jobs DROP COLUMN destination_files;
ALTER TABLE jobs DROP COLUMN excluded;
ALTER TABLE jobs DROP COLUMN up_to_date;
ALTER TABLE jobs DROP COLUMN copied;
ALTER TABLE jobs DROP COLUMN deleted;
ALTER TABLE jobs DROP COLUMN failed;
ALTER TABLE jobs DROP COLUMN bytes_copied;
ALTER TABLE jobs DROP COLUMN retries;";

/// Version 7: the two-way sync's state, per pair of locations.
const BISYNC: &str = "
CREATE TABLE IF NOT EXISTS bisync_pairs (
    id         INTEGER PRIMARY KEY,
    path1      TEXT NOT NULL,
    path2      TEXT NOT NULL,
    sort_order TEXT NOT NULL,
    UNIQUE (path1, path2)
);
CREATE TABLE IF NOT EXISTS bisync_state (
    pair   INTEGER NOT NULL,
    key    BLOB NOT NULL,
    path   TEXT NOT NULL,
    size1  INTEGER NOT NULL,
    mtime1 INTEGER NOT NULL,
    md5_1  BLOB,
    etag1  TEXT,
    dev1   INTEGER,
    ino1   INTEGER,
    size2  INTEGER NOT NULL,
    mtime2 INTEGER NOT NULL,
    md5_2  BLOB,
    etag2  TEXT,
    dev2   INTEGER,
    ino2   INTEGER,
    PRIMARY KEY (pair, key)
) WITHOUT ROWID;";
