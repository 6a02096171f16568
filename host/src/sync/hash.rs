//! MD5 of local files, for comparators that ask for content hashes.
//!
//! Hashes are computed in parallel, only for pairs whose sizes match (different sizes
//! already mean different content), and each file is checked to be unchanged after it
//! was read.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use std::sync::Arc;

use super::Side;
use crate::endpoint::{FileIdentity, Item, mtime_ns};
use crate::store::{FileKey, Store, Write};

/// Hashes the local side of pairs, through the MD5 cache when there is one.
pub(crate) struct LocalHasher {
    root: PathBuf,
    local: Side,
    workers: usize,
    cache: Option<Arc<Store>>,
}

/// The MD5-cache key of one version of a local file.
pub(crate) fn cache_key(path: &Path, size: u64, mtime_ns: i64, identity: FileIdentity) -> FileKey {
    FileKey {
        path: path.to_string_lossy().into_owned(),
        size,
        mtime_ns,
        dev: identity.dev,
        ino: identity.ino,
        ctime_ns: identity.ctime_ns,
    }
}

/// The cache key of a listed local file under `root` (absolute), if it has an identity.
pub(crate) fn file_key(root: &Path, item: &Item) -> Option<FileKey> {
    Some(cache_key(
        &root.join(&item.path),
        item.size,
        item.mtime_ns,
        item.identity?,
    ))
}

/// The cache key of the file at `path` as it is now.
pub(crate) fn current_key(path: &Path) -> Option<FileKey> {
    let meta = std::fs::metadata(path).ok()?;
    Some(cache_key(
        path,
        meta.len(),
        mtime_ns(&meta),
        FileIdentity::of(&meta),
    ))
}

impl LocalHasher {
    /// A hasher for files under `root` (absolute), the `local` side of the sync.
    pub(crate) fn new(
        root: PathBuf,
        local: Side,
        workers: usize,
        cache: Option<Arc<Store>>,
    ) -> Self {
        LocalHasher {
            root,
            local,
            workers: workers.max(1),
            cache,
        }
    }

    /// Sets `entry.md5` on the local item of every pair whose sizes match. Returns the
    /// positions (in iteration order) of pairs that could not be hashed, with why.
    pub(crate) fn hash_pairs<'a>(
        &self,
        pairs: impl Iterator<Item = (&'a mut Item, &'a mut Item)>,
    ) -> Vec<(usize, String)> {
        let mut jobs: Vec<(usize, &'a mut Item)> = Vec::new();
        for (i, (source, destination)) in pairs.enumerate() {
            if source.size != destination.size {
                continue;
            }
            let local = match self.local {
                Side::Source => source,
                Side::Destination => destination,
            };
            if local.md5.is_none() {
                jobs.push((i, local));
            }
        }
        if jobs.is_empty() {
            return Vec::new();
        }
        // Served from the cache where the file is the version that was hashed.
        let keys: Vec<Option<FileKey>> = jobs
            .iter()
            .map(|(_, item)| file_key(&self.root, item))
            .collect();
        if let Some(cache) = &self.cache {
            let known: Vec<FileKey> = keys.iter().flatten().cloned().collect();
            let mut cached = cache.cached_md5s(&known).into_iter();
            let mut remaining = Vec::with_capacity(jobs.len());
            let mut remaining_keys = Vec::with_capacity(jobs.len());
            for ((index, item), key) in jobs.into_iter().zip(keys) {
                let hit = if key.is_some() {
                    cached.next().flatten()
                } else {
                    None
                };
                match hit {
                    Some(md5) => item.md5 = Some(md5),
                    None => {
                        remaining.push((index, item));
                        remaining_keys.push(key);
                    }
                }
            }
            return self.hash_and_remember(remaining, remaining_keys);
        }
        self.hash_and_remember(jobs, keys)
    }

    fn hash_and_remember(
        &self,
        jobs: Vec<(usize, &mut Item)>,
        keys: Vec<Option<FileKey>>,
    ) -> Vec<(usize, String)> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let inputs: Vec<(PathBuf, u64, i64)> = jobs
            .iter()
            .map(|(_, item)| (self.root.join(&item.path), item.size, item.mtime_ns))
            .collect();
        let results = hash_in_parallel(&inputs, self.workers);
        let mut failed = Vec::new();
        for (((index, item), result), key) in jobs.into_iter().zip(results).zip(keys) {
            match result {
                Ok(md5) => {
                    item.md5 = Some(md5);
                    if let (Some(cache), Some(key)) = (&self.cache, key) {
                        cache.write(Write::Md5(key, md5));
                    }
                }
                Err(message) => failed.push((index, message)),
            }
        }
        failed
    }
}

/// MD5s of `(path, size, mtime)` files on up to `workers` threads, in input order.
fn hash_in_parallel(
    inputs: &[(PathBuf, u64, i64)],
    workers: usize,
) -> Vec<Result<[u8; 16], String>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(inputs.len()) {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((path, size, mtime)) = inputs.get(i) else {
                        break;
                    };
                    let _ = tx.send((i, md5_file(path, *size, *mtime)));
                }
            });
        }
    });
    drop(tx);
    let mut results: Vec<Result<[u8; 16], String>> = vec![Err("not hashed".into()); inputs.len()];
    for (i, r) in rx {
        results[i] = r;
    }
    results
}

/// The MD5 of a file, failing if its size or modification time is not the listed one
/// (before or after reading).
pub(crate) fn md5_file(path: &Path, size: u64, listed_mtime: i64) -> Result<[u8; 16], String> {
    let changed = |meta: &std::fs::Metadata| meta.len() != size || mtime_ns(meta) != listed_mtime;
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if changed(&meta) {
        return Err(format!("{} changed since it was listed", path.display()));
    }
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if changed(&meta) {
        return Err(format!(
            "{} changed while it was being hashed",
            path.display()
        ));
    }
    Ok(hasher.finalize().into())
}
