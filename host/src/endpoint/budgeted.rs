//! An endpoint whose reads keep within a memory budget, [`Budgeted`] (`--buffer-mb`), in
//! the manner of object_store's `LimitStore`: it wraps any endpoint, and every session
//! endpoint is wrapped with one shared [`BufferBudget`].
//!
//! Each read first waits for room for its bytes, and the bytes it returns hold that room
//! for as long as any part of them lives (a [`Bytes`] that owns its permit): while a copy
//! carries the block to the writer, while the writer writes it out, and — a single-request
//! write, which sends its one block at commit — until the commit. So the budget counts the
//! blocks in memory, wherever they are, and nothing in the transfer stage handles it.
//!
//! Reads wait in the order they are made (the semaphore is fair), so a copy that asks for
//! its blocks in order gets them in order, and the blocks it holds are never waiting for
//! an earlier block of its own that cannot get room. A block larger than the whole budget
//! takes all of it. A block a killed attempt left at the destination
//! ([`Writer::resumed`]) is not counted: it is read back from the destination's own
//! temporary file, only hashed and dropped (it is not written again), and waiting for room
//! while holding it could stall the copy's earlier blocks behind it.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::reads_through::{ReadLimit, ReadsThrough};
use super::{EndpointError, Reader};

/// Memory for blocks in flight, in KiB permits, shared by every endpoint of a session.
#[derive(Debug, Clone)]
pub struct BufferBudget {
    semaphore: Arc<Semaphore>,
    total_kib: u32,
}

