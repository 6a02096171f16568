//! Local trees: writing files, setting times, deterministic contents, listing what is
//! there.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use md5::Digest;

/// MD5 as hex.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5::Md5::digest(data))
}

/// Writes `data` to `root/rel`, creating parent folders.
pub fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// Sets a file's modification time to `secs` seconds (plus `nanos`) since the epoch.
pub fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let t = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_modified(t))
        .unwrap();
}

/// A file's modification time in ns.
pub fn mtime_ns(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Files under `root` (relative paths, sorted), including hidden ones.
pub fn files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a tree holds, not following links: each entry's content (a link's target), mode
/// and modification time. Two snapshots are equal when nothing was written, renamed,
/// re-timed, re-moded or deleted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(std::collections::BTreeMap<PathBuf, (Vec<u8>, u32, i64)>);

/// A [`Snapshot`] of `dir`.
pub fn snapshot(dir: &Path) -> Snapshot {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    fn walk(
        root: &Path,
        dir: &Path,
        out: &mut std::collections::BTreeMap<PathBuf, (Vec<u8>, u32, i64)>,
    ) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec()
            } else if meta.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                (content, meta.mode(), mtime),
            );
            if meta.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    Snapshot(out)
}

/// A folder of files beside a sync's root that no run may touch: `victim.txt` (mode
/// 0640, an old time) and `deep/inner.txt`. Compare [`snapshot`]s of it before and after.
pub fn sentinel(parent: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent.join("outside");
    let victim = write(&dir, "victim.txt", b"must stay as it is");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o640)).unwrap();
    set_mtime(&victim, 1_600_000_000, 7);
    write(&dir, "deep/inner.txt", b"also untouched");
    dir
}
