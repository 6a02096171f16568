//! Server-side copies, blob to blob: the destination's service reads each block from the
//! source itself, so no content passes through blobsync. The transfer stage tries this
//! first for every copy of a blob → blob session (unless `--s2s-stream`), and streams
//! through blobsync ([`super::transfer`]) when the destination cannot read the source.
//!
//! Whether to keep trying is decided here: a copy the service could not make falls back
//! on its own; once the first few copies of a session have all failed that way (and none
//! has succeeded), the destination plainly cannot reach the source, and the rest stream
//! without asking — the user is told once, with the service's reason.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use futures::{StreamExt, TryStreamExt};

use crate::endpoint::{
    CommitInfo, Endpoint, EndpointError, ErrorClass, Item, WriteShape, WriteTarget,
};

/// Copies that fail because the destination cannot read the source, with none succeeding,
/// before the session stops trying.
const GIVE_UP_AFTER: u32 = 3;

/// Whether a session copies server-side, and what it learnt doing so.
#[derive(Debug, Default)]
pub(crate) struct ServerCopies {
    /// Try server-side copies (blob → blob without `--s2s-stream`).
    enabled: AtomicBool,
    /// A server-side copy succeeded: the service can reach the source.
    succeeded: AtomicBool,
    /// Copies the service could not make.
    unavailable: AtomicU32,
    /// What to tell the user, once, when the session stops trying.
    notice: Mutex<Option<String>>,
    /// Where the commits of the run's copies wait for their answer (not for backups).
    committing: Option<std::sync::Arc<super::committing::Committing>>,
}

impl ServerCopies {
    /// Server-side copies are tried when `enabled`.
    pub(crate) fn new(enabled: bool) -> ServerCopies {
        ServerCopies {
            enabled: AtomicBool::new(enabled),
            ..ServerCopies::default()
        }
    }

    /// Commits are remembered in `committing` until their answer comes.
    pub(crate) fn with_committing(
        mut self,
        committing: std::sync::Arc<super::committing::Committing>,
    ) -> ServerCopies {
        self.committing = Some(committing);
        self
    }

    /// Whether to try a server-side copy now.
    pub(crate) fn wanted(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn success(&self) {
        self.succeeded.store(true, Ordering::Relaxed);
    }

    /// Records a copy the service could not make, and stops trying after a few when
    /// none has worked.
    fn unavailable(&self, error: &EndpointError) {
        let n = self.unavailable.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= GIVE_UP_AFTER
            && !self.succeeded.load(Ordering::Relaxed)
            && self.enabled.swap(false, Ordering::Relaxed)
        {
            *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
                "the destination cannot copy from the source server-side ({error}); \
                 copying through blobsync instead (bounded memory, --cap-mbps applies)"
            ));
        }
    }

    /// The notice to show the user, once.
    pub(crate) fn take_notice(&self) -> Option<String> {
        self.notice.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Copies `item` server-side, in the blocks of `shape`, `in_flight` at a time, and
    /// commits with `info`. `Ok(false)`: it cannot be copied that way (the endpoints
    /// cannot, or the destination cannot read the source) and must be streamed.
    pub(crate) async fn copy(
        &self,
        item: &Item,
        target: &WriteTarget,
        in_flight: usize,
        info: CommitInfo,
        (source, destination): (&dyn Endpoint, &dyn Endpoint),
        on_moved: &(dyn Fn(u64) + Sync),
    ) -> Result<bool, EndpointError> {
        match self
            .try_copy(
                item,
                target,
                in_flight,
                info,
                (source, destination),
                on_moved,
            )
            .await
        {
            Ok(copied) => {
                if copied {
                    self.success();
                }
                Ok(copied)
            }
            Err(e) if e.class() == ErrorClass::ServerCopyUnavailable => {
                tracing::info!("{}: {e}; copying it through blobsync", item.path);
                self.unavailable(&e);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn try_copy(
        &self,
        item: &Item,
        target: &WriteTarget,
        in_flight: usize,
        info: CommitInfo,
        (source, destination): (&dyn Endpoint, &dyn Endpoint),
        on_moved: &(dyn Fn(u64) + Sync),
    ) -> Result<bool, EndpointError> {
        let Some(from) = source.copy_source(item).await? else {
            return Ok(false);
        };
        let Some(writer) = destination.open_copy_writer(target, &from).await? else {
            return Ok(false);
        };
        let size = target.size;
        let written = crate::endpoint::Written {
            path: target.path.clone(),
            listed_as: target.replaces.as_ref().and_then(|v| v.listed_as.clone()),
            size,
            md5: info.md5,
            mtime_ns: info.mtime_ns,
        };
        // One block, the source's headers: the service may copy and commit in one request.
        let same_headers = item
            .blob
            .as_ref()
            .is_some_and(|b| b.headers == info.settings.headers);
        if target.shape == WriteShape::Single && same_headers {
            self.committed(written, writer.copy_whole(size, info))
                .await?;
            on_moved(size);
            return Ok(true);
        }
        copy_blocks(writer.as_ref(), target, in_flight, on_moved).await?;
        self.committed(written, writer.commit(info)).await?;
        Ok(true)
    }

    /// Waits for `commit`, remembered in the run's commits until its answer comes.
    async fn committed(
        &self,
        written: crate::endpoint::Written,
        commit: impl std::future::Future<Output = Result<(), EndpointError>>,
    ) -> Result<(), EndpointError> {
        match &self.committing {
            Some(committing) => committing.commit(written, commit).await,
            None => commit.await,
        }
    }
}

/// Has the service copy every block of `target`, `in_flight` at a time.
async fn copy_blocks(
    writer: &dyn crate::endpoint::CopyWriter,
    target: &WriteTarget,
    in_flight: usize,
    on_moved: &(dyn Fn(u64) + Sync),
) -> Result<(), EndpointError> {
    let size = target.size;
    let (block, blocks) = match target.shape {
        WriteShape::Single => (size.max(1), 1),
        WriteShape::Blocks { size, count } => (size, count),
    };
    futures::stream::iter(0..blocks)
        .map(|index| {
            let offset = index * block;
            let len = block.min(size - offset.min(size));
            async move {
                writer.copy_block(index, offset, len).await?;
                on_moved(len);
                Ok::<(), EndpointError>(())
            }
        })
        .buffer_unordered(in_flight.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trying_stops_only_when_the_first_copies_all_fail() {
        let e = EndpointError::new(ErrorClass::ServerCopyUnavailable, "cannot read the source");
        let copies = ServerCopies::new(true);
        copies.unavailable(&e);
        copies.unavailable(&e);
        assert!(copies.wanted());
        copies.unavailable(&e);
        assert!(!copies.wanted());
        let notice = copies.take_notice().unwrap();
        assert!(notice.contains("cannot read the source"), "{notice}");
        assert!(copies.take_notice().is_none(), "told once");

        // Once one worked, a source blob the service cannot read falls back alone.
        let copies = ServerCopies::new(true);
        copies.success();
        for _ in 0..10 {
            copies.unavailable(&e);
        }
        assert!(copies.wanted());
        assert!(!ServerCopies::new(false).wanted());
    }
}