impl BufferBudget {
    /// A budget of `bytes` (at least 1 MiB).
    pub fn new(bytes: u64) -> Self {
        let total_kib = (bytes >> 10).clamp(1024, u32::MAX as u64 >> 4) as u32;
        BufferBudget {
            semaphore: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Waits for room for `bytes`; a block larger than the whole budget takes all of it.
    /// `None` only if the budget was closed, which never happens.
    async fn acquire(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let kib = (bytes.div_ceil(1024) as u32).clamp(1, self.total_kib);
        self.semaphore.clone().acquire_many_owned(kib).await.ok()
    }

    /// The bytes of the budget not held now.
    #[cfg(test)]
    fn free(&self) -> u64 {
        (self.semaphore.available_permits() as u64) << 10
    }
}

/// Bytes that hold their share of the budget until the last reference to them goes.
struct Held {
    data: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// `E`, whose reads wait for room in the budget.
pub type Budgeted<E> = ReadsThrough<E, BufferBudget>;

impl ReadLimit for BufferBudget {
    fn wrap(&self, reader: Box<dyn Reader>) -> Box<dyn Reader> {
        Box::new(BudgetedReader {
            inner: reader,
            budget: self.clone(),
        })
    }
}

/// A reader whose every read first waits for room, and whose bytes hold it.
struct BudgetedReader {
    inner: Box<dyn Reader>,
    budget: BufferBudget,
}

#[async_trait::async_trait]
impl Reader for BudgetedReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let permit = self.budget.acquire(len as u64).await;
        let data = self.inner.read(offset, len).await?;
        Ok(Bytes::from_owner(Held {
            data,
            _permit: permit,
        }))
    }

    async fn read_checked(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let permit = self.budget.acquire(len as u64).await;
        let data = self.inner.read_checked(offset, len).await?;
        Ok(Bytes::from_owner(Held {
            data,
            _permit: permit,
        }))
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        self.inner.finish().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::endpoint::memory::MemoryEndpoint;
    use crate::endpoint::{CommitInfo, Endpoint, EndpointKind, Item, WriteShape, WriteTarget};

    const T: i64 = 1_700_000_000_000_000_000;
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;

    fn source(size: u64, budget: &BufferBudget) -> (Budgeted<MemoryEndpoint>, Item) {
        let memory = MemoryEndpoint::new(EndpointKind::Local);
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        memory.insert("big.bin", &data, T);
        let item = memory.listed("big.bin").unwrap();
        (Budgeted::new(memory, budget.clone()), item)
    }

    fn target(size: u64, shape: WriteShape) -> WriteTarget {
        WriteTarget {
            path: "big.bin".into(),
            size,
            shape,
            replaces: None,
            resume_tag: None,
        }
    }

    fn info() -> CommitInfo {
        CommitInfo {
            md5: [0; 16],
            store_md5: false,
            mtime_ns: T,
            metadata: Vec::new(),
            settings: Default::default(),
        }
    }

    /// Copies with many blocks at once, each block read, held a while, then written: the
    /// bytes alive at any moment never exceed the budget, and do reach it.
    #[tokio::test(start_paused = true)]
    async fn concurrent_copies_never_hold_more_than_the_budget() {
        let budget = BufferBudget::new(MIB);
        let (source, item) = source(8 * MIB, &budget);
        let destination = Budgeted::new(MemoryEndpoint::new(EndpointKind::Blob), budget.clone());
        let block = 256 * KIB;
        let (live, most) = (AtomicU64::new(0), AtomicU64::new(0));
        let reader = source.open_reader(&item).await.unwrap();
        let writer = destination
            .open_writer(&target(
                8 * MIB,
                WriteShape::Blocks {
                    size: block,
                    count: 32,
                },
            ))
            .await
            .unwrap();
        let copies = (0..32).map(|index| {
            let (reader, writer, live, most) = (&reader, &writer, &live, &most);
            async move {
                let data = reader.read(index * block, block as usize).await.unwrap();
                let now = live.fetch_add(block, Ordering::SeqCst) + block;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10 + index % 3)).await;
                writer
                    .write_block(index, index * block, data)
                    .await
                    .unwrap();
                live.fetch_sub(block, Ordering::SeqCst);
            }
        });
        futures::future::join_all(copies).await;
        writer.commit(info()).await.unwrap();
        assert_eq!(
            most.load(Ordering::SeqCst),
            MIB,
            "at most, and up to, the budget"
        );
        assert_eq!(budget.free(), MIB, "all given back");
        let written = destination.inner().get("big.bin").unwrap();
        assert_eq!(written, source.inner().get("big.bin").unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_request_write_holds_its_block_until_the_commit() {
        let budget = BufferBudget::new(MIB);
        let (source, item) = source(MIB, &budget);
        let destination = Budgeted::new(MemoryEndpoint::new(EndpointKind::Blob), budget.clone());
        let reader = source.open_reader(&item).await.unwrap();
        let writer = destination
            .open_writer(&target(MIB, WriteShape::Single))
            .await
            .unwrap();
        let data = reader.read(0, MIB as usize).await.unwrap();
        writer.write_block(0, 0, data).await.unwrap();
        let another = reader.read(0, KIB as usize);
        let waited = tokio::time::timeout(Duration::from_secs(60), another).await;
        assert!(waited.is_err(), "no room while the write holds its block");
        writer.commit(info()).await.unwrap();
        assert_eq!(budget.free(), MIB);
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_larger_than_the_budget_takes_all_of_it() {
        let budget = BufferBudget::new(MIB);
        let (source, item) = source(3 * MIB, &budget);
        let reader = source.open_reader(&item).await.unwrap();
        let whole = reader.read(0, 3 * MIB as usize).await.unwrap();
        assert_eq!(whole.len() as u64, 3 * MIB);
        assert_eq!(budget.free(), 0);
        let tail = whole.slice(2 * MIB as usize..);
        drop(whole);
        assert_eq!(budget.free(), 0, "a slice still holds the block");
        drop(tail);
        assert_eq!(budget.free(), MIB);
        reader.read(0, KIB as usize).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn reads_get_room_in_the_order_they_asked() {
        let budget = BufferBudget::new(MIB);
        let (source, item) = source(4 * MIB, &budget);
        let reader = source.open_reader(&item).await.unwrap();
        let first = reader.read(0, MIB as usize).await.unwrap();
        let order = std::sync::Mutex::new(Vec::new());
        let waiting = (1..4u64).map(|i| {
            let (reader, order) = (&reader, &order);
            async move {
                let data = reader.read(i * MIB, MIB as usize).await.unwrap();
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(data);
            }
        });
        let release = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(first);
        };
        futures::future::join(futures::future::join_all(waiting), release).await;
        assert_eq!(*order.lock().unwrap(), [1, 2, 3]);
    }
}
