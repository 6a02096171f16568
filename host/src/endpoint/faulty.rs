//! An endpoint that fails on cue, [`Faulty`]: it wraps another (the in-memory one, in
//! the pipeline's unit tests) and fails the operations a test scripts — a path the
//! listing cannot read, a whole listing refused, a read that comes back short or with a
//! byte flipped, a commit or a delete that fails — so that what the stages above the
//! endpoint do about each can be asserted on a `RunOutcome`.
//!
//! It does not replace the fault proxy in front of Azurite (`tests/harness/proxy.rs`),
//! which tests the Blob API path and its retries with real HTTP.

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{
    BlobUpdate, Capabilities, CopySource, CopyWriter, DeleteTarget, Endpoint, EndpointError,
    ErrorClass, Item, ListRequest, Listed, Lister, Reader, SkipKind, WriteTarget, Writer, Written,
};

/// An operation a fault can be scripted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Listing: the path is reported as not listable (`Listed::Error`); an empty path
    /// refuses the whole listing.
    List,
    /// Reading an entry's bytes.
    Read,
    /// Committing a write of the entry.
    Commit,
    /// Deleting the entry.
    Delete,
    /// Changing the blob's properties in place.
    Update,
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The operation fails with an error of this class.
    Error(ErrorClass),
    /// A read returns one byte fewer than asked.
    ShortRead,
    /// A read returns its bytes with the first one flipped.
    Corrupt,
}

#[derive(Debug)]
struct Rule {
    op: Op,
    path: String,
    fault: Fault,
    /// How many more times it strikes.
    times: usize,
}

/// `E`, failing as scripted with [`Faulty::fail`].
pub(crate) struct Faulty<E> {
    inner: E,
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl<E: Endpoint> Faulty<E> {
    /// `inner`, with no fault scripted yet.
    pub(crate) fn new(inner: E) -> Self {
        Faulty {
            inner,
            rules: Arc::default(),
        }
    }

    /// Makes `op` on `path` fail with `fault`, the next `times` times it is done.
    pub(crate) fn fail(self, op: Op, path: &str, fault: Fault, times: usize) -> Self {
        self.rules.lock().unwrap().push(Rule {
            op,
            path: path.to_string(),
            fault,
            times,
        });
        self
    }

    /// The fault scripted for `op` on `path`, if one is left (using it up once).
    fn strike(&self, op: Op, path: &str) -> Option<Fault> {
        strike(&self.rules, op, path)
    }
}

fn strike(rules: &Mutex<Vec<Rule>>, op: Op, path: &str) -> Option<Fault> {
    let mut rules = rules.lock().unwrap();
    let rule = rules
        .iter_mut()
        .find(|r| r.op == op && r.path == path && r.times > 0)?;
    rule.times -= 1;
    Some(rule.fault)
}

fn injected(class: ErrorClass, op: Op, path: &str) -> EndpointError {
    EndpointError::new(class, format!("injected {op:?} fault")).at(path)
}

#[async_trait::async_trait]
impl<E: Endpoint> Endpoint for Faulty<E> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn describe_path(&self, path: &str) -> String {
        self.inner.describe_path(path)
    }

    fn credential(&self) -> Option<String> {
        self.inner.credential()
    }

    async fn probe(&self) {
        self.inner.probe().await
    }

    fn refuses(&self, item: &Item) -> Option<(SkipKind, String)> {
        self.inner.refuses(item)
    }

    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError> {
        if let Some(Fault::Error(class)) = self.strike(Op::List, "") {
            return Err(injected(class, Op::List, ""));
        }
        Ok(Box::new(FaultyLister {
            inner: self.inner.list(request)?,
            rules: self.rules.clone(),
        }))
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        let inner = self.inner.open_reader(item).await?;
        Ok(Box::new(FaultyReader {
            inner,
            path: item.path.clone(),
            rules: self.rules.clone(),
        }))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        self.inner.prepare_for_writes().await
    }

    async fn check_writable(&self) -> Result<(), EndpointError> {
        self.inner.check_writable().await
    }

    async fn finish_writes(&self) {
        self.inner.finish_writes().await
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        Ok(Box::new(FaultyWriter {
            inner: self.inner.open_writer(target).await?,
            path: target.path.clone(),
            rules: self.rules.clone(),
        }))
    }

    async fn copy_source(&self, item: &Item) -> Result<Option<CopySource>, EndpointError> {
        self.inner.copy_source(item).await
    }

    async fn holds(&self, written: &Written) -> bool {
        self.inner.holds(written).await
    }

