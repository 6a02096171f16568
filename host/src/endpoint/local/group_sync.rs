//! Making downloaded files durable in groups. Every file must be on disk before it is
//! renamed to its real name; one `fsync` per file made small downloads spend most of their
//! time in the kernel. Instead, files finished at about the same time share one `syncfs`
//! of their file system: the first to arrive starts it, the others wait for it (or for the
//! next one, if theirs was written after it started), then each renames its own file.
//!
//! A large file is synced on its own (`fsync`): `syncfs` writes back everything dirty
//! on the file system, which for a large file can be far more than the gathering saves —
//! another program's writes, or the download's own other large files still in flight.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};

/// The syncs of one file system.
#[derive(Default)]
struct Group {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// The number of the last sync started.
    started: u64,
    /// The number of the last sync that finished without an error.
    finished: u64,
    /// A sync is running.
    running: bool,
}

/// How long the first file of a group waits for others before the sync starts.
const GATHER: std::time::Duration = std::time::Duration::from_millis(3);

/// Files of at least this size are synced on their own. Writing one back takes longer
/// than the journal commit an `fsync` of its own adds.
const OWN_SYNC: u64 = 4 << 20;

/// One group per file system (device).
static GROUPS: LazyLock<Mutex<HashMap<u64, Arc<Group>>>> = LazyLock::new(Default::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Returns once everything written to `file` before the call is durable.
pub(super) fn sync(file: &File) -> std::io::Result<()> {
    let meta = file.metadata()?;
    if meta.len() >= OWN_SYNC {
        return file.sync_all();
    }
    let device = meta.dev();
    let group = lock(&GROUPS).entry(device).or_default().clone();
    group.sync(file)
}

/// Starts writing a block of a large file (`size` bytes; one [`sync`] gives its own
/// `fsync`) back to disk, without waiting for it: that sync then finds most of the file
/// already written instead of all of it. A smaller file's blocks wait for the shared sync.
pub(super) fn start_writeback(file: &File, size: u64, offset: u64, len: usize) {
    if size < OWN_SYNC {
        return;
    }
    // SAFETY: sync_file_range on an open file descriptor we own for the call; it only
    // schedules write-back of the range's dirty pages.
    let _ = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

impl Group {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        let mut state = lock(&self.state);
        // A sync started from now on covers this file's data.
        let needed = state.started + 1;
        loop {
            if state.finished >= needed {
                return Ok(());
            }
            if !state.running {
                state.running = true;
                drop(state);
                // Let the files finishing alongside join this sync.
                std::thread::sleep(GATHER);
                state = lock(&self.state);
                state.started += 1;
                let number = state.started;
                drop(state);
                // SAFETY: syncfs on an open file descriptor we own for the call.
                let result = match unsafe { libc::syncfs(file.as_raw_fd()) } {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                };
                state = lock(&self.state);
                state.running = false;
                if result.is_ok() {
                    state.finished = number;
                }
                self.done.notify_all();
                // A failed sync fails the file that ran it; the others try again.
                result?;
                continue;
            }
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn concurrent_files_share_syncs_and_every_one_returns() {
        let dir = tempfile::tempdir().unwrap();
        let group = Arc::new(Group::default());
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                let group = group.clone();
                std::thread::spawn(move || {
                    let mut f = File::create(&path).unwrap();
                    f.write_all(&[i as u8; 4096]).unwrap();
                    group.sync(&f).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let state = lock(&group.state);
        assert!(!state.running);
        assert!((1..=16).contains(&state.finished), "{}", state.finished);
        assert_eq!(state.finished, state.started);
        drop(state);
        // Through the per-device table too.
        let f = File::create(dir.path().join("last")).unwrap();
        sync(&f).unwrap();
    }
}
