//! Two two-way runs on the same pair exclude each other: a local lock (a file beside the
//! database, held with the system's file lock, released by the system if the run dies)
//! and a lease on each blob side's lock blob (for runs on other machines and pods, which
//! expires if the run dies). A lock held elsewhere ends the run at once, naming the
//! holder.

use std::io::Write as _;
use std::path::Path;

use md5::{Digest, Md5};

use super::RunError;
use crate::endpoint::{Endpoint, HeldLock, Lock};

/// The locks a run holds.
pub(crate) struct PairLocks {
    /// Held as long as it is open.
    _file: std::fs::File,
    leases: Vec<Box<dyn HeldLock>>,
}

impl PairLocks {
    /// Gives every lock up.
    pub(crate) async fn release(self) {
        release_all(self.leases).await;
    }
}

/// The lock's name for the pair of `path1` and `path2`: the same on every machine.
pub(crate) fn lock_name(path1: &str, path2: &str) -> String {
    let digest = Md5::digest(format!("{path1}\n{path2}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("bisync-{hex}")
}

/// Who this run is, for another run's message.
fn holder() -> String {
    let host = crate::endpoint::this_host();
    let since = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_default();
    format!(
        "blobsync bisync on {host}, process {}, since {since}",
        std::process::id()
    )
}

fn busy(what: &str, holder: &str) -> RunError {
    RunError::Busy(format!(
        "another two-way sync of these locations is running ({what}, held by {holder}); \
         nothing was changed. It is released when that run ends (a lease left by a run \
         that died expires within a minute): run again then"
    ))
}

/// Takes the local lock (in `folder`) and the lease on each endpoint that keeps locks.
pub(crate) async fn lock_pair(
    folder: &Path,
    name: &str,
    endpoints: [&dyn Endpoint; 2],
) -> Result<PairLocks, RunError> {
    let holder = holder();
    let file = lock_file(folder, name, &holder)?;
    let mut leases = Vec::new();
    for endpoint in endpoints {
        match endpoint.lock(name, &holder).await {
            Ok(Lock::Held(lease)) => leases.push(lease),
            Ok(Lock::Unsupported) => {}
            Ok(Lock::Taken(by)) => {
                release_all(leases).await;
                return Err(busy(&endpoint.describe(), &by));
            }
            Err(e) => {
                release_all(leases).await;
                return Err(e.into());
            }
        }
    }
    Ok(PairLocks {
        _file: file,
        leases,
    })
}

async fn release_all(leases: Vec<Box<dyn HeldLock>>) {
    for lease in leases {
        lease.release().await;
    }
}

/// The local lock: `folder/locks/NAME.lock`, locked, holding who holds it.
fn lock_file(folder: &Path, name: &str, holder: &str) -> Result<std::fs::File, RunError> {
    let locks = folder.join("locks");
    let path = locks.join(format!("{name}.lock"));
    let cannot =
        |e: std::io::Error| RunError::Internal(format!("cannot lock {}: {e}", path.display()));
    std::fs::create_dir_all(&locks).map_err(cannot)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let by = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(busy(&path.display().to_string(), by.trim()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
    }
    file.set_len(0).map_err(cannot)?;
    file.write_all(holder.as_bytes()).map_err(cannot)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointKind, MemoryEndpoint};

    #[test]
    fn a_second_run_on_the_pair_is_refused_until_the_first_releases() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (
            MemoryEndpoint::new(EndpointKind::Local),
            MemoryEndpoint::new(EndpointKind::Blob),
        );
        let name = lock_name("/a", "http://x/c");
        assert_eq!(name, lock_name("/a", "http://x/c"));
        assert_ne!(name, lock_name("/b", "http://x/c"));
        let held = rt
            .block_on(lock_pair(dir.path(), &name, [&one, &two]))
            .unwrap();
        let refused = rt.block_on(lock_pair(dir.path(), &name, [&one, &two]));
        let Err(RunError::Busy(why)) = refused else {
            panic!("{:?}", refused.err())
        };
        assert!(why.contains("process"), "{why}");
        // Another machine: only the lease is there.
        let elsewhere = tempfile::tempdir().unwrap();
        let refused = rt.block_on(lock_pair(elsewhere.path(), &name, [&one, &two]));
        assert!(matches!(refused, Err(RunError::Busy(_))));
        rt.block_on(held.release());
        let again = rt.block_on(lock_pair(elsewhere.path(), &name, [&one, &two]));
        assert!(again.is_ok());
    }
}
