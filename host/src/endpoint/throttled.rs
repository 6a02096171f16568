//! An endpoint whose reads keep to a bandwidth cap, [`Throttled`] (`--cap-mbps`), in the
//! manner of object_store's `ThrottledStore`: it wraps any endpoint, and every session
//! endpoint is wrapped with one shared [`RateLimiter`].
//!
//! What is metered is the bytes read through its readers, before each read. Every byte
//! that passes through blobsync is read from an endpoint exactly once — a streamed copy's
//! blocks are read from the source before they are written, a blob hashed for `check
//! --download` is only read — so metering reads counts each byte once, where metering
//! writes too would count a streamed copy twice. A block that a killed attempt left at
//! the destination ([`Writer::resumed`]) is neither read nor sent again, and costs
//! nothing. A server-side copy ([`CopyWriter`]) moves no byte through blobsync, so the
//! cap does not apply to it: the service reads the source itself.

use std::sync::Arc;

use bytes::Bytes;

use super::reads_through::{ReadLimit, ReadsThrough};
use super::{EndpointError, Reader};

/// A token bucket over bytes (`--cap-mbps`). It holds at most one second of tokens, so a
/// pause is never followed by a burst above the cap.
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_second: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl RateLimiter {
    /// A limit of `megabits` per second (10^6 bit/s, as azcopy's `--cap-mbps`).
    pub fn new(megabits: f64) -> Self {
        let bytes_per_second = megabits * 1_000_000.0 / 8.0;
        RateLimiter {
            bytes_per_second,
            state: tokio::sync::Mutex::new((bytes_per_second, tokio::time::Instant::now())),
        }
    }

    /// Waits until `bytes` may be sent.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let mut state = self.state.lock().await;
            let now = tokio::time::Instant::now();
            let elapsed = now.duration_since(state.1).as_secs_f64();
            state.0 = (state.0 + elapsed * self.bytes_per_second).min(self.bytes_per_second);
            state.1 = now;
            state.0 -= bytes as f64;
            if state.0 < 0.0 {
                -state.0 / self.bytes_per_second
            } else {
                0.0
            }
        };
        if wait > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
        }
    }
}

/// `E`, whose reads wait for the rate.
pub type Throttled<E> = ReadsThrough<E, Arc<RateLimiter>>;

impl ReadLimit for Arc<RateLimiter> {
    fn wrap(&self, reader: Box<dyn Reader>) -> Box<dyn Reader> {
        Box::new(ThrottledReader {
            inner: reader,
            rate: self.clone(),
        })
    }
}

/// A reader whose every read first waits for its bytes.
struct ThrottledReader {
    inner: Box<dyn Reader>,
    rate: Arc<RateLimiter>,
}

#[async_trait::async_trait]
impl Reader for ThrottledReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        self.rate.take(len as u64).await;
        self.inner.read(offset, len).await
    }

    async fn read_checked(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        self.rate.take(len as u64).await;
        self.inner.read_checked(offset, len).await
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        self.inner.finish().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::endpoint::memory::MemoryEndpoint;
    use crate::endpoint::{CommitInfo, Endpoint, EndpointKind, Item, WriteShape, WriteTarget};

    const T: i64 = 1_700_000_000_000_000_000;

    /// 8 Mbit/s: a million bytes a second.
    fn a_million_bytes_a_second() -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new(8.0))
    }

    fn source(size: usize) -> (MemoryEndpoint, Item) {
        let memory = MemoryEndpoint::new(EndpointKind::Local);
        memory.insert("big.bin", &vec![7; size], T);
        let item = memory.listed("big.bin").unwrap();
        (memory, item)
    }

    /// Reads `item` whole through `endpoint`, in blocks of 100,000 bytes, four at once.
    async fn read_all(endpoint: &dyn Endpoint, item: &Item) -> u64 {
        use futures::StreamExt;
        let reader = endpoint.open_reader(item).await.unwrap();
        let reader = &*reader;
        let read: Vec<usize> = futures::stream::iter((0..item.size).step_by(100_000))
            .map(|offset| async move {
                let len = 100_000.min(item.size - offset) as usize;
                reader.read(offset, len).await.unwrap().len()
            })
            .buffer_unordered(4)
            .collect()
            .await;
        reader.finish().await.unwrap();
        read.iter().sum::<usize>() as u64
    }

    #[tokio::test(start_paused = true)]
    async fn reading_n_bytes_takes_n_over_the_rate_less_the_first_seconds_tokens() {
        let (memory, item) = source(5_000_000);
        let throttled = Throttled::new(memory, a_million_bytes_a_second());
        let started = Instant::now();
        assert_eq!(read_all(&throttled, &item).await, 5_000_000);
        let took = started.elapsed();
        // The bucket starts with one second's worth: 4 seconds for the other 4 MB.
        assert!(took >= Duration::from_secs(4), "{took:?}");
        assert!(took < Duration::from_millis(4_200), "not slower: {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn endpoints_sharing_a_limiter_share_the_rate() {
        let rate = a_million_bytes_a_second();
        let (a, item_a) = source(3_000_000);
        let (b, item_b) = source(3_000_000);
        let (a, b) = (Throttled::new(a, rate.clone()), Throttled::new(b, rate));
        let started = Instant::now();
        let (read_a, read_b) = tokio::join!(read_all(&a, &item_a), read_all(&b, &item_b));
        assert_eq!(read_a + read_b, 6_000_000);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(5), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn writes_are_not_metered_their_bytes_were_read_first() {
        let destination = Throttled::new(
            MemoryEndpoint::new(EndpointKind::Blob),
            a_million_bytes_a_second(),
        );
        let started = Instant::now();
        let writer = destination
            .open_writer(&WriteTarget {
                path: "big.bin".into(),
                size: 5_000_000,
                shape: WriteShape::Blocks {
                    size: 1_000_000,
                    count: 5,
                },
                replaces: None,
                resume_tag: None,
            })
            .await
            .unwrap();
        for index in 0..5 {
            let block = Bytes::from(vec![1; 1_000_000]);
            writer
                .write_block(index, index * 1_000_000, block)
                .await
                .unwrap();
        }
        writer
            .commit(CommitInfo {
                md5: [0; 16],
                store_md5: false,
                mtime_ns: T,
                metadata: Vec::new(),
                settings: Default::default(),
            })
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_leaves_no_burst_above_the_cap() {
        let (memory, item) = source(3_000_000);
        let throttled = Throttled::new(memory, a_million_bytes_a_second());
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Instant::now();
        read_all(&throttled, &item).await;
        // A minute idle saves one second of tokens, not sixty.
        assert!(started.elapsed() >= Duration::from_secs(2));
    }
}
