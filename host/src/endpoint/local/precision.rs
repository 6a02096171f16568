//! How precisely a folder's file system keeps modification times, measured once on the
//! folder itself (as rclone does): a scratch file is given a time that no coarser clock
//! can hold, and the time read back says which step the file system rounded it to.

use std::fs::FileTimes;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::endpoint::mtime_ns;

/// The steps file systems keep times in, finest first: ns (ext4, XFS, btrfs), µs, ms,
/// 10 ms, 100 ms, s (ext2/ext3 with small inodes, many SMB and NFS mounts), 2 s (FAT).
const STEPS: &[u64] = &[
    1,
    1_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    2_000_000_000,
];

/// A time divisible by none of the steps but the first: an odd second, 123456789 ns.
const PROBE_NS: i64 = 1_700_000_001_123_456_789;

/// The coarsest step that divides `read_back`, the probe time as the file system kept it.
fn step_of(read_back: i64) -> u64 {
    if read_back == PROBE_NS {
        return 1;
    }
    STEPS
        .iter()
        .rev()
        .copied()
        .find(|&step| read_back.rem_euclid(step as i64) == 0)
        .unwrap_or(1)
}

/// The precision of the times kept below `folder` (or, if it does not exist yet, its
/// nearest existing parent), in ns; `None` if no scratch file can be written there.
pub(super) fn measure(folder: &Path) -> Option<u64> {
    let dir = folder.ancestors().find(|p| p.is_dir())?;
    let file = tempfile::Builder::new()
        .prefix(".blobsync-precision-")
        .tempfile_in(dir)
        .ok()?;
    let time = SystemTime::UNIX_EPOCH + Duration::from_nanos(PROBE_NS as u64);
    file.as_file()
        .set_times(FileTimes::new().set_modified(time))
        .ok()?;
    let meta = std::fs::metadata(file.path()).ok()?;
    Some(step_of(mtime_ns(&meta)))
}

/// A time far past 2038 (in 2242): file systems with 32-bit times (ext2 and ext3 with
/// 128-byte inodes) keep their last second instead.
const LATE_NS: i64 = (1 << 33) * 1_000_000_000;

/// The latest time the file system below `folder` keeps, when it cannot keep times up
/// to 2242 (it keeps its last second instead of a later one); `None` otherwise or if
/// nothing can be written.
pub(super) fn measure_latest(folder: &Path) -> Option<i64> {
    let dir = folder.ancestors().find(|p| p.is_dir())?;
    let file = tempfile::Builder::new()
        .prefix(".blobsync-time-")
        .tempfile_in(dir)
        .ok()?;
    let time = SystemTime::UNIX_EPOCH + Duration::from_nanos(LATE_NS as u64);
    file.as_file()
        .set_times(FileTimes::new().set_modified(time))
        .ok()?;
    let kept = mtime_ns(&file.as_file().metadata().ok()?);
    (kept < LATE_NS).then_some(kept)
}

/// Which names the file system below `folder` (or its nearest existing parent) does not
/// tell apart: a scratch file is looked up under its name in the other letter case, and
/// one with a decomposed `é` under the composed one. `None` if nothing can be written.
pub(super) fn measure_fold(folder: &Path) -> Option<crate::endpoint::NameFold> {
    use crate::endpoint::NameFold;
    let dir = folder.ancestors().find(|p| p.is_dir())?;
    let finds = |written: &str, looked_up: &dyn Fn(&str) -> String| -> Option<bool> {
        let file = tempfile::Builder::new()
            .prefix(".blobsync-names-")
            .suffix(written)
            .tempfile_in(dir)
            .ok()?;
        let name = file.path().file_name()?.to_str()?.to_string();
        let other = looked_up(&name);
        // The name is new and random: if the other spelling finds anything, it finds this
        // file (FUSE file systems give one file other inode numbers under other names,
        // so the names are what is compared).
        let found = std::fs::symlink_metadata(dir.join(&other)).is_ok();
        let listed = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .any(|e| e.file_name().to_str() == Some(other.as_str()));
        Some(found && !listed)
    };
    let swap = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let compose = |name: &str| name.replace("e\u{301}", "\u{e9}");
    let case = finds("-aB", &swap)?;
    let normalization = finds("-e\u{301}", &compose)?;
    Some(match (case, normalization) {
        (false, false) => NameFold::Exact,
        (true, false) => NameFold::Case,
        (false, true) => NameFold::Normalization,
        (true, true) => NameFold::CaseAndNormalization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_is_read_from_how_the_probe_time_came_back() {
        assert_eq!(step_of(PROBE_NS), 1);
        assert_eq!(step_of(1_700_000_001_123_456_000), 1_000);
        assert_eq!(
            step_of(1_700_000_001_000_000_000),
            1_000_000_000,
            "truncated"
        );
        assert_eq!(
            step_of(1_700_000_002_000_000_000),
            2_000_000_000,
            "FAT rounds up"
        );
        assert_eq!(step_of(1_700_000_000_000_000_000), 2_000_000_000, "or down");
    }

    #[test]
    fn an_ordinary_linux_folder_tells_every_name_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            measure_fold(dir.path()),
            Some(crate::endpoint::NameFold::Exact)
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the scratch files are gone"
        );
    }

    #[test]
    fn a_nanosecond_file_system_measures_one_nanosecond_or_close() {
        let dir = tempfile::tempdir().unwrap();
        let step = measure(dir.path()).unwrap();
        assert!(step <= 1_000_000_000, "{step}");
        assert_eq!(
            measure(&dir.path().join("not/yet/there")),
            Some(step),
            "measured on the nearest existing parent"
        );
    }
}
