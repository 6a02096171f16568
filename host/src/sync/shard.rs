//! Shards: one sync split over N processes (`--shard K/N`). Each process lists both
//! sides whole but acts only on the paths whose hash falls in its shard, so N processes
//! on N machines together do exactly one sync, and each path is written (or deleted) by
//! one of them only.
//!
//! The hash is fixed and documented, so every process — any version, any platform —
//! assigns a path to the same shard: the 64-bit FNV-1a hash of the relative path's UTF-8
//! bytes (`/`-separated, as blobsync names it on both sides), passed through MurmurHash3's
//! 64-bit finaliser (FNV's low bits alone are poorly mixed), modulo N. Never std's
//! `DefaultHasher`, which is seeded per process.

use std::fmt;

/// One shard of a sync: `index` of `count` (0-based, as Kubernetes numbers completions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// This shard's number, from 0.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(self) -> u32 {
        self.count
    }

    /// True if the file at `path` (relative, `/`-separated) is this shard's.
    pub fn owns(self, path: &str) -> bool {
        shard_of(path, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    /// `K/N`, as `--shard` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard of `path` among `count` (0 when `count` is 0 or 1).
pub fn shard_of(path: &str, count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    (fmix64(fnv1a64(path.as_bytes())) % u64::from(count)) as u32
}

/// 64-bit FNV-1a.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash must never change: shards of one sync may run different versions.
    #[test]
    fn the_hash_is_pinned() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let pinned: Vec<u32> = ["a.txt", "dir/b.txt", "ünïcødé/😀", "x"]
            .iter()
            .map(|p| shard_of(p, 4))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [u32; 4] = [1, 0, 3, 1];

    #[test]
    fn every_path_is_in_exactly_one_shard_and_shards_are_balanced() {
        let n = 4;
        let mut sizes = [0u32; 4];
        for i in 0..10_000 {
            let path = format!("dir{}/file-{i}.dat", i % 17);
            let owners: Vec<u32> = (0..n)
                .filter(|k| Shard::new(*k, n).unwrap().owns(&path))
                .collect();
            assert_eq!(owners.len(), 1, "{path}");
            sizes[owners[0] as usize] += 1;
        }
        for size in sizes {
            assert!((2_300..2_700).contains(&size), "{sizes:?}");
        }
    }

    #[test]
    fn shard_numbers_are_checked_and_printed_as_given() {
        assert!(Shard::new(4, 4).is_none());
        assert!(Shard::new(0, 0).is_none());
        assert_eq!(Shard::new(2, 4).unwrap().to_string(), "2/4");
        assert!(Shard::new(0, 1).unwrap().owns("anything"));
    }
}
