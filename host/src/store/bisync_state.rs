//! The two-way sync's state: per pair of locations, both sides' facts of every path at
//! the last run. Rows are keyed by the listing order's sort key of their path, so they
//! are read back in the order both listings come in, a page at a time (never loaded
//! whole), and each finished item's new state is queued to the writer at once.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, Write};

/// Rows read per page.
const PAGE: i64 = 1000;

/// One side's entry as it was when last synced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// Size in bytes.
    pub size: u64,
    /// The modification time compared (a blob's stored source time, else its own), ns.
    pub mtime_ns: i64,
    /// The content MD5, where known.
    pub md5: Option<[u8; 16]>,
    /// A blob's ETag: writes to it are conditional on it.
    pub etag: Option<String>,
    /// A local file's device and inode, re-checked before it is replaced or deleted.
    pub inode: Option<(u64, u64)>,
}

/// The state of one path: both sides' facts when it was last synced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Known {
    /// The path, relative to both roots.
    pub path: String,
    /// At path1.
    pub path1: Facts,
    /// At path2.
    pub path2: Facts,
}

/// A pair of locations synced both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BisyncPair {
    /// Its id in the state.
    pub id: i64,
    /// The order its keys were made in, when it is not the one asked for: the keys are
    /// remade ([`Store::bisync_rekey`]).
    pub stale_order: Option<String>,
}

fn facts(r: &Row<'_>, at: usize) -> rusqlite::Result<Facts> {
    let md5: Option<Vec<u8>> = r.get(at + 2)?;
    let (dev, ino): (Option<i64>, Option<i64>) = (r.get(at + 4)?, r.get(at + 5)?);
    Ok(Facts {
        size: r.get::<_, i64>(at)? as u64,
        mtime_ns: r.get(at + 1)?,
        md5: md5.and_then(|m| <[u8; 16]>::try_from(m.as_slice()).ok()),
        etag: r.get(at + 3)?,
        inode: dev.zip(ino).map(|(d, i)| (d as u64, i as u64)),
    })
}

fn values(f: &Facts) -> [Value; 6] {
    [
        (f.size as i64).into(),
        f.mtime_ns.into(),
        f.md5.map(|m| m.to_vec()).into(),
        f.etag.clone().into(),
        f.inode.map(|(d, _)| d as i64).into(),
        f.inode.map(|(_, i)| i as i64).into(),
    ]
}

const COLUMNS: &str = "key, path, size1, mtime1, md5_1, etag1, dev1, ino1, \
                       size2, mtime2, md5_2, etag2, dev2, ino2";

impl Store {
    /// The pair of `path1` and `path2` (created on first use), its keys made in `order`.
    pub fn bisync_pair(
        &self,
        path1: &str,
        path2: &str,
        order: &str,
    ) -> Result<BisyncPair, StoreError> {
        self.transaction(|tx| {
            let found: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, sort_order FROM bisync_pairs WHERE path1 = ?1 AND path2 = ?2",
                    params![path1, path2],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(match found {
                Some((id, stored)) => BisyncPair {
                    id,
                    stale_order: (stored != order).then_some(stored),
                },
                None => {
                    tx.execute(
                        "INSERT INTO bisync_pairs (path1, path2, sort_order) VALUES (?1, ?2, ?3)",
                        params![path1, path2, order],
                    )?;
                    BisyncPair {
                        id: tx.last_insert_rowid(),
                        stale_order: None,
                    }
                }
            })
        })
    }

    /// Remakes every key of `pair` with `key` (the paths' sort keys in `order`).
    pub fn bisync_rekey(
        &self,
        pair: i64,
        order: &str,
        key: impl Fn(&str) -> Vec<u8>,
    ) -> Result<(), StoreError> {
        // The rows move to a shadow pair (-id) and back one page at a time, each with its
        // new key, so no new key meets an old one.
        self.transaction(|tx| {
            tx.execute(
                "UPDATE bisync_state SET pair = -?1 WHERE pair = ?1",
                params![pair],
            )?;
            let mut page =
                tx.prepare("SELECT key, path FROM bisync_state WHERE pair = -?1 LIMIT ?2")?;
            let mut back = tx.prepare(
                "UPDATE bisync_state SET pair = ?1, key = ?3 WHERE pair = -?1 AND key = ?2",
            )?;
            loop {
                let rows: Vec<(Vec<u8>, String)> = page
                    .query_map(params![pair, PAGE], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                if rows.is_empty() {
                    break;
                }
                for (old, path) in rows {
                    back.execute(params![pair, old, key(&path)])?;
                }
            }
            tx.execute(
                "UPDATE bisync_pairs SET sort_order = ?2 WHERE id = ?1",
                params![pair, order],
            )?;
            Ok(())
        })
    }

    /// The state of `pair`, in key order, read a page at a time. A failed read ends
    /// the rows with the error.
    pub fn bisync_known(&self, pair: i64) -> KnownRows<'_> {
        KnownRows {
            store: self,
            pair,
            after: Vec::new(),
            page: Vec::new().into_iter(),
            done: false,
        }
    }

