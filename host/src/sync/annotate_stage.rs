//! The annotate stage, on a blocking task of its own between the plan and the transfers:
//! each copy gets what its blob should carry, and each up-to-date blob that lacks it an
//! in-place update ([`super::annotations`]), the annotator plugins asked in batches of
//! what is waiting. Without annotators, copies carry their metadata only.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use tokio::sync::mpsc::Sender;

use super::RunError;
use super::annotations::{Annotator, Wanted};
use super::blob_md5::{add_md5, store_md5};
use super::context::RunContext;
use super::observer::Side;
use super::policy::{CopyDecision, Decided};
use super::work::{PlannedCopy, PlannedUpdate, Work};
use crate::endpoint::{BlobSettings, Item, Version};

/// The most decisions the annotators are asked about at once.
const ANNOTATE_BATCH: usize = 512;

/// Marks the plan complete when the annotate stage, its last step, ends (however it
/// ends).
struct PlanDone<'a>(&'a RunContext);

impl Drop for PlanDone<'_> {
    fn drop(&mut self) {
        self.0
            .planned_all
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The annotate stage.
pub(crate) struct AnnotateStage {
    /// Copies to a container: what their blobs should carry.
    pub(crate) annotator: Option<Annotator>,
    pub(crate) ctx: Arc<RunContext>,
    /// To the transfer stage.
    pub(crate) copies: Sender<Work>,
}

impl AnnotateStage {
    /// Runs until the policy is done; a failure is the run's fatal error. Call it from a
    /// thread that may block.
    pub(crate) fn run(mut self, decided: Receiver<Decided>) {
        let ctx = self.ctx.clone();
        let _done = PlanDone(&ctx);
        if let Err(e) = self.annotate_all(&decided) {
            ctx.fail(e);
        }
    }

    fn annotate_all(&mut self, decided: &Receiver<Decided>) -> Result<(), RunError> {
        while let Ok(first) = decided.recv() {
            let mut batch = vec![first];
            batch.extend(decided.try_iter().take(ANNOTATE_BATCH - 1));
            for work in self.settle(batch)? {
                self.send(work)?;
            }
        }
        Ok(())
    }

    /// The work that follows from a batch of decisions.
    fn settle(&mut self, batch: Vec<Decided>) -> Result<Vec<Work>, RunError> {
        let mut wanted = self.wanted(&batch)?.into_iter();
        let mut work = Vec::with_capacity(batch.len());
        for decided in batch {
            match decided {
                Decided::Ready(w) => work.push(w),
                Decided::Copy(copy) => work.push(Work::Copy(self.copy(copy, wanted.next()))),
                Decided::UpToDate {
                    source,
                    destination,
                    reason,
                    store_md5,
                } => match self.update(wanted.next(), &destination, store_md5) {
                    Some(update) => work.push(Work::Update(update)),
                    None => self.ctx.up_to_date(&source.path, &reason),
                },
            }
        }
        Ok(work)
    }

    /// What the annotators want of each copy and up-to-date pair of `batch`, in order
    /// (nothing without annotators).
    fn wanted(&mut self, batch: &[Decided]) -> Result<Vec<Wanted>, RunError> {
        let Some(annotator) = &mut self.annotator else {
            return Ok(Vec::new());
        };
        let mut items: Vec<Item> = batch
            .iter()
            .filter_map(|d| match d {
                Decided::Copy(copy) => Some(copy.item.clone()),
                Decided::UpToDate { source, .. } => Some(source.clone()),
                Decided::Ready(_) => None,
            })
            .collect();
        annotator.wanted(&mut items)
    }

    /// The copy, with the settings and metadata its blob is written with.
    fn copy(&self, copy: CopyDecision, wanted: Option<Wanted>) -> PlannedCopy {
        let destination = copy.destination.as_ref();
        let (settings, metadata) = match (&self.annotator, wanted) {
            (Some(annotator), Some(wanted)) => annotator.for_copy(wanted, &copy.item, destination),
            _ => (
                BlobSettings::default(),
                super::metadata::for_copy(&copy.item, destination),
            ),
        };
        PlannedCopy {
            to: None,
            replaces: destination.map(Version::of),
            backup: copy.destination.filter(|_| copy.backup).map(Box::new),
            item: copy.item,
            reason: copy.reason,
            delete_first: copy.delete_first,
            metadata,
            settings,
        }
    }

    /// The in-place update an up-to-date `destination` needs, if any: what the annotators
    /// want of it, and the MD5 read for the comparison when it is to be stored.
    fn update(
        &self,
        wanted: Option<Wanted>,
        destination: &Item,
        store: bool,
    ) -> Option<PlannedUpdate> {
        let update = match (&self.annotator, wanted) {
            (Some(annotator), Some(wanted)) => annotator.update_for(&wanted, destination),
            _ => None,
        };
        match (update, store) {
            // The annotators' update carries the MD5 too.
            (Some(mut update), true) => {
                add_md5(&mut update.update, destination);
                update.reason.push_str("; its Content-MD5 is stored");
                Some(update)
            }
            (None, true) => store_md5(Side::Destination, destination),
            (update, false) => update,
        }
    }

    fn send(&self, work: Work) -> Result<(), RunError> {
        self.ctx
            .handed_on(self.copies.blocking_send(work), "transfer")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::endpoint::{BlobProps, ContentHeaders};
    use crate::sync::annotations::Annotations;
    use crate::sync::testing::context;

    /// Wants `Cache-Control: no-cache` on every blob; keeps the paths it was asked about.
    struct NoCache(Arc<Mutex<Vec<String>>>);

    impl Annotations for NoCache {
        fn annotate(&mut self, items: &mut [Item]) -> Result<Vec<Wanted>, RunError> {
            let mut asked = self.0.lock().unwrap();
            asked.extend(items.iter().map(|i| i.path.clone()));
            Ok(vec![
                Wanted {
                    headers: ContentHeaders {
                        cache_control: Some("no-cache".into()),
                        ..ContentHeaders::default()
                    },
                    ..Wanted::default()
                };
                items.len()
            ])
        }
    }

    fn blob(path: &str, md5: Option<[u8; 16]>) -> Item {
        Item {
            blob: Some(Box::new(BlobProps::default())),
            etag: Some("\"e1\"".into()),
            md5,
            ..Item::new(path, 3, 5)
        }
    }

    fn stage(annotator: Option<Annotator>) -> (AnnotateStage, Arc<crate::sync::testing::Collect>) {
        let (ctx, collect) = context();
        let (copies, _) = tokio::sync::mpsc::channel(1);
        let stage = AnnotateStage {
            annotator,
            ctx: Arc::new(ctx),
            copies,
        };
        (stage, collect)
    }

    fn copy(path: &str, backup: bool) -> Decided {
        Decided::Copy(CopyDecision {
            item: Item::new(path, 3, 9),
            destination: Some(blob(path, Some([1; 16]))),
            reason: "newer".into(),
            delete_first: false,
            backup,
        })
    }

    fn up_to_date(path: &str, store_md5: bool) -> Decided {
        Decided::UpToDate {
            source: Item::new(path, 3, 5),
            destination: blob(path, Some([2; 16])),
            reason: "same time".into(),
            store_md5,
        }
    }

    #[test]
    fn without_annotators_copies_carry_their_metadata_and_md5s_read_are_stored() {
        let (mut stage, collect) = stage(None);
        let work = stage
            .settle(vec![
                copy("a", true),
                copy("b", false),
                up_to_date("c", true),
                up_to_date("d", false),
            ])
            .unwrap();
        assert_eq!(work.len(), 3, "{work:?}");
        let Work::Copy(a) = &work[0] else {
            panic!("{work:?}")
        };
        assert_eq!(a.settings, BlobSettings::default());
        assert!(a.backup.is_some() && a.replaces.is_some());
        let Work::Copy(b) = &work[1] else {
            panic!("{work:?}")
        };
        assert!(
            b.backup.is_none(),
            "not backed up unless the policy says so"
        );
        let Work::Update(c) = &work[2] else {
            panic!("{work:?}")
        };
        assert_eq!(c.update.headers.as_ref().unwrap().1, Some([2; 16]));
        assert_eq!(stage.ctx.totals().up_to_date, 1);
        assert!(collect.has("\"d\""), "{:?}", collect.lines());
    }

    #[test]
    fn annotators_are_asked_about_copies_and_up_to_date_pairs_only_in_order() {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let annotator = Annotator {
            source: Some(Box::new(NoCache(asked.clone()))),
            guess: None,
            carry: None,
        };
        let (mut stage, _) = stage(Some(annotator));
        let rehydrate = PlannedUpdate {
            side: Side::Source,
            update: crate::endpoint::BlobUpdate::of(&blob("r", None)),
            reason: "archived".into(),
            rehydrate: true,
        };
        let work = stage
            .settle(vec![
                copy("a", false),
                Decided::Ready(Work::Update(rehydrate)),
                up_to_date("c", true),
            ])
            .unwrap();
        assert_eq!(*asked.lock().unwrap(), ["a", "c"]);
        let Work::Copy(a) = &work[0] else {
            panic!("{work:?}")
        };
        assert_eq!(
            a.settings.headers.cache_control.as_deref(),
            Some("no-cache")
        );
        assert!(matches!(&work[1], Work::Update(u) if u.rehydrate));
        let Work::Update(c) = &work[2] else {
            panic!("{work:?}")
        };
        let (headers, md5) = c.update.headers.as_ref().unwrap();
        assert_eq!(headers.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(*md5, Some([2; 16]), "the update carries the MD5 read too");
        assert!(
            c.reason.ends_with("; its Content-MD5 is stored"),
            "{}",
            c.reason
        );
        assert_eq!(stage.ctx.totals().up_to_date, 0);
    }
}
