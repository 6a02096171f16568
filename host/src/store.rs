//! blobsync's embedded database (SQLite, in the user's data directory): the local MD5 cache
//! and, beside it, the job records.
//!
//! Nothing is ever written into the synced tree. The database is opened in WAL mode with a
//! busy timeout, so concurrent runs share it. Writes go through one background thread that
//! commits in batches (a transaction per few hundred rows or per 200 ms), so recording never
//! waits on a disk sync per file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

/// The schema version this blobsync writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 4;

/// What takes a database of version N-1 to N (index 0: from 1 to 2); a new database gets
/// [`SCHEMA`], which is the latest.
const MIGRATIONS: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE jobs ADD COLUMN shard TEXT;",
    BAD_BLOBS,
];

/// Blobs a download found whose content does not match their Content-MD5, by location
/// (URL without SAS) and the ETag that was read: the next upload from the source replaces
/// them.
const BAD_BLOBS: &str = "
CREATE TABLE IF NOT EXISTS bad_blobs (
    location TEXT PRIMARY KEY,
    etag     TEXT NOT NULL,
    found_ms INTEGER NOT NULL
) WITHOUT ROWID;";

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A failure to open or use the database.
#[derive(Debug, thiserror::Error)]
#[error("database {path}: {message}")]
pub struct StoreError {
    /// The database file.
    pub path: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// What identifies a version of a local file: if any of these change, its cached MD5 is
/// not used. `ctime` catches rewrites that restore the modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey {
    /// Absolute path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (ns).
    pub mtime_ns: i64,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Status-change time (ns).
    pub ctime_ns: i64,
}

/// One write for the background writer.
pub enum Write {
    /// Remember a file's MD5.
    Md5(FileKey, [u8; 16]),
    /// Any statement with parameters (job records).
    Sql(&'static str, Vec<rusqlite::types::Value>),
    /// Commit what is queued and acknowledge.
    Flush(Sender<()>),
}

/// The database: a reader connection for lookups and a writer thread for updates.
pub struct Store {
    path: PathBuf,
    reader: Mutex<Connection>,
    writes: Mutex<Option<Sender<Write>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The database file: `BLOBSYNC_DATA_DIR/blobsync.db`, else the user's data directory.
pub fn default_path() -> Option<PathBuf> {
    data_dir().map(|d| d.join("blobsync.db"))
}

/// blobsync's data directory (database and job logs): `BLOBSYNC_DATA_DIR`, else
/// `$XDG_DATA_HOME/blobsync` (`~/.local/share/blobsync`).
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("BLOBSYNC_DATA_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_dir().map(|d| d.join("blobsync")),
    }
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Runs `f` again while another process holds a lock for at most [`BUSY_TIMEOUT`].
///
/// The busy timeout covers ordinary statements, but SQLite answers "database is locked" at
/// once, without waiting, where waiting could deadlock: switching a new database to WAL,
/// or recovering the WAL index while another connection opens it. Those are what many runs
/// starting together on a fresh data directory meet.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const SCHEMA: &str = "
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
";

impl Store {
    /// Records a blob whose content does not match its Content-MD5.
    pub fn record_bad_blob(&self, location: &str, etag: &str, found_ms: u64) {
        self.write(Write::Sql(
            "INSERT OR REPLACE INTO bad_blobs (location, etag, found_ms) VALUES (?1, ?2, ?3)",
            vec![
                location.to_string().into(),
                etag.to_string().into(),
                (found_ms as i64).into(),
            ],
        ));
    }

