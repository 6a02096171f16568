//! Deleting a listed file (or an empty folder stub), and moving one into the backup
//! folder — only the version that was listed, and only beneath the folder: every path is
//! resolved from the folder's handle without following links, and the last name is
//! removed or renamed with `unlinkat`/`renameat` on its folder's handle.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::Files;
use crate::endpoint::{DeleteTarget, EndpointError, ErrorClass};
use crate::localfs::{Beneath, Parent, beneath};

/// Deletes `target` if it is still the listed version; one already gone is deleted.
pub(super) fn delete(files: &Files, target: &DeleteTarget) -> Result<(), EndpointError> {
    let full = files.full_path(&target.path);
    let parent = match files.beneath.parent(&target.path, false) {
        Ok(p) => p,
        // A folder of the path is gone: so is the entry.
        Err(crate::localfs::Refused::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(());
        }
        Err(r) => {
            return Err(EndpointError::refused(
                "cannot delete",
                files.root(),
                &target.path,
                r,
            ));
        }
    };
    let Some(st) = parent
        .stat()
        .map_err(|e| EndpointError::io("cannot delete", &full, e))?
    else {
        return Ok(());
    };
    let name = OsStr::from_bytes(&parent.name);
    if beneath::is_folder(&st) {
        // A folder stub: the folder goes if it is empty (what was in it is deleted on its
        // own).
        return match rustix::fs::unlinkat(&parent.dir, name, AtFlags::REMOVEDIR) {
            Ok(()) => Ok(()),
            Err(Errno::NOTEMPTY | Errno::EXIST) => {
                tracing::info!("{} is not empty; it was left", full.display());
                Ok(())
            }
            Err(e) => Err(EndpointError::io(
                "cannot delete the folder",
                &full,
                e.into(),
            )),
        };
    }
    if !super::is_listed(&st, &target.version) {
        return Err(EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed since it was listed; it was not deleted",
                full.display()
            ),
        )
        .at(full.display()));
    }
    rustix::fs::unlinkat(&parent.dir, name, AtFlags::empty())
        .map_err(|e| EndpointError::io("cannot delete", &full, e.into()))?;
    remove_empty_parents(&files.beneath, &target.path);
    Ok(())
}

/// Moves the listed version of `target` to `to` below `backup_root` (the backup folder,
/// on the same file system), replacing what is there.
pub(super) fn move_to(
    files: &Files,
    target: &DeleteTarget,
    backup_root: &Path,
    to: &str,
) -> Result<(), EndpointError> {
    let from = files.full_path(&target.path);
    let parent = files
        .beneath
        .parent(&target.path, false)
        .map_err(|r| EndpointError::refused("cannot back up", files.root(), &target.path, r))?;
    let st = parent
        .stat()
        .map_err(|e| EndpointError::io("cannot back up", &from, e))?
        .ok_or_else(|| {
            EndpointError::new(
                ErrorClass::NotFound,
                format!("cannot back up {}: it is gone", from.display()),
            )
        })?;
    if !beneath::is_folder(&st) && !super::is_listed(&st, &target.version) {
        return Err(EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{} changed since it was listed; it was not backed up, overwritten or deleted",
                from.display()
            ),
        )
        .at(from.display()));
    }
    let backup = Beneath::new(backup_root.to_path_buf());
    std::fs::create_dir_all(backup_root)
        .map_err(|e| EndpointError::io("cannot create the backup folder", backup_root, e))?;
    let dest: Parent = backup.parent(to, true).map_err(|r| {
        EndpointError::refused("cannot create the backup folder for", backup_root, to, r)
    })?;
    rustix::fs::renameat(
        &parent.dir,
        OsStr::from_bytes(&parent.name),
        &dest.dir,
        OsStr::from_bytes(&dest.name),
    )
    .map_err(|e| {
        let how = if e == Errno::XDEV {
            "cannot move it to the backup folder, which is on another file system"
        } else {
            "cannot move it to the backup folder"
        };
        EndpointError::io(how, &from, e.into())
    })?;
    remove_empty_parents(&files.beneath, &target.path);
    Ok(())
}

/// Removes the folders above `path` that a delete left empty (a folder another delete is
/// still emptying, or that holds anything, stays), never the root.
fn remove_empty_parents(beneath: &Beneath, path: &str) {
    let mut dir = path;
    while let Some((above, _)) = dir.rsplit_once('/') {
        let Ok(parent) = beneath.parent(above, false) else {
            return;
        };
        if rustix::fs::unlinkat(
            &parent.dir,
            OsStr::from_bytes(&parent.name),
            AtFlags::REMOVEDIR,
        )
        .is_err()
        {
            return;
        }
        tracing::debug!("removed {above}/, left empty by deletes");
        dir = above;
    }
}
