//! The metadata a copy writes: what describes the source file comes from the source
//! (its time, its POSIX status, the link and folder markers); every other key the
//! destination blob holds — set by users or other tools — survives the copy.

use crate::endpoint::{Item, MTIME_KEY};

/// Keys that describe the file itself, never kept from a replaced blob: blobsync's and
/// rclone's times and modes, azcopy's POSIX status and entry-kind markers.
const FILE_KEYS: &[&str] = &[
    MTIME_KEY,
    "modtime",
    "posix_owner",
    "posix_group",
    "permissions",
    "posix_atime",
    "posix_ctime",
    "linux_btime",
    "posix_nlink",
    "posix_ino",
    "posix_dev",
    "posix_rdev",
    "linux_statx_mask",
    "linux_attribute",
    "linux_attribute_mask",
    "hdi_isfolder",
    "is_symlink",
    "is_fifo",
    "is_socket",
    "is_char_dev",
    "is_block_dev",
    "mode",
    "uid",
    "gid",
    "atime",
    "btime",
    "rdev",
];

/// True for a key that describes the file rather than the user's intent.
pub(crate) fn describes_file(key: &str) -> bool {
    FILE_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The metadata for copying `source` over `destination` (sorted, without the time key,
/// which the writer sets): the destination blob's own keys, then the source's.
pub(crate) fn for_copy(source: &Item, destination: Option<&Item>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = destination
        .filter(|d| d.blob.is_some())
        .map(|d| {
            d.metadata
                .iter()
                .filter(|(k, _)| !describes_file(k))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in &source.metadata {
        if key.eq_ignore_ascii_case(MTIME_KEY) {
            continue;
        }
        let key = key.to_ascii_lowercase();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.clone_from(value),
            None => out.push((key, value.clone())),
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::BlobProps;

    fn item(metadata: &[(&str, &str)], blob: bool) -> Item {
        Item {
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            blob: blob.then(|| Box::new(BlobProps::default())),
            ..Item::new("f", 1, 1)
        }
    }

    #[test]
    fn user_keys_of_the_replaced_blob_survive_and_file_keys_come_from_the_source() {
        let destination = item(
            &[
                ("owner", "finance"),
                ("is_symlink", "true"),
                ("permissions", "33188"),
                ("mtime", "2020-01-01T00:00:00Z"),
                ("project", "old"),
            ],
            true,
        );
        let source = item(&[("project", "new"), ("permissions", "33261")], false);
        assert_eq!(
            for_copy(&source, Some(&destination)),
            [
                ("owner".to_string(), "finance".to_string()),
                ("permissions".to_string(), "33261".to_string()),
                ("project".to_string(), "new".to_string()),
            ]
        );
        // A local destination's keys are its own status, not metadata to keep.
        let local = item(&[("permissions", "1")], false);
        assert!(for_copy(&item(&[], true), Some(&local)).is_empty());
    }
}
