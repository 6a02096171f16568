//! Waiting out another process's lock on the database.

use std::time::{Duration, Instant};

use rusqlite::ErrorCode;

/// How long a statement waits for another process's write lock.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `f` again while another process holds a lock for at most [`BUSY_TIMEOUT`].
///
/// The busy timeout covers ordinary statements, but SQLite answers "database is locked" at
/// once, without waiting, where waiting could deadlock: switching a new database to WAL,
/// or recovering the WAL index while another connection opens it. Those are what many runs
/// starting together on a fresh data directory meet.
pub(super) fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
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
