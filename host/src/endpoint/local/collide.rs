//! Names a folder does not tell apart. On a case-insensitive folder (exFAT, FAT, NTFS,
//! most macOS volumes) `a.txt` finds `A.txt`; on a normalisation-insensitive one the
//! NFD spelling of `é` finds the NFC one. When a write meets an entry it did not expect,
//! this says whether that entry is another name for the same slot — a collision, reported
//! as not syncable — rather than a change made by another writer.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::endpoint::{EndpointError, ErrorClass, NameFold};
use crate::localfs::Parent;

/// The folder's name for the entry `parent.name` finds, when it is another name: one
/// that differs from it only in letter case or Unicode normalisation, while the name
/// itself is not in the folder.
pub(super) fn other_name(parent: &Parent) -> Option<Vec<u8>> {
    let ours = std::str::from_utf8(&parent.name).ok()?;
    let key = NameFold::CaseAndNormalization.key(ours);
    let dir = rustix::fs::openat(
        parent.dir.as_fd(),
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let entries = rustix::fs::Dir::read_from(&dir).ok()?;
    let mut same = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_bytes();
        if name == parent.name.as_slice() {
            // The name itself is there: no collision.
            return None;
        }
        if same.is_none()
            && let Ok(text) = std::str::from_utf8(name)
            && NameFold::CaseAndNormalization.key(text) == key
        {
            same = Some(name.to_vec());
        }
    }
    same
}

/// The collision error for writing `full`, if the entry in the way is another name.
pub(super) fn explain(parent: &Parent, full: &Path) -> Option<EndpointError> {
    let other = other_name(parent)?;
    let other = String::from_utf8_lossy(&other).into_owned();
    Some(
        EndpointError::new(
            ErrorClass::Collision,
            format!(
                "not syncable: {} collides with {other:?}, already in that folder, which does \
                 not tell the two names apart (it ignores letter case or Unicode \
                 normalisation); nothing was overwritten — rename one of them",
                full.display()
            ),
        )
        .at(full.display()),
    )
}
