//! The decorators that change only how an endpoint's entries are read: [`ReadsThrough`]
//! hands every reader the endpoint opens to a [`ReadLimit`] — the buffer budget
//! ([`super::Budgeted`]), the bandwidth cap ([`super::Throttled`]) — and passes every
//! other call to the endpoint unchanged.

use std::path::Path;

use super::{
    BlobUpdate, Capabilities, CopySource, CopyWriter, DeleteTarget, Endpoint, EndpointError, Item,
    ListRequest, Lister, Lock, Reader, SkipKind, WriteTarget, Writer, Written,
};

/// What a decorator does to the readers it hands out.
pub trait ReadLimit: Send + Sync + 'static {
    /// `reader`, its reads limited.
    fn wrap(&self, reader: Box<dyn Reader>) -> Box<dyn Reader>;
}

/// `E`, its readers wrapped by `L`.
pub struct ReadsThrough<E, L> {
    inner: E,
    limit: L,
}

impl<E: Endpoint, L: ReadLimit> ReadsThrough<E, L> {
    /// `inner`, its reads limited by `limit` (shared with the other endpoints of a
    /// session).
    pub fn new(inner: E, limit: L) -> Self {
        ReadsThrough { inner, limit }
    }

    /// The endpoint it wraps.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

#[async_trait::async_trait]
impl<E: Endpoint, L: ReadLimit> Endpoint for ReadsThrough<E, L> {
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
        self.inner.list(request)
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        Ok(self.limit.wrap(self.inner.open_reader(item).await?))
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
        self.inner.open_writer(target).await
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
        self.inner.delete(target).await
    }

    fn delete_batch_size(&self) -> usize {
        self.inner.delete_batch_size()
    }

    async fn delete_many(&self, targets: &[DeleteTarget]) -> Vec<Result<(), EndpointError>> {
        self.inner.delete_many(targets).await
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
        self.inner.update(update).await
    }

    async fn lock(&self, name: &str, holder: &str) -> Result<Lock, EndpointError> {
        self.inner.lock(name, holder).await
    }

    async fn read_own(&self, name: &str, file: &Path) -> Result<Option<String>, EndpointError> {
        self.inner.read_own(name, file).await
    }

    async fn write_own(
        &self,
        name: &str,
        file: &Path,
        tag: Option<&str>,
    ) -> Result<String, EndpointError> {
        self.inner.write_own(name, file, tag).await
    }
}
