//! Validating `--backup-dir`, `--suffix` and `--suffix-keep-extension`: the backup location
//! must be of the destination's kind — a folder on the same file system, or a container
//! or folder in the same account — and outside the synced tree.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::endpoint::azure::BlobLocation;
use crate::sync::{BackupConfig, Location};

/// The nearest existing folder at or above `path` (absolute), and its device.
fn existing(path: &Path) -> Option<(PathBuf, u64)> {
    let absolute = std::path::absolute(path).ok()?;
    absolute.ancestors().find_map(|p| {
        let meta = std::fs::metadata(p).ok()?;
        let canonical = p.canonicalize().ok()?;
        let rest = absolute.strip_prefix(p).ok()?;
        Some((canonical.join(rest), meta.dev()))
    })
}

fn check_local(backup: &Path, destination: &Path, of: Of<'_>) -> Result<(), String> {
    let Of { flag, side } = of;
    let (Some((b, b_dev)), Some((d, d_dev))) = (existing(backup), existing(destination)) else {
        return Err(format!(
            "{flag} {}: cannot resolve the folder or {side}'s",
            backup.display()
        ));
    };
    if b.starts_with(&d) || d.starts_with(&b) {
        return Err(format!(
            "{flag} {}: it overlaps the synced folder {}; choose a folder outside it",
            backup.display(),
            destination.display()
        ));
    }
    if b_dev != d_dev {
        return Err(format!(
            "{flag} {}: it is on another file system than {}; entries are moved there \
             (renamed), so choose a folder on the same file system",
            backup.display(),
            destination.display()
        ));
    }
    Ok(())
}

fn check_blob(backup: &BlobLocation, destination: &BlobLocation, of: Of<'_>) -> Result<(), String> {
    let Of { flag, side } = of;
    if backup.account != destination.account || backup.endpoint != destination.endpoint {
        return Err(format!(
            "{flag} {backup}: it is in another account than {side} \
             {destination}; blobs are copied within one account, so choose a container there"
        ));
    }
    if backup.container == destination.container {
        let (b, d) = (&backup.prefix, &destination.prefix);
        let below = |inner: &str, outer: &str| {
            outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
        };
        if below(b, d) || below(d, b) {
            return Err(format!(
                "{flag} {backup}: it overlaps the synced folder {destination}; choose \
                 another container or a folder outside it"
            ));
        }
    }
    Ok(())
}

/// Which flag names the backup location, and what the messages call the location whose
/// entries it keeps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Of<'a> {
    pub flag: &'a str,
    pub side: &'a str,
}

/// `sync`'s `--backup-dir`, which keeps the destination's entries.
pub(super) const DESTINATION: Of<'static> = Of {
    flag: "--backup-dir",
    side: "the destination",
};

/// The backup settings of a sync to `destination`; the error is a usage message.
pub(super) fn backup(
    location: Option<Location>,
    suffix: Option<&str>,
    keep_extension: bool,
    destination: &Location,
) -> Result<Option<BackupConfig>, String> {
    backup_of(location, suffix, keep_extension, destination, DESTINATION)
}

/// The backup settings for `destination`'s entries, given by `of.flag`.
pub(super) fn backup_of(
    location: Option<Location>,
    suffix: Option<&str>,
    keep_extension: bool,
    destination: &Location,
    of: Of<'_>,
) -> Result<Option<BackupConfig>, String> {
    let Of { flag, side } = of;
    if let Some(s) = suffix
        && s.contains('/')
    {
        return Err(format!(
            "--suffix {s:?}: a suffix cannot contain `/` (it is added to the file name)"
        ));
    }
    let Some(location) = location else {
        if suffix.is_some() || keep_extension {
            return Err(format!(
                "--suffix and --suffix-keep-extension name the copies kept in {flag}; \
                 give {flag} too"
            ));
        }
        return Ok(None);
    };
    if keep_extension && suffix.is_none() {
        return Err("--suffix-keep-extension needs --suffix".into());
    }
    match (&location, destination) {
        (Location::Local(b), Location::Local(d)) => check_local(b, d, of)?,
        (Location::Blob(b), Location::Blob(d)) => check_blob(b, d, of)?,
        (Location::Local(b), Location::Blob(_)) => {
            return Err(format!(
                "{flag} {}: {side} is a container, so the backup location \
                 must be a blob URL in the same account",
                b.display()
            ));
        }
        (Location::Blob(b), Location::Local(_)) => {
            return Err(format!(
                "{flag} {b}: {side} is a local folder, so the backup location \
                 must be a folder on the same file system"
            ));
        }
    }
    Ok(Some(BackupConfig {
        location,
        suffix: suffix.unwrap_or_default().to_string(),
        keep_extension,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(url: &str) -> Location {
        Location::Blob(BlobLocation::parse(url).unwrap())
    }

    #[test]
    fn a_blob_backup_must_be_in_the_account_and_outside_the_tree() {
        let dest = blob("https://acct.blob.core.windows.net/data/site");
        for ok in [
            "https://acct.blob.core.windows.net/backups",
            "https://acct.blob.core.windows.net/data/site-old",
            "https://acct.blob.core.windows.net/data/old/site",
        ] {
            assert!(
                backup(Some(blob(ok)), None, false, &dest)
                    .unwrap()
                    .is_some(),
                "{ok}"
            );
        }
        for (bad, says) in [
            (
                "https://other.blob.core.windows.net/backups",
                "another account",
            ),
            (
                "https://acct.blob.core.windows.net/data/site/old",
                "overlaps",
            ),
            ("https://acct.blob.core.windows.net/data", "overlaps"),
        ] {
            let e = backup(Some(blob(bad)), None, false, &dest).unwrap_err();
            assert!(
                e.contains(says) && e.starts_with("--backup-dir"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn local_backups_stay_outside_the_folder_and_suffixes_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = Location::Local(dir.path().join("data"));
        let inside = Location::Local(dir.path().join("data/.backup"));
        assert!(
            backup(Some(inside), None, false, &dest)
                .unwrap_err()
                .contains("overlaps")
        );
        let beside = Location::Local(dir.path().join("backup"));
        let config = backup(Some(beside.clone()), Some("-1"), true, &dest)
            .unwrap()
            .unwrap();
        assert_eq!(
            (config.suffix.as_str(), config.keep_extension),
            ("-1", true)
        );
        assert!(
            backup(Some(beside.clone()), Some("a/b"), false, &dest)
                .unwrap_err()
                .contains("`/`")
        );
        assert!(
            backup(None, Some("-1"), false, &dest)
                .unwrap_err()
                .contains("--backup-dir")
        );
        assert!(
            backup(Some(beside), None, true, &dest)
                .unwrap_err()
                .contains("needs --suffix")
        );
        let other_kind = blob("https://acct.blob.core.windows.net/bkp");
        assert!(
            backup(Some(other_kind), None, false, &dest)
                .unwrap_err()
                .contains("local folder")
        );
    }
}
