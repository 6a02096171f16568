//! The database schema: the tables a new database gets, and the migrations that bring an
//! older one up to date.

/// The schema version this blobsync writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = 5;

/// What takes a database of version N-1 to N (index 0: from 1 to 2); a new database gets
/// [`SCHEMA`], which is the latest.
pub(super) const MIGRATIONS: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE jobs ADD COLUMN shard TEXT;",
    BAD_BLOBS,
    BACKUPS,
];

/// Every version a run kept in a backup location (`--backup-dir`): where the entry was
/// (an absolute path, or a URL without SAS), where it is kept, by which job, when, and
/// its size. `blobsync backups list` reads them.
pub(super) const BACKUPS: &str = "
CREATE TABLE IF NOT EXISTS backups (
    original TEXT NOT NULL,
    kept     TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    size     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS backups_by_original ON backups (original, time_ms);";

/// Blobs a download found whose content does not match their Content-MD5, by location
/// (URL without SAS) and the ETag that was read: the next upload from the source replaces
/// them.
pub(super) const BAD_BLOBS: &str = "
CREATE TABLE IF NOT EXISTS bad_blobs (
    location TEXT PRIMARY KEY,
    etag     TEXT NOT NULL,
    found_ms INTEGER NOT NULL
) WITHOUT ROWID;";

pub(super) const SCHEMA: &str = "
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
    pid               INTEGER,
    retries           INTEGER NOT NULL DEFAULT 0,
    shard             TEXT
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
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bad_blobs (
    location TEXT PRIMARY KEY,
    etag     TEXT NOT NULL,
    found_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS backups (
    original TEXT NOT NULL,
    kept     TEXT NOT NULL,
    job_id   TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    size     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS backups_by_original ON backups (original, time_ms);
";
