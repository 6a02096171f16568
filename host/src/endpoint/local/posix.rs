//! POSIX properties kept in blob metadata (`--preserve-posix-properties`): written in
//! azcopy's keys on upload, and restored on download from azcopy's keys or rclone's
//! (`mode`, `uid`, `gid`, `atime`), so backups written by either tool restore with their
//! owners and permissions. Owners are restored only when running as root; a property that
//! cannot be restored is a warning, never a lost file.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Marks a blob that stands for a symbolic link (its content is the link's target).
pub(crate) const SYMLINK_KEY: &str = "is_symlink";

/// The azcopy keys for a file's status (owner, group, whole mode in decimal, times in ns),
/// sorted.
pub(super) fn status_metadata(meta: &Metadata) -> Vec<(String, String)> {
    let ns = |secs: i64, nsec: i64| secs.saturating_mul(1_000_000_000).saturating_add(nsec);
    let mut keys = vec![
        ("posix_owner".into(), meta.uid().to_string()),
        ("posix_group".into(), meta.gid().to_string()),
        ("permissions".into(), meta.mode().to_string()),
        (
            "modtime".into(),
            ns(meta.mtime(), meta.mtime_nsec()).to_string(),
        ),
        (
            "posix_atime".into(),
            ns(meta.atime(), meta.atime_nsec()).to_string(),
        ),
        (
            "posix_ctime".into(),
            ns(meta.ctime(), meta.ctime_nsec()).to_string(),
        ),
    ];
    keys.sort();
    keys
}

/// What stored metadata says to restore.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Restore {
    /// Permission bits (`0o777`; set-id and sticky bits are not restored).
    pub(super) mode: Option<u32>,
    pub(super) uid: Option<u32>,
    pub(super) gid: Option<u32>,
    /// Access time, ns since the epoch.
    pub(super) atime_ns: Option<i64>,
}

impl Restore {
    /// Reads azcopy's keys, then rclone's for what azcopy's do not say.
    pub(super) fn from_metadata(metadata: &[(String, String)]) -> Restore {
        let get = |key: &str| {
            metadata
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim())
        };
        let decimal = |key: &str| get(key).and_then(|v| v.parse::<u32>().ok());
        let mode = decimal("permissions")
            .or_else(|| get("mode").and_then(|v| u32::from_str_radix(v, 8).ok()))
            .map(|m| m & 0o777);
        let uid = decimal("posix_owner").or_else(|| decimal("uid"));
        let gid = decimal("posix_group")
            .or_else(|| decimal("gid"))
            .or(uid.filter(|_| get("posix_owner").is_none() && get("uid").is_some()));
        let atime_ns = get("posix_atime")
            .and_then(|v| v.parse::<i64>().ok())
            .or_else(|| get("atime").and_then(blobsync_plugin::parse_rfc3339_ns));
        Restore {
            mode,
            uid,
            gid,
            atime_ns,
        }
    }
}

/// Applies `restore` to a downloaded file before it is renamed into place; the problems
/// are logged as warnings.
pub(super) fn apply_to_file(file: &File, path: &Path, restore: &Restore) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(mode) = restore.mode
        && let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode))
    {
        tracing::warn!("cannot restore the permissions of {}: {e}", path.display());
    }
    if is_root()
        && (restore.uid.is_some() || restore.gid.is_some())
        && let Err(e) = std::os::unix::fs::fchown(file, restore.uid, restore.gid)
    {
        tracing::warn!("cannot restore the owner of {}: {e}", path.display());
    }
}

/// Applies the owner of `restore` to the symbolic link `name` in `dir` (its permissions
/// mean nothing); `path` names it in messages.
pub(super) fn apply_to_link(
    dir: &std::os::fd::OwnedFd,
    name: &str,
    path: &Path,
    restore: &Restore,
) {
    if !is_root() || (restore.uid.is_none() && restore.gid.is_none()) {
        return;
    }
    let result = rustix::fs::chownat(
        dir,
        name,
        restore.uid.map(rustix::fs::Uid::from_raw),
        restore.gid.map(rustix::fs::Gid::from_raw),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    );
    if let Err(e) = result {
        tracing::warn!("cannot restore the owner of {}: {e}", path.display());
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn azcopy_keys_restore_permission_bits_owner_and_access_time() {
        let r = Restore::from_metadata(&meta(&[
            ("posix_owner", "1234"),
            ("posix_group", "5678"),
            ("permissions", "35309"), // 0o104755: the set-uid bit is dropped
            ("posix_atime", "1795983171583662533"),
        ]));
        assert_eq!(
            r,
            Restore {
                mode: Some(0o755),
                uid: Some(1234),
                gid: Some(5678),
                atime_ns: Some(1_795_983_171_583_662_533),
            }
        );
    }

    #[test]
    fn rclone_keys_are_understood_with_an_octal_mode_and_rfc3339_times() {
        let r = Restore::from_metadata(&meta(&[
            ("mode", "100640"),
            ("uid", "1234"),
            ("atime", "2024-01-02T03:04:05.5Z"),
        ]));
        assert_eq!(r.mode, Some(0o640));
        assert_eq!(
            (r.uid, r.gid),
            (Some(1234), Some(1234)),
            "gid defaults to uid"
        );
        assert_eq!(r.atime_ns, Some(1_704_164_645_500_000_000));
        assert_eq!(
            Restore::from_metadata(&meta(&[("other", "1")])),
            Restore::default()
        );
    }

    #[test]
    fn a_files_status_is_written_in_azcopys_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let m = std::fs::metadata(&path).unwrap();
        let keys = status_metadata(&m);
        let get = |k: &str| keys.iter().find(|(a, _)| a == k).unwrap().1.clone();
        assert_eq!(get("permissions"), m.mode().to_string());
        assert_eq!(get("posix_owner"), m.uid().to_string());
        assert_eq!(
            Restore::from_metadata(&keys).mode,
            Some(m.mode() & 0o777),
            "what is written restores"
        );
    }
}
