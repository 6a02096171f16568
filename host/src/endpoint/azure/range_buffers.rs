//! Buffers for ranged reads, used again once the copy is done with them. A large blob is
//! read in ranges of the block size; a fresh buffer for each costs a page fault and a
//! zeroed page for every 4 KiB of it (and, freed, goes back to the kernel), which for a
//! big download was a fifth of its CPU time in the kernel. A buffer the writer has
//! finished with comes back here, up to [`KEEP`] bytes in all: no more than the reads
//! had in flight at once, which the endpoints' buffer budget bounds.

use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

/// Smaller reads are left to the allocator.
const POOLED_FROM: usize = 1 << 20;
/// The most kept for reuse, in bytes.
const KEEP: usize = 256 << 20;

#[derive(Default)]
struct Free {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

static FREE: Mutex<Free> = Mutex::new(Free {
    buffers: Vec::new(),
    bytes: 0,
});

fn free() -> MutexGuard<'static, Free> {
    FREE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A buffer of `len` bytes to read a range into: one given back earlier where one fits
/// (the read overwrites what it held), else a new one.
pub(super) fn take(len: usize) -> Vec<u8> {
    if len >= POOLED_FROM {
        let mut free = free();
        // Not more than twice the size asked for: a small range does not hold a big buffer.
        let fits = |b: &Vec<u8>| b.capacity() >= len && b.capacity() / 2 <= len;
        if let Some(i) = free.buffers.iter().position(fits) {
            let mut buf = free.buffers.swap_remove(i);
            free.bytes -= buf.capacity();
            drop(free);
            buf.resize(len, 0);
            return buf;
        }
    }
    vec![0; len]
}

/// `buf` as the bytes the copy hands on; a large one comes back here when the last of
/// them is dropped.
pub(super) fn freeze(buf: Vec<u8>) -> Bytes {
    if buf.capacity() < POOLED_FROM {
        return Bytes::from(buf);
    }
    Bytes::from_owner(Returned(buf))
}

struct Returned(Vec<u8>);

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        let mut free = free();
        if free.bytes + buf.capacity() <= KEEP {
            free.bytes += buf.capacity();
            free.buffers.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_buffer_comes_back_and_is_used_again_at_the_size_asked() {
        let mut buf = take(3 << 20);
        buf.fill(7);
        let at = buf.as_ptr();
        let bytes = freeze(buf);
        assert_eq!(bytes.len(), 3 << 20);
        let copy = bytes.clone();
        drop(bytes);
        // Still held by the clone: not given out again.
        let other = take(3 << 20);
        assert_ne!(other.as_ptr(), at);
        drop(copy);
        let again = take((3 << 20) - 5);
        assert_eq!(again.len(), (3 << 20) - 5);
        assert!(
            std::ptr::eq(again.as_ptr(), at),
            "the buffer given back is used again"
        );
        // Small reads are not pooled.
        assert_eq!(freeze(take(10)).len(), 10);
        drop(other);
    }
}
