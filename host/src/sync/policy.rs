//! The copy policy, between the compare stage and the annotate stage: what becomes of a
//! decision before anything is written. A blob a download found damaged is copied again
//! whatever the comparator says; an archived source or destination is skipped, failed,
//! rehydrated or deleted first ([`super::archive`]); a replaced entry is backed up first
//! (`--backup-dir`); an MD5 read for the comparison is stored on the source blob that
//! lacked it (the destination's goes with the annotate stage's update).

use std::collections::HashMap;
use std::sync::mpsc::SyncSender;

use super::RunError;
use super::archive::{archived_destination, archived_source};
use super::blob_md5::store_md5;
use super::config::BlobOptions;
use super::context::RunContext;
use super::observer::Side;
use super::work::Work;
use crate::endpoint::Item;

/// A copy the policy allows, before the annotate stage settles what its blob carries.
#[derive(Debug)]
pub(crate) struct CopyDecision {
    /// The source entry.
    pub(crate) item: Item,
    /// The destination entry it replaces, if there is one.
    pub(crate) destination: Option<Item>,
    /// Why it is copied.
    pub(crate) reason: String,
    /// The destination is archived: delete it first (`--overwrite-archived`).
    pub(crate) delete_first: bool,
    /// Back up the replaced destination entry first (`--backup-dir`).
    pub(crate) backup: bool,
}

/// What crosses from the policy to the annotate stage.
#[derive(Debug)]
pub(crate) enum Decided {
    /// Work that needs no annotation (a rehydration request, an MD5 stored at the source).
    Ready(Work),
    /// A copy.
    Copy(CopyDecision),
    /// A pair found up to date, whose destination blob may still need its properties
    /// changed in place.
    UpToDate {
        source: Item,
        destination: Item,
        reason: String,
        /// Store the destination blob's MD5, read for the comparison.
        store_md5: bool,
    },
}

/// Applies the policy and hands what follows to the annotate stage.
pub(crate) struct Policy<'a> {
    ctx: &'a RunContext,
    /// Archive handling.
    blob: BlobOptions,
    /// Replaced destination entries are backed up first (`--backup-dir`).
    backups: bool,
    /// Destination blobs a download found damaged: path → the ETag that was read.
    damaged: HashMap<String, String>,
    next: SyncSender<Decided>,
}

