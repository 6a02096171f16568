//! The filter stage: one thread per side reads the endpoint's listing, asks the filter
//! plugins about its files and folders (the only caller of the filter chain), skips the
//! subtrees of excluded folders before they are read, and hands the result to the merge
//! in batches.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use super::context::RunContext;
use super::entries::{give_back, lend, lend_dir, plugin_side};
use super::shard::Shard;
use super::{RunError, Side};
use crate::endpoint::{
    Endpoint, EndpointError, ErrorClass, Item, ListRequest, Listed, Lister, SkipKind,
};
use crate::plugin::{EndpointKind, Exclusion, FilterChain};

/// An entry after filtering, as the merge receives it.
#[derive(Debug)]
pub(crate) enum Filtered {
    /// A file that passed every filter.
    Item(Item),
    /// An entry a filter excluded; a folder's path ends with `/` and everything below it
    /// is excluded on both sides.
    Excluded { path: String, exclusion: Exclusion },
    /// An entry the lister skipped.
    Skipped {
        path: String,
        reason: String,
        kind: SkipKind,
    },
    /// A path that could not be listed.
    Error { path: String, error: EndpointError },
}

impl Filtered {
    /// The merge key: the relative path, with a trailing `/` for folders.
    pub(crate) fn key(&self) -> &str {
        match self {
            Filtered::Item(item) => &item.path,
            Filtered::Excluded { path, .. }
            | Filtered::Skipped { path, .. }
            | Filtered::Error { path, .. } => path,
        }
    }
}

/// What the filter stage sends.
#[derive(Debug)]
pub(crate) enum ListMessage {
    /// Entries, in order, continuing the previous batch.
    Batch(Vec<Filtered>),
    /// The listing could not go on; the run's fatal error is recorded. Nothing follows.
    Failed,
    /// The listing completed.
    Done,
}

/// Entries per batch sent to the merge: large enough to amortise channel hand-offs.
const SEND_BATCH: usize = 1024;

/// One side's listing and filtering.
pub(crate) struct FilterStage {
    pub(crate) side: Side,
    pub(crate) endpoint: Arc<dyn Endpoint>,
    pub(crate) request: ListRequest,
    pub(crate) filters: Option<FilterChain>,
    pub(crate) kind: EndpointKind,
    pub(crate) ctx: Arc<RunContext>,
    pub(crate) tx: SyncSender<ListMessage>,
    /// The endpoint whose name rules this side's files must meet (the destination, for
    /// the source side): files it cannot store are reported as not syncable.
    pub(crate) names_for: Option<Arc<dyn Endpoint>>,
    /// Only this shard's files pass (`--shard`); folders, and what is about a whole
    /// folder, pass in every shard.
    pub(crate) shard: Option<Shard>,
}

