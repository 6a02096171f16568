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
use crate::localfs::{Beneath, Listed, open_listed, raw_names};
use crate::store::{FileKey, Store, Write};

/// Hashes the local side of pairs, through the MD5 cache when there is one.
pub(crate) struct LocalHasher {
    root: PathBuf,
    /// The folder, resolved beneath without following links.
    beneath: Beneath,
    /// The listing followed links (`--follow-symlinks`), so the hasher does too.
    follow_links: bool,
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

/// The cache key of the file at `relative` below `root` as it is now.
pub(crate) fn current_key(root: &Path, relative: &str) -> Option<FileKey> {
    use std::os::unix::ffi::OsStrExt;
    let os = raw_names::to_os(relative);
    let meta = std::fs::symlink_metadata(root.join(std::ffi::OsStr::from_bytes(&os))).ok()?;
    Some(cache_key(
        &root.join(relative),
        meta.len(),
        mtime_ns(&meta),
        FileIdentity::of(&meta),
    ))
}

impl LocalHasher {
    /// A hasher for files under `root` (absolute), the `local` side of the sync.
    pub(crate) fn new(
        root: PathBuf,
        follow_links: bool,
        local: Side,
        workers: usize,
        cache: Option<Arc<Store>>,
    ) -> Self {
        LocalHasher {
            beneath: Beneath::new(root.clone()),
            root,
            follow_links,
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
        self.hash_jobs(jobs)
    }

    /// Sets `md5` on every item (the local side's) that lacks one. Returns the positions
    /// of those that could not be hashed, with why.
    pub(crate) fn hash_items<'a>(
        &self,
        items: impl Iterator<Item = &'a mut Item>,
    ) -> Vec<(usize, String)> {
        self.hash_jobs(items.enumerate().filter(|(_, i)| i.md5.is_none()).collect())
    }

    /// The local side's side of the sync.
    pub(crate) fn side(&self) -> Side {
        self.local
    }

    /// Hashes `jobs` (position, item), from the cache where it can.
    fn hash_jobs(&self, jobs: Vec<(usize, &mut Item)>) -> Vec<(usize, String)> {
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
        let inputs: Vec<(&str, Listed)> = jobs
            .iter()
            .map(|(_, item)| {
                let listed = Listed {
                    size: item.size,
                    mtime_ns: item.mtime_ns,
                    identity: item.identity.map(|i| (i.dev, i.ino)),
                };
                (item.path.as_str(), listed)
            })
            .collect();
        let results = self.hash_in_parallel(&inputs);
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

impl LocalHasher {
    /// MD5s of listed files on up to `workers` threads, in input order.
    fn hash_in_parallel(&self, inputs: &[(&str, Listed)]) -> Vec<Result<[u8; 16], String>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..self.workers.min(inputs.len()) {
                let (tx, next) = (tx.clone(), &next);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((path, listed)) = inputs.get(i) else {
                            break;
                        };
                        let _ = tx.send((i, self.md5_file(path, listed)));
                    }
                });
            }
        });
        drop(tx);
        let mut results: Vec<Result<[u8; 16], String>> =
            vec![Err("not hashed".into()); inputs.len()];
        for (i, r) in rx {
            results[i] = r;
        }
        results
    }

    /// The MD5 of the listed file `path`: opened beneath the folder as an upload opens it,
    /// failing if it is not the listed version (before or after reading).
    fn md5_file(&self, path: &str, listed: &Listed) -> Result<[u8; 16], String> {
        let shown = self.root.join(path);
        let mut file = open_listed(&self.beneath, path, listed, self.follow_links)
            .map_err(|e| format!("cannot hash {}: {e}", shown.display()))?;
        let mut hasher = Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        crate::localfs::listed::check(&file, listed)
            .map_err(|e| format!("{} changed while it was being hashed: {e}", shown.display()))?;
        Ok(hasher.finalize().into())
    }
}