    /// Records the state of a path: both sides now hold what `known` says.
    pub fn bisync_record(&self, pair: i64, key: Vec<u8>, known: &Known) {
        let mut row: Vec<Value> = vec![pair.into(), key.into(), known.path.clone().into()];
        row.extend(values(&known.path1));
        row.extend(values(&known.path2));
        self.write(Write::Sql(
            "INSERT OR REPLACE INTO bisync_state (pair, key, path, size1, mtime1, md5_1, \
             etag1, dev1, ino1, size2, mtime2, md5_2, etag2, dev2, ino2) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            row,
        ));
    }

    /// Forgets every path of `pair` (`--resync`: the trees are adopted afresh).
    pub fn bisync_clear(&self, pair: i64) -> Result<(), StoreError> {
        self.flush();
        self.transaction(|tx| {
            tx.execute("DELETE FROM bisync_state WHERE pair = ?1", params![pair])?;
            Ok(())
        })
    }

    /// Forgets a path: it is on neither side.
    pub fn bisync_forget(&self, pair: i64, key: Vec<u8>) {
        self.write(Write::Sql(
            "DELETE FROM bisync_state WHERE pair = ?1 AND key = ?2",
            vec![pair.into(), key.into()],
        ));
    }
}

/// The rows of a pair's state, in key order.
pub struct KnownRows<'a> {
    store: &'a Store,
    pair: i64,
    /// The key of the last row read.
    after: Vec<u8>,
    page: std::vec::IntoIter<(Vec<u8>, Known)>,
    done: bool,
}

impl KnownRows<'_> {
    fn next_page(&mut self) -> Result<Vec<(Vec<u8>, Known)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bisync_state WHERE pair = ?1 AND key > ?2 \
             ORDER BY key LIMIT ?3"
        );
        self.store.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(params![self.pair, self.after, PAGE], |r| {
                    let known = Known {
                        path: r.get(1)?,
                        path1: facts(r, 2)?,
                        path2: facts(r, 8)?,
                    };
                    Ok((r.get(0)?, known))
                })?
                .collect()
        })
    }
}

impl Iterator for KnownRows<'_> {
    type Item = Result<Known, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((key, known)) = self.page.next() {
            self.after = key;
            return Some(Ok(known));
        }
        if self.done {
            return None;
        }
        match self.next_page() {
            Ok(page) => {
                self.done = (page.len() as i64) < PAGE;
                self.page = page.into_iter();
                let (key, known) = self.page.next()?;
                self.after = key;
                Some(Ok(known))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(path: &str, size: u64) -> Known {
        let facts = Facts {
            size,
            mtime_ns: 7,
            md5: Some([size as u8; 16]),
            etag: Some("\"e\"".into()),
            inode: Some((1, size)),
        };
        Known {
            path: path.into(),
            path1: facts.clone(),
            path2: Facts {
                etag: None,
                inode: None,
                md5: None,
                ..facts
            },
        }
    }

    /// Keys that sort in reverse of the paths' byte order.
    fn reverse(path: &str) -> Vec<u8> {
        path.bytes().map(|b| 255 - b).collect()
    }

    #[test]
    fn the_state_reads_back_in_key_order_a_page_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let pair = store.bisync_pair("/a", "http://x/c", "bytes").unwrap();
        assert_eq!(pair.stale_order, None);
        let other = store.bisync_pair("/b", "http://x/c", "bytes").unwrap();
        assert_ne!(pair.id, other.id);
        let paths: Vec<String> = (0..2500).map(|i| format!("f{i:05}")).collect();
        for (i, p) in paths.iter().enumerate().rev() {
            store.bisync_record(pair.id, p.as_bytes().to_vec(), &known(p, i as u64));
        }
        store.bisync_record(other.id, b"zzz".to_vec(), &known("zzz", 1));
        store.bisync_forget(pair.id, b"f00001".to_vec());
        store.flush();
        let read: Vec<Known> = store.bisync_known(pair.id).map(Result::unwrap).collect();
        assert_eq!(read.len(), 2499);
        assert_eq!(read[0], known("f00000", 0));
        assert_eq!(read[1].path, "f00002");
        assert_eq!(read[2498], known("f02499", 2499));

        assert_eq!(
            store
                .bisync_pair("/a", "http://x/c", "utf16")
                .unwrap()
                .stale_order
                .as_deref(),
            Some("bytes")
        );
        store.bisync_rekey(pair.id, "utf16", reverse).unwrap();
        let first = store.bisync_known(pair.id).next().unwrap().unwrap();
        assert_eq!(first.path, "f02499");
        store.bisync_clear(pair.id).unwrap();
        assert_eq!(store.bisync_known(pair.id).count(), 0);
        assert_eq!(
            store.bisync_known(other.id).count(),
            1,
            "other pairs keep theirs"
        );
        assert_eq!(
            store
                .bisync_pair("/a", "http://x/c", "utf16")
                .unwrap()
                .stale_order,
            None
        );
    }
}