impl FilterStage {
    /// Runs the stage on a thread of its own.
    pub(crate) fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name(format!("list-{}", self.side.name()))
            .spawn(move || self.run())
    }

    fn run(mut self) {
        let mut lister = match self.endpoint.list(&self.request) {
            Ok(lister) => lister,
            Err(e) => return self.end(Vec::new(), Err(e)),
        };
        let mut out = Vec::with_capacity(SEND_BATCH);
        loop {
            if self.ctx.stopped() {
                return;
            }
            match lister.next_batch() {
                None => return self.end(out, Ok(())),
                Some(Err(e)) => return self.end(out, Err(e)),
                Some(Ok(batch)) => {
                    if let Err(e) = self.filter(batch, &mut *lister, &mut out) {
                        self.ctx.fail(RunError::Plugin(e));
                        let _ = self.tx.send(ListMessage::Failed);
                        return;
                    }
                }
            }
            if out.len() >= SEND_BATCH {
                let batch = std::mem::replace(&mut out, Vec::with_capacity(SEND_BATCH));
                if self.tx.send(ListMessage::Batch(batch)).is_err() {
                    return;
                }
            }
        }
    }

    /// Sends what is left and how the listing ended. A missing destination is empty; a
    /// missing source is a usage error, so that nothing is deleted because of it.
    fn end(&self, out: Vec<Filtered>, result: Result<(), EndpointError>) {
        if !out.is_empty() && self.tx.send(ListMessage::Batch(out)).is_err() {
            return;
        }
        let message = match result {
            Ok(()) => ListMessage::Done,
            Err(e) if e.class() == ErrorClass::NotFound && self.side == Side::Destination => {
                ListMessage::Done
            }
            Err(e) => {
                let error = match e.class() {
                    ErrorClass::NotFound | ErrorClass::Usage if self.side == Side::Source => {
                        let mut message = format!("the source: {e}");
                        if !message.contains("nothing was copied") {
                            message.push_str("; nothing was copied or deleted");
                        }
                        RunError::Usage(message)
                    }
                    _ => RunError::from(e),
                };
                self.ctx.fail(error);
                ListMessage::Failed
            }
        };
        let _ = self.tx.send(message);
    }

    /// Skips the files the other side cannot store. Names it cannot hold are reported
    /// and dropped (nothing at the other side can pair with them); other refusals (a
    /// symbolic link) become skipped entries, which leave their counterpart alone.
    fn skip_refused(&self, batch: &mut Vec<Listed>) {
        if let Some(other) = &self.names_for {
            for listed in batch.iter_mut() {
                if let Listed::File(item) = listed
                    && let Some((kind, reason)) = other.refuses(item)
                {
                    *listed = Listed::Skipped {
                        path: std::mem::take(&mut item.path),
                        reason,
                        kind,
                    };
                }
            }
        }
        batch.retain(|listed| match listed {
            Listed::Skipped {
                path,
                reason,
                kind: SkipKind::Unsyncable,
            } => {
                self.ctx.skipped(path, reason, SkipKind::Unsyncable);
                false
            }
            _ => true,
        });
    }

    /// Filters one batch into `out`, skipping excluded folders' subtrees.
    fn filter(
        &mut self,
        mut batch: Vec<Listed>,
        lister: &mut dyn Lister,
        out: &mut Vec<Filtered>,
    ) -> Result<(), crate::plugin::PluginError> {
        if let Some(shard) = self.shard {
            keep_shard(shard, &mut batch);
        }
        self.skip_refused(&mut batch);
        let Some(chain) = &mut self.filters else {
            for listed in batch {
                if let Some(f) = pass(listed) {
                    out.push(f);
                }
            }
            return Ok(());
        };
        let mut entries = Vec::with_capacity(batch.len());
        for listed in &mut batch {
            match listed {
                Listed::File(item) => entries.push(lend(item, self.kind)),
                Listed::Dir(dir) => entries.push(lend_dir(dir, self.kind)),
                _ => {}
            }
        }
        let verdicts = chain.apply(plugin_side(self.side), &entries)?;
        let mut lent = entries.into_iter().zip(verdicts);
        for listed in batch {
            match listed {
                Listed::File(mut item) => {
                    let Some((entry, verdict)) = lent.next() else {
                        break;
                    };
                    give_back(&mut item, entry);
                    out.push(match verdict {
                        None => Filtered::Item(item),
                        Some(exclusion) => Filtered::Excluded {
                            path: item.path,
                            exclusion,
                        },
                    });
                }
                Listed::Dir(_) => {
                    let Some((entry, verdict)) = lent.next() else {
                        break;
                    };
                    if let Some(exclusion) = verdict {
                        lister.skip(&entry.path);
                        out.push(Filtered::Excluded {
                            path: format!("{}/", entry.path),
                            exclusion,
                        });
                    }
                }
                other => out.extend(pass(other)),
            }
        }
        Ok(())
    }
}

/// Drops the files of other shards, before the filters see them. The same rule on both
/// sides keeps pairs together; a folder (and a skip or an error about one) stays, as it
/// decides what happens below it in every shard.
fn keep_shard(shard: Shard, batch: &mut Vec<Listed>) {
    batch.retain(|listed| match listed {
        Listed::File(item) => shard.owns(&item.path),
        Listed::Dir(_) => true,
        Listed::Skipped { path, .. } | Listed::Error { path, .. } => {
            path.ends_with('/') || shard.owns(path)
        }
    });
}

/// An entry without filters: folders are not passed on.
fn pass(listed: Listed) -> Option<Filtered> {
    match listed {
        Listed::File(item) => Some(Filtered::Item(item)),
        Listed::Dir(_) => None,
        Listed::Skipped { path, reason, kind } => Some(Filtered::Skipped { path, reason, kind }),
        Listed::Error { path, error } => Some(Filtered::Error { path, error }),
    }
}
