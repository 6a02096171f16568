//! The store's writer thread: statements arrive on a channel and are committed in
//! batches.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};

use super::busy::retry_busy;

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

/// Rows per write transaction.
const WRITE_BATCH: usize = 500;
/// The longest a queued write waits for its transaction.
const WRITE_DELAY: Duration = Duration::from_millis(200);
/// How long the writer lets writes gather between looks, once one is waiting (and so
/// the longest a flush waits to be seen).
const GATHER: Duration = Duration::from_millis(10);

pub(super) fn write_loop(mut conn: Connection, rx: Receiver<Write>, label: String) {
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
                // Writes arriving meanwhile wait in the channel rather than wake this
                // thread one at a time (a wake-up cost more than the write).
                let left = WRITE_DELAY.saturating_sub(since.elapsed());
                std::thread::sleep(left.min(GATHER));
                match rx.try_recv() {
                    Ok(w) => Some(w),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => {
                        commit(&mut conn, &mut pending, &label, &mut warned);
                        break;
                    }
                }
            }
        };
        let mut flush_now = false;
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