    async fn open_copy_writer(
        &self,
        target: &WriteTarget,
        source: &CopySource,
    ) -> Result<Option<Box<dyn CopyWriter>>, EndpointError> {
        self.inner.open_copy_writer(target, source).await
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        match self.strike(Op::Delete, &target.path) {
            Some(Fault::Error(class)) => Err(injected(class, Op::Delete, &target.path)),
            _ => self.inner.delete(target).await,
        }
    }

    async fn move_to(
        &self,
        target: &DeleteTarget,
        backup_root: &Path,
        to: &str,
    ) -> Result<(), EndpointError> {
        self.inner.move_to(target, backup_root, to).await
    }

    async fn update(&self, update: &BlobUpdate) -> Result<(), EndpointError> {
        match self.strike(Op::Update, &update.path) {
            Some(Fault::Error(class)) => Err(injected(class, Op::Update, &update.path)),
            _ => self.inner.update(update).await,
        }
    }

    async fn lock(&self, name: &str, holder: &str) -> Result<super::Lock, EndpointError> {
        self.inner.lock(name, holder).await
    }

    async fn read_own(
        &self,
        name: &str,
        file: &std::path::Path,
    ) -> Result<Option<String>, EndpointError> {
        self.inner.read_own(name, file).await
    }

    async fn write_own(
        &self,
        name: &str,
        file: &std::path::Path,
        tag: Option<&str>,
    ) -> Result<String, EndpointError> {
        self.inner.write_own(name, file, tag).await
    }
}

/// A listing in which scripted paths come out as not listable.
struct FaultyLister {
    inner: Box<dyn Lister>,
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Lister for FaultyLister {
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>> {
        let batch = match self.inner.next_batch()? {
            Ok(batch) => batch,
            Err(e) => return Some(Err(e)),
        };
        let batch = batch
            .into_iter()
            .map(|listed| {
                let path = listed.key().trim_end_matches('/').to_string();
                match strike(&self.rules, Op::List, &path) {
                    Some(Fault::Error(class)) => Listed::Error {
                        error: injected(class, Op::List, &path),
                        path,
                    },
                    _ => listed,
                }
            })
            .collect();
        Some(Ok(batch))
    }

    fn skip(&mut self, dir: &str) {
        self.inner.skip(dir);
    }
}

/// A reader whose reads of a scripted path fail, come back short or corrupted.
struct FaultyReader {
    inner: Box<dyn Reader>,
    path: String,
    rules: Arc<Mutex<Vec<Rule>>>,
}

#[async_trait::async_trait]
impl Reader for FaultyReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let fault = self.fault()?;
        let bytes = self.inner.read(offset, len).await?;
        Ok(spoil(fault, bytes))
    }

    async fn read_checked(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let fault = self.fault()?;
        let bytes = self.inner.read_checked(offset, len).await?;
        Ok(spoil(fault, bytes))
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        self.inner.finish().await
    }
}

impl FaultyReader {
    /// The fault of this read, if it strikes; an injected error is returned at once.
    fn fault(&self) -> Result<Option<Fault>, EndpointError> {
        let fault = strike(&self.rules, Op::Read, &self.path);
        if let Some(Fault::Error(class)) = fault {
            return Err(injected(class, Op::Read, &self.path));
        }
        Ok(fault)
    }
}

/// What a read returns when `fault` strikes it.
fn spoil(fault: Option<Fault>, bytes: Bytes) -> Bytes {
    match fault {
        Some(Fault::ShortRead) => bytes.slice(..bytes.len().saturating_sub(1)),
        Some(Fault::Corrupt) if !bytes.is_empty() => {
            let mut flipped = bytes.to_vec();
            flipped[0] ^= 0xff;
            Bytes::from(flipped)
        }
        _ => bytes,
    }
}

/// A writer whose commit of a scripted path fails.
struct FaultyWriter {
    inner: Box<dyn Writer>,
    path: String,
    rules: Arc<Mutex<Vec<Rule>>>,
}

#[async_trait::async_trait]
impl Writer for FaultyWriter {
    async fn write_block(&self, index: u64, offset: u64, data: Bytes) -> Result<(), EndpointError> {
        self.inner.write_block(index, offset, data).await
    }

    async fn resumed(&self, index: u64) -> Result<Option<Bytes>, EndpointError> {
        self.inner.resumed(index).await
    }

    async fn commit(self: Box<Self>, info: super::CommitInfo) -> Result<(), EndpointError> {
        if let Some(Fault::Error(class)) = strike(&self.rules, Op::Commit, &self.path) {
            self.inner.abort().await;
            return Err(injected(class, Op::Commit, &self.path));
        }
        self.inner.commit(info).await
    }

    async fn abort(self: Box<Self>) {
        self.inner.abort().await
    }
}
