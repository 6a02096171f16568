//! MD5 of local files, for comparators that ask for content hashes.
//!
//! Hashes are computed in parallel, only for pairs whose sizes match (different sizes
//! already mean different content), and each file is checked to be unchanged after it
//! was read.

use std::io::Read;
use std::path::PathBuf;

use md5::{Digest, Md5};

use std::sync::Arc;

use crate::endpoint::Item;
use crate::plugin::{EndpointKind, Side};
use crate::store::{FileKey, Store, Write};

/// Hashes the local side of pairs, through the MD5 cache when there is one.
pub struct LocalHasher {
    root: PathBuf,
    local: Side,
    workers: usize,
    cache: Option<Arc<Store>>,
}

/// The cache key of a listed local file under `root` (absolute), if it has an identity.
pub fn file_key(root: &std::path::Path, item: &Item) -> Option<FileKey> {
    let (dev, ino, ctime_ns) = item.identity?;
    Some(FileKey {
        path: root.join(&item.entry.path).to_string_lossy().into_owned(),
        size: item.entry.size,
        mtime_ns: item.entry.mtime_ns,
        dev,
        ino,
        ctime_ns,
    })
}

impl LocalHasher {
    /// A hasher for files under `root` (absolute), the `local` side of the sync.
    pub fn new(root: PathBuf, local: Side, workers: usize, cache: Option<Arc<Store>>) -> Self {
        LocalHasher {
            root,
            local,
            workers: workers.max(1),
            cache,
        }
    }

    /// Sets `entry.md5` on the local item of every pair whose sizes match. Returns the
    /// positions (in iteration order) of pairs that could not be hashed, with why.
    pub fn hash_pairs<'a>(
        &self,
        pairs: impl Iterator<Item = (&'a mut Item, &'a mut Item)>,
    ) -> Vec<(usize, String)> {
        let mut jobs: Vec<(usize, &'a mut Item)> = Vec::new();
        for (i, (source, destination)) in pairs.enumerate() {
            if source.entry.size != destination.entry.size {
                continue;
            }
            let local = match self.local {
                Side::Source => source,
                Side::Destination => destination,
            };
            debug_assert_eq!(local.entry.endpoint, EndpointKind::Local);
            if local.entry.md5.is_none() {
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
                    Some(md5) => item.entry.md5 = Some(md5.to_vec()),
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
            .map(|(_, item)| {
                (
                    self.root.join(&item.entry.path),
                    item.entry.size,
                    item.entry.mtime_ns,
                )
            })
            .collect();
        let results = hash_in_parallel(&inputs, self.workers);
        let mut failed = Vec::new();
        for (((index, item), result), key) in jobs.into_iter().zip(results).zip(keys) {
            match result {
                Ok(md5) => {
                    item.entry.md5 = Some(md5.to_vec());
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
pub fn md5_file(path: &std::path::Path, size: u64, mtime_ns: i64) -> Result<[u8; 16], String> {
    use std::os::unix::fs::MetadataExt;
    let changed = |meta: &std::fs::Metadata| {
        meta.len() != size || meta.mtime() * 1_000_000_000 + meta.mtime_nsec() != mtime_ns
    };
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
