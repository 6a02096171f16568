//! blobsync's embedded database (SQLite, in the user's data directory): the local MD5 cache
//! and, beside it, the job records.
//!
//! Nothing is ever written into the synced tree. The database is opened in WAL mode with a
//! busy timeout, so concurrent runs share it. Writes go through one background thread that
//! commits in batches (a transaction per few hundred rows or per 200 ms), so recording never
//! waits on a disk sync per file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

mod bisync_state;
mod busy;
mod schema;
mod writer;

pub use bisync_state::{BisyncPair, Facts, Known, KnownRows};
use busy::{BUSY_TIMEOUT, retry_busy};
use schema::{MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION};
use writer::write_loop;
pub use writer::{FileKey, Write};

/// A failure to open or use the database.
#[derive(Debug, thiserror::Error)]
#[error("database {path}: {message}")]
pub struct StoreError {
    /// The database file.
    pub path: String,
    /// What went wrong and what to do.
    pub message: String,
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

/// The database's file name in blobsync's data directory (`BLOBSYNC_DATA_DIR`, else the
/// user's; the command line reads which).
pub const DATABASE_FILE: &str = "blobsync.db";

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

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
                tx.execute_batch(SCHEMA_V1)?;
            }
            for migration in &MIGRATIONS[(version.max(1) - 1) as usize..] {
                tx.execute_batch(migration)?;
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
    fn a_version_1_database_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA_V1).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO jobs (id, started_ms, command, source, destination, dry_run, \
                 status, copied) VALUES ('old', 1, 'c', 's', 'd', 0, 'Completed', 3)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let (totals, shard) = store
            .read(|c| {
                c.query_row("SELECT totals, shard FROM jobs WHERE id = 'old'", [], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
            })
            .unwrap();
        let totals: serde_json::Value = serde_json::from_str(&totals).unwrap();
        assert_eq!(
            (totals["copied"].as_u64(), totals["retries"].as_u64()),
            (Some(3), Some(0))
        );
        assert_eq!(shard, None);
    }

    /// A database the previous release wrote (schema 5: two syncs, an MD5 cache entry per
    /// file), kept in `testdata/`: its jobs keep their totals and its MD5 cache its entries.
    #[test]
    fn a_database_of_the_previous_release_keeps_its_jobs_and_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blobsync.db");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/store/testdata/schema-5.db"
            ),
            &path,
        )
        .unwrap();
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .read(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let jobs: Vec<(String, String)> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT status, totals FROM jobs ORDER BY started_ms")?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .unwrap();
        let totals: Vec<crate::sync::Totals> = jobs
            .iter()
            .map(|(_, t)| serde_json::from_str(t).unwrap())
            .collect();
        assert_eq!(jobs.iter().filter(|(s, _)| s == "Completed").count(), 2);
        assert_eq!(
            (
                totals[0].source_files,
                totals[0].copied,
                totals[0].bytes_copied
            ),
            (2, 2, 12)
        );
        assert_eq!(
            (
                totals[1].destination_files,
                totals[1].copied,
                totals[1].deleted
            ),
            (2, 1, 1)
        );
        let cached: i64 = store
            .read(|c| c.query_row("SELECT COUNT(*) FROM md5_cache", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(cached, 2);
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