impl<'a> Policy<'a> {
    pub(crate) fn new(
        ctx: &'a RunContext,
        blob: BlobOptions,
        backups: bool,
        damaged: HashMap<String, String>,
        next: SyncSender<Decided>,
    ) -> Policy<'a> {
        Policy {
            ctx,
            blob,
            backups,
            damaged,
            next,
        }
    }

    /// Whether `destination` is the very blob a download found damaged (its ETag has not
    /// changed since): it is copied again whatever the comparator says.
    pub(crate) fn damaged(&self, destination: &Item) -> bool {
        self.damaged
            .get(&destination.path)
            .is_some_and(|etag| destination.etag.as_deref() == Some(etag.as_str()))
    }

    /// Copies `item` over `destination` (if there is one), unless an archived blob on
    /// either side prevents it.
    pub(crate) fn copy(
        &self,
        item: Item,
        reason: String,
        destination: Option<Item>,
    ) -> Result<(), RunError> {
        if item.archived() {
            return match archived_source(self.ctx, self.blob.archived, &item) {
                Some(work) => self.send(Decided::Ready(work)),
                None => Ok(()),
            };
        }
        let Ok(delete_first) = archived_destination(self.ctx, &self.blob, destination.as_ref())
        else {
            return Ok(());
        };
        let reason = if delete_first {
            format!(
                "{reason}; the destination is archived: it is deleted (with its snapshots) \
                 and uploaded again (--overwrite-archived)"
            )
        } else {
            reason
        };
        let backup = self.backups && destination.is_some();
        self.send(Decided::Copy(CopyDecision {
            item,
            destination,
            reason,
            delete_first,
            backup,
        }))
    }

    /// A pair found up to date; `store` says whether the MD5 read for its source and
    /// for its destination is to be stored on that blob.
    pub(crate) fn up_to_date(
        &self,
        source: Item,
        destination: Item,
        reason: String,
        store: [bool; 2],
    ) -> Result<(), RunError> {
        if store[0]
            && let Some(update) = store_md5(Side::Source, &source)
        {
            self.send(Decided::Ready(Work::Update(update)))?;
        }
        self.send(Decided::UpToDate {
            source,
            destination,
            reason,
            store_md5: store[1],
        })
    }

    fn send(&self, decided: Decided) -> Result<(), RunError> {
        self.ctx.handed_on(self.next.send(decided), "annotate")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, sync_channel};

    use super::*;
    use crate::endpoint::{BlobProps, Tier};
    use crate::sync::config::ArchivedPolicy;
    use crate::sync::testing::context;

    fn policy(ctx: &RunContext, blob: BlobOptions) -> (Policy<'_>, Receiver<Decided>) {
        let (tx, rx) = sync_channel(16);
        let damaged = HashMap::from([("bad".to_string(), "\"e1\"".to_string())]);
        (Policy::new(ctx, blob, true, damaged, tx), rx)
    }

    fn blob(path: &str, etag: &str, tier: Option<Tier>) -> Item {
        Item {
            blob: Some(Box::new(BlobProps {
                tier,
                ..BlobProps::default()
            })),
            etag: Some(etag.into()),
            ..Item::new(path, 3, 5)
        }
    }

    #[test]
    fn a_damaged_blob_is_the_one_whose_etag_was_read() {
        let (ctx, _) = context();
        let (policy, _rx) = policy(&ctx, BlobOptions::default());
        assert!(policy.damaged(&blob("bad", "\"e1\"", None)));
        assert!(
            !policy.damaged(&blob("bad", "\"e2\"", None)),
            "rewritten since"
        );
        assert!(!policy.damaged(&blob("good", "\"e1\"", None)));
    }

    #[test]
    fn archived_sources_are_skipped_failed_or_rehydrated_as_asked() {
        let (ctx, collect) = context();
        let source = || blob("a", "\"e\"", Some(Tier::Archive));
        let skip = BlobOptions {
            archived: ArchivedPolicy::Skip,
            ..BlobOptions::default()
        };
        let (policy_skip, rx) = policy(&ctx, skip);
        policy_skip.copy(source(), "newer".into(), None).unwrap();
        assert!(rx.try_recv().is_err(), "nothing planned");
        assert!(collect.has("archived"), "{:?}", collect.lines());
        let rehydrate = BlobOptions {
            archived: ArchivedPolicy::Rehydrate(Default::default()),
            ..BlobOptions::default()
        };
        let (policy_rehydrate, rx) = policy(&ctx, rehydrate);
        policy_rehydrate
            .copy(source(), "newer".into(), None)
            .unwrap();
        assert!(matches!(rx.try_recv(), Ok(Decided::Ready(Work::Update(u))) if u.rehydrate));
    }

    #[test]
    fn an_archived_destination_is_replaced_only_when_asked_and_backups_need_one() {
        let (ctx, _) = context();
        let destination = || Some(blob("a", "\"e\"", Some(Tier::Archive)));
        let (refusing, rx) = policy(&ctx, BlobOptions::default());
        refusing
            .copy(Item::new("a", 3, 9), "newer".into(), destination())
            .unwrap();
        assert!(rx.try_recv().is_err());
        assert_eq!(ctx.totals().failed, 1);
        let overwrite = BlobOptions {
            overwrite_archived: true,
            ..BlobOptions::default()
        };
        let (replacing, rx) = policy(&ctx, overwrite);
        replacing
            .copy(Item::new("a", 3, 9), "newer".into(), destination())
            .unwrap();
        replacing
            .copy(Item::new("b", 3, 9), "new".into(), None)
            .unwrap();
        let Ok(Decided::Copy(a)) = rx.try_recv() else {
            panic!()
        };
        assert!(a.delete_first && a.backup);
        assert!(a.reason.contains("--overwrite-archived"), "{}", a.reason);
        let Ok(Decided::Copy(b)) = rx.try_recv() else {
            panic!()
        };
        assert!(!b.delete_first && !b.backup, "nothing to back up");
    }
}