    /// The bad blobs below `prefix` (a location ending in `/`): the path after the
    /// prefix → the ETag found bad.
    pub fn bad_blobs(&self, prefix: &str) -> std::collections::HashMap<String, String> {
        let read = self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT location, etag FROM bad_blobs WHERE substr(location, 1, ?2) = ?1",
            )?;
            let rows = stmt.query_map(params![prefix, prefix.len() as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        });
        match read {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|(l, e)| Some((l.strip_prefix(prefix)?.to_string(), e)))
                .collect(),
            Err(e) => {
                tracing::warn!("{e}; blobs found bad by earlier downloads are not checked");
                Default::default()
            }
        }
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fail = |message: String| StoreError {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                fail(format!(
                    "cannot create its folder: {e} (set BLOBSYNC_DATA_DIR to move it)"
                ))
            })?;
        }
        let damaged = |e: rusqlite::Error| {
            let is_damage = matches!(
                &e,
                rusqlite::Error::SqliteFailure(f, _)
                    if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            );
            if is_damage {
                fail(format!(
                    "it is damaged ({e}); move it aside (mv '{p}' '{p}.damaged') and blobsync \
                     starts a new one — only the MD5 cache and the job history in it are lost",
                    p = path.display()
                ))
            } else {
                fail(format!("cannot open it: {e}"))
            }
        };
        let mut conn = open_connection(path).map_err(damaged)?;
        // A current schema needs no lock. Otherwise the tables are created under the write lock
        // (an immediate transaction), reading the version again there, so runs that start
        // together never see a half-made schema, race to upgrade a read lock, or lower a
        // version that a newer blobsync has just written.
        let newer = retry_busy(|| {
            let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if current == SCHEMA_VERSION {
                return Ok(None);
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > SCHEMA_VERSION {
                return Ok(Some(version));
            }
            if version == 0 {
                tx.execute_batch(SCHEMA)?;
            } else {
                for migration in &MIGRATIONS[(version - 1) as usize..] {
                    tx.execute_batch(migration)?;
                }
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            Ok(None)
        })
        .map_err(damaged)?;
        if let Some(version) = newer {
            return Err(fail(format!(
                "it was written by a newer blobsync (schema {version}, this one reads {SCHEMA_VERSION}); \
                 upgrade blobsync or use another BLOBSYNC_DATA_DIR"
            )));
        }
        let writer_conn =
            open_connection(path).map_err(|e| fail(format!("cannot open it: {e}")))?;
        let (tx, rx) = channel();
        let label = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(writer_conn, rx, label))
            .map_err(|e| fail(format!("cannot start its writer: {e}")))?;
        Ok(Store {
            path: path.to_path_buf(),
            reader: Mutex::new(conn),
            writes: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a write; it is committed within a fraction of a second.
    pub fn write(&self, write: Write) {
        if let Some(tx) = self
            .writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = tx.send(write);
        }
    }

    /// Waits until every queued write is committed.
    pub fn flush(&self) {
        let (tx, rx) = channel();
        self.write(Write::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(60));
    }

    /// Commits everything and stops the writer.
    pub fn close(&self) {
        self.flush();
        self.writes.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    /// The cached MD5 of each key, if the file is the version that was hashed.
    pub fn cached_md5s(&self, keys: &[FileKey]) -> Vec<Option<[u8; 16]>> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let lookup = || -> rusqlite::Result<Vec<Option<[u8; 16]>>> {
            let mut stmt = conn.prepare_cached(
                "SELECT size, mtime_ns, dev, ino, ctime_ns, md5 FROM md5_cache WHERE path = ?1",
            )?;
            keys.iter()
                .map(|k| {
                    let row = stmt
                        .query_row(params![k.path], |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, i64>(1)?,
                                r.get::<_, i64>(2)?,
                                r.get::<_, i64>(3)?,
                                r.get::<_, i64>(4)?,
                                r.get::<_, Vec<u8>>(5)?,
                            ))
                        })
                        .optional()?;
                    Ok(row.and_then(|(size, mtime, dev, ino, ctime, md5)| {
                        let same = size as u64 == k.size
                            && mtime == k.mtime_ns
                            && dev as u64 == k.dev
                            && ino as u64 == k.ino
                            && ctime == k.ctime_ns;
                        if same {
                            <[u8; 16]>::try_from(md5.as_slice()).ok()
                        } else {
                            None
                        }
                    }))
                })
                .collect()
        };
        lookup().unwrap_or_else(|e| {
            tracing::warn!(
                "MD5 cache lookup failed in {}: {e}; hashing instead",
                self.path.display()
            );
            vec![None; keys.len()]
        })
    }

    /// Runs a read-only query with the reader connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(|e| StoreError {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Runs statements in one transaction on the reader connection (for commands that
    /// change job records directly, such as `jobs clean`).
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let run = || -> rusqlite::Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| StoreError {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

/// Rows per write transaction.
const WRITE_BATCH: usize = 500;
/// The longest a queued write waits for its transaction.
const WRITE_DELAY: Duration = Duration::from_millis(200);

fn write_loop(mut conn: Connection, rx: Receiver<Write>, label: String) {
    let mut pending: Vec<Write> = Vec::new();
    let mut acks: Vec<Sender<()>> = Vec::new();
    let mut warned = false;
    // When the oldest pending write was queued: it is committed within WRITE_DELAY even
    // while more keep coming (a run killed outright keeps all but the last moments).
    let mut oldest: Option<Instant> = None;
    loop {
        let first = match oldest {
            None => match rx.recv() {
                Ok(w) => Some(w),
                Err(_) => break,
            },
            Some(since) => {
                let left = WRITE_DELAY.saturating_sub(since.elapsed());
                match rx.recv_timeout(left) {
                    Ok(w) => Some(w),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        commit(&mut conn, &mut pending, &label, &mut warned);
                        break;
                    }
                }
            }
        };
        let mut flush_now = first.is_none();
        if let Some(w) = first {
            match w {
                Write::Flush(ack) => {
                    acks.push(ack);
                    flush_now = true;
                }
                other => pending.push(other),
            }
        }
        while pending.len() < WRITE_BATCH && !flush_now {
            match rx.try_recv() {
                Ok(Write::Flush(ack)) => {
                    acks.push(ack);
                    flush_now = true;
                }
                Ok(other) => pending.push(other),
                Err(_) => break,
            }
        }
        if !pending.is_empty() && oldest.is_none() {
            oldest = Some(Instant::now());
        }
        let due = oldest.is_some_and(|t| t.elapsed() >= WRITE_DELAY);
        if flush_now || due || pending.len() >= WRITE_BATCH {
            commit(&mut conn, &mut pending, &label, &mut warned);
            oldest = None;
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
    }
    for ack in acks.drain(..) {
        let _ = ack.send(());
    }
}

fn commit(conn: &mut Connection, pending: &mut Vec<Write>, label: &str, warned: &mut bool) {
    if pending.is_empty() {
        return;
    }
    let result = retry_busy(|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut md5 = tx.prepare_cached(
                "INSERT OR REPLACE INTO md5_cache (path, size, mtime_ns, dev, ino, ctime_ns, md5) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for w in pending.iter() {
                match w {
                    Write::Md5(k, digest) => {
                        md5.execute(params![
                            k.path,
                            k.size as i64,
                            k.mtime_ns,
                            k.dev as i64,
                            k.ino as i64,
                            k.ctime_ns,
                            digest.as_slice()
                        ])?;
                    }
                    Write::Sql(sql, values) => {
                        tx.prepare_cached(sql)?
                            .execute(rusqlite::params_from_iter(values.iter()))?;
                    }
                    Write::Flush(_) => {}
                }
            }
        }
        tx.commit()
    });
    pending.clear();
    if let Err(e) = result
        && !*warned
    {
        *warned = true;
        tracing::warn!("cannot write to {label}: {e}");
        eprintln!("warning: cannot write to the database {label}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, mtime: i64) -> FileKey {
        FileKey {
            path: path.into(),
            size: 3,
            mtime_ns: mtime,
            dev: 1,
            ino: 2,
            ctime_ns: 4,
        }
    }

    #[test]
    fn a_changed_file_is_never_served_a_stale_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sub/blobsync.db")).unwrap();
        store.write(Write::Md5(key("/a", 10), [7; 16]));
        store.flush();
        assert_eq!(store.cached_md5s(&[key("/a", 10)]), vec![Some([7; 16])]);
        assert_eq!(
            store.cached_md5s(&[key("/a", 11)]),
            vec![None],
            "mtime changed"
        );
        let mut other_inode = key("/a", 10);
        other_inode.ino = 99;
        assert_eq!(
            store.cached_md5s(&[other_inode, key("/b", 10)]),
            vec![None, None]
        );
    }

    #[test]
    fn two_stores_on_one_file_both_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        let a = Store::open(&path).unwrap();
        let b = Store::open(&path).unwrap();
        for i in 0..200 {
            a.write(Write::Md5(key(&format!("/a{i}"), i), [1; 16]));
            b.write(Write::Md5(key(&format!("/b{i}"), i), [2; 16]));
        }
        a.close();
        b.close();
        let c = Store::open(&path).unwrap();
        assert_eq!(
            c.cached_md5s(&[key("/a199", 199), key("/b0", 0)]),
            vec![Some([1; 16]), Some([2; 16])]
        );
    }

    #[test]
    fn many_runs_creating_one_database_at_once_lose_nothing() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("blobsync.db");
            let threads: Vec<_> = (0..6)
                .map(|t| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let store =
                            Store::open(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
                        for i in 0..50 {
                            store.write(Write::Md5(key(&format!("/{t}/{i}"), i), [t as u8; 16]));
                            if i % 10 == 0 {
                                store.flush();
                            }
                        }
                        store.close();
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            let store = Store::open(&path).unwrap();
            let keys: Vec<_> = (0..6)
                .flat_map(|t| (0..50).map(move |i| key(&format!("/{t}/{i}"), i)))
                .collect();
            let missing = store
                .cached_md5s(&keys)
                .iter()
                .filter(|m| m.is_none())
                .count();
            assert_eq!(missing, 0, "round {round}: {missing} writes were lost");
        }
    }

    #[test]
    fn a_damaged_database_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let e = Store::open(&path).unwrap_err().to_string();
        assert!(e.contains("damaged") && e.contains("mv "), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn a_version_1_database_gains_the_retries_and_shard_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&SCHEMA.replace(
                ",\n    retries           INTEGER NOT NULL DEFAULT 0,\n    shard             TEXT",
                "",
            ))
            .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO jobs (id, started_ms, command, source, destination, dry_run, status) \
                 VALUES ('old', 1, 'c', 's', 'd', 0, 'Completed')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let retries = store
            .read(|c| {
                c.query_row(
                    "SELECT retries, shard FROM jobs WHERE id = 'old'",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)),
                )
            })
            .unwrap();
        assert_eq!(retries, (0, None));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = Store::open(&path).unwrap_err();
        assert!(e.to_string().contains("newer blobsync"), "{e}");
    }
}
