//! An endpoint in memory, for testing the pipeline without a server or a disk. It behaves
//! like a local folder or like a container (`EndpointKind`), lists in whatever order it is
//! asked for, and remembers how each entry was written.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};

use super::virtual_dirs::Folders;
use super::{
    BlobProps, BlobUpdate, Capabilities, CommitInfo, DeleteTarget, Endpoint, EndpointError,
    EndpointKind, ErrorClass, Item, ListOrder, ListRequest, Listed, Lister, Lock, MTIME_KEY,
    Reader, WriteShape, WriteTarget, Writer,
};

#[derive(Debug, Clone)]
struct Stored {
    data: Bytes,
    mtime_ns: i64,
    md5: Option<[u8; 16]>,
    metadata: Vec<(String, String)>,
    etag: u64,
    /// Blobs: headers, tier and tags.
    props: BlobProps,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, Stored>,
    writes: Vec<(String, WriteShape)>,
    updates: Vec<BlobUpdate>,
    /// Locks held: name → holder.
    locks: std::collections::HashMap<String, String>,
}

/// An in-memory folder or container.
#[derive(Debug, Clone)]
pub struct MemoryEndpoint {
    kind: EndpointKind,
    state: Arc<Mutex<State>>,
    clock: Arc<AtomicU64>,
    /// The order it lists in, when it behaves like a service with a fixed one.
    order: Option<ListOrder>,
    /// The names it declares it does not tell apart (a simulated folder of another
    /// kind, for the planner's tests).
    fold: crate::endpoint::NameFold,
}

impl MemoryEndpoint {
    /// An empty endpoint that behaves like `kind`.
    pub fn new(kind: EndpointKind) -> Self {
        MemoryEndpoint {
            kind,
            state: Arc::default(),
            clock: Arc::new(AtomicU64::new(1_700_000_000)),
            order: None,
            fold: crate::endpoint::NameFold::Exact,
        }
    }

    /// The same endpoint, declaring that it does not tell apart the names `fold` folds
    /// together (as a case-insensitive or a macOS folder).
    pub fn with_fold(mut self, fold: crate::endpoint::NameFold) -> Self {
        self.fold = fold;
        self
    }

    /// The same endpoint, listing always in `order` (as a service does), whatever it is
    /// asked for.
    pub fn with_order(mut self, order: ListOrder) -> Self {
        self.order = Some(order);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) an entry with the given time, as another writer would.
    pub fn insert(&self, path: &str, data: &[u8], mtime_ns: i64) {
        let etag = self.clock.fetch_add(1, Ordering::Relaxed);
        let md5 = (self.kind == EndpointKind::Blob).then(|| Md5::digest(data).into());
        self.state().entries.insert(
            path.to_string(),
            Stored {
                data: Bytes::copy_from_slice(data),
                mtime_ns,
                md5,
                metadata: Vec::new(),
                etag,
                props: BlobProps::default(),
            },
        );
    }

    /// Removes an entry, as another writer would.
    pub fn remove(&self, path: &str) {
        self.state().entries.remove(path);
    }

    /// Sets an entry's blob properties, as another tool would (the ETag changes).
    pub fn set_props(&self, path: &str, props: BlobProps) {
        let etag = self.clock.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = self.state().entries.get_mut(path) {
            s.props = props;
            s.etag = etag;
        }
    }

    /// An entry as it would be listed now.
    pub fn listed(&self, path: &str) -> Option<Item> {
        let state = self.state();
        state.entries.get(path).map(|s| self.item(path, s))
    }

    /// The updates made, in order.
    pub fn updates(&self) -> Vec<BlobUpdate> {
        self.state().updates.clone()
    }

    /// The content of an entry.
    pub fn get(&self, path: &str) -> Option<Bytes> {
        self.state().entries.get(path).map(|s| s.data.clone())
    }

    /// Every path, in byte order.
    pub fn paths(&self) -> Vec<String> {
        self.state().entries.keys().cloned().collect()
    }

    /// How each committed entry was written, in commit order.
    pub fn writes(&self) -> Vec<(String, WriteShape)> {
        self.state().writes.clone()
    }

    fn item(&self, path: &str, s: &Stored) -> Item {
        Item {
            path: path.to_string(),
            size: s.data.len() as u64,
            mtime_ns: s.mtime_ns,
            md5: s.md5,
            metadata: s.metadata.clone(),
            etag: (self.kind == EndpointKind::Blob).then(|| s.etag.to_string().into_boxed_str()),
            identity: None,
            blob: (self.kind == EndpointKind::Blob).then(|| Box::new(s.props.clone())),
            listed_as: None,
        }
    }
}

struct MemoryLister {
    items: std::vec::IntoIter<Item>,
    folders: Folders,
}

impl Lister for MemoryLister {
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>> {
        let mut batch = Vec::new();
        loop {
            let Some(item) = self.folders.next(|| self.items.next()) else {
                return (!batch.is_empty()).then_some(Ok(batch));
            };
            if self.folders.place(item, &mut batch) {
                return Some(Ok(batch));
            }
        }
    }

    fn skip(&mut self, dir: &str) {
        self.folders.skip(dir);
    }
}

#[async_trait::async_trait]
impl Endpoint for MemoryEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: self.kind,
            listed_md5: self.kind == EndpointKind::Blob,
            order: self.order,
            time_precision_ns: 1,
            latest_time_ns: i64::MAX,
            fold: self.fold,
            one_entry_per_name: self.kind == EndpointKind::Local,
        }
    }

    fn describe(&self) -> String {
        "memory:".into()
    }

    fn describe_path(&self, path: &str) -> String {
        format!("memory:{path}")
    }

    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError> {
        let scopes: Vec<&str> = request
            .scopes
            .iter()
            .map(|s| s.trim_matches('/'))
            .filter(|s| !s.is_empty())
            .collect();
        let in_scope = |path: &str| {
            scopes.is_empty()
                || scopes.iter().any(|s| {
                    path == *s
                        || (path.starts_with(s) && path.as_bytes().get(s.len()) == Some(&b'/'))
                })
        };
        let mut items: Vec<Item> = self
            .state()
            .entries
            .iter()
            .filter(|(path, _)| in_scope(path))
            // A container's reserved prefix is never listed as data.
            .filter(|(path, _)| {
                self.kind != EndpointKind::Blob || !path.starts_with(super::RESERVED_PREFIX)
            })
            .map(|(path, s)| self.item(path, s))
            .collect();
        let order = self.order.unwrap_or(request.order);
        items.sort_by(|a, b| order.cmp(&a.path, &b.path));
        Ok(Box::new(MemoryLister {
            items: items.into_iter(),
            folders: Folders::default(),
        }))
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        let stored = self.state().entries.get(&item.path).cloned();
        let current = stored
            .as_ref()
            .map(|s| self.item(&item.path, s))
            .filter(|now| {
                now.size == item.size
                    && now.mtime_ns == item.mtime_ns
                    && (item.etag.is_none() || now.etag == item.etag)
            });
        match (current, stored) {
            (Some(_), Some(s)) => Ok(Box::new(MemoryReader { data: s.data })),
            _ => Err(EndpointError::new(
                ErrorClass::Changed,
                format!("memory:{} changed since it was listed", item.path),
            )),
        }
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        Ok(())
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        Ok(Box::new(MemoryWriter {
            endpoint: self.clone(),
            target: target.clone(),
            blocks: Mutex::new(vec![None; target.shape.blocks() as usize]),
        }))
    }

    async fn holds(&self, written: &crate::endpoint::Written) -> bool {
        use md5::Digest as _;
        self.state().entries.get(&written.path).is_some_and(|s| {
            s.data.len() as u64 == written.size
                && <[u8; 16]>::from(md5::Md5::digest(&s.data)) == written.md5
        })
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let mut state = self.state();
        let Some(stored) = state.entries.get(&target.path) else {
            return Ok(());
        };
        let listed = match self.kind {
            EndpointKind::Blob => {
                target.version.etag.as_deref() == Some(stored.etag.to_string().as_str())
            }
            EndpointKind::Local => {
                stored.data.len() as u64 == target.version.size
                    && stored.mtime_ns == target.version.mtime_ns
            }
        };
        if !listed {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "memory:{} changed since it was listed; it was not deleted",
                    target.path
                ),
            ));
        }
        state.entries.remove(&target.path);
        Ok(())
    }

    async fn update(&self, update: &BlobUpdate) -> Result<(), EndpointError> {
        if self.kind != EndpointKind::Blob {
            return Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "memory:{} is a file; it has no blob properties",
                    update.path
                ),
            ));
        }
        let etag = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state();
        let Some(stored) = state.entries.get_mut(&update.path) else {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!("memory:{} is gone", update.path),
            ));
        };
        if update.etag.as_deref() != Some(stored.etag.to_string().as_str()) {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!("memory:{} changed since it was listed", update.path),
            ));
        }
        if let Some((headers, md5)) = &update.headers {
            stored.props.headers = headers.clone();
            stored.md5 = *md5;
            stored.etag = etag;
        }
        if let Some(metadata) = &update.metadata {
            stored.metadata = metadata.clone();
            stored.metadata.sort();
            stored.etag = etag;
        }
        if let Some(tags) = &update.tags {
            stored.props.tags = tags.clone();
            stored.props.tags.sort();
        }
        if let Some((tier, _)) = update.tier {
            stored.props.tier = Some(tier);
        }
        state.updates.push(update.clone());
        Ok(())
    }

    async fn lock(&self, name: &str, holder: &str) -> Result<Lock, EndpointError> {
        let mut state = self.state();
        if let Some(taken) = state.locks.get(name) {
            return Ok(Lock::Taken(taken.clone()));
        }
        state.locks.insert(name.to_string(), holder.to_string());
        Ok(Lock::Held(Box::new(MemoryLock {
            state: self.state.clone(),
            name: name.to_string(),
        })))
    }

    async fn read_own(
        &self,
        name: &str,
        file: &std::path::Path,
    ) -> Result<Option<String>, EndpointError> {
        self.own_blobs()?;
        let stored = self
            .state()
            .entries
            .get(&format!("{}{name}", super::RESERVED_PREFIX))
            .cloned();
        let Some(stored) = stored else {
            return Ok(None);
        };
        std::fs::write(file, &stored.data)
            .map_err(|e| EndpointError::io("cannot write", file, e))?;
        Ok(Some(stored.etag.to_string()))
    }

    async fn write_own(
        &self,
        name: &str,
        file: &std::path::Path,
        tag: Option<&str>,
    ) -> Result<String, EndpointError> {
        self.own_blobs()?;
        let data = std::fs::read(file).map_err(|e| EndpointError::io("cannot read", file, e))?;
        let path = format!("{}{name}", super::RESERVED_PREFIX);
        let now = self.state().entries.get(&path).map(|s| s.etag.to_string());
        if now.as_deref() != tag {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!("memory:{path} was written by another run"),
            ));
        }
        self.insert(&path, &data, 0);
        Ok(self.state().entries[&path].etag.to_string())
    }
}

impl MemoryEndpoint {
    /// Only an in-memory container keeps blobsync's own blobs.
    fn own_blobs(&self) -> Result<(), EndpointError> {
        match self.kind {
            EndpointKind::Blob => Ok(()),
            EndpointKind::Local => Err(EndpointError::new(
                ErrorClass::Usage,
                "memory: a folder cannot keep blobsync's own blobs",
            )),
        }
    }
}

struct MemoryReader {
    data: Bytes,
}

#[async_trait::async_trait]
impl Reader for MemoryReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let start = offset as usize;
        self.data
            .get(start..start + len)
            .map(|b| self.data.slice_ref(b))
            .ok_or_else(|| EndpointError::new(ErrorClass::Changed, "memory: read past the end"))
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        Ok(())
    }
}

struct MemoryWriter {
    endpoint: MemoryEndpoint,
    target: WriteTarget,
    blocks: Mutex<Vec<Option<Bytes>>>,
}

impl MemoryWriter {
    /// The blocks written, in order, checked to be all there and of the target's size.
    fn assemble(&self) -> Result<BytesMut, EndpointError> {
        let blocks = std::mem::take(&mut *self.blocks.lock().unwrap_or_else(|e| e.into_inner()));
        let mut data = BytesMut::with_capacity(self.target.size as usize);
        for (i, block) in blocks.into_iter().enumerate() {
            let block = block.ok_or_else(|| {
                EndpointError::new(
                    ErrorClass::Other,
                    format!("memory:{}: block {i} was never written", self.target.path),
                )
            })?;
            data.extend_from_slice(&block);
        }
        if data.len() as u64 != self.target.size {
            return Err(EndpointError::new(
                ErrorClass::Other,
                format!(
                    "memory:{}: {} bytes written, {} expected",
                    self.target.path,
                    data.len(),
                    self.target.size
                ),
            ));
        }
        Ok(data)
    }

    /// Refuses the commit if the destination entry is no longer the version the write
    /// replaces (or appeared where there was none).
    fn check_unchanged(&self) -> Result<(), EndpointError> {
        let endpoint = &self.endpoint;
        let state = endpoint.state();
        let now = state.entries.get(&self.target.path);
        let unchanged = match (&self.target.replaces, now) {
            (None, None) => true,
            (Some(v), Some(s)) => match endpoint.kind {
                EndpointKind::Blob => v.etag.as_deref() == Some(s.etag.to_string().as_str()),
                EndpointKind::Local => v.size == s.data.len() as u64 && v.mtime_ns == s.mtime_ns,
            },
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if !unchanged {
            return Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "memory:{} changed at the destination since it was listed",
                    self.target.path
                ),
            ));
        }
        Ok(())
    }
}

/// A blob's metadata as committed: the source's, with its modification time under
/// `MTIME_KEY`, sorted.
fn blob_metadata(metadata: Vec<(String, String)>, mtime_ns: i64) -> Vec<(String, String)> {
    let mut metadata: Vec<(String, String)> = metadata
        .into_iter()
        .filter(|(k, _)| k != MTIME_KEY)
        .collect();
    metadata.push((
        MTIME_KEY.to_string(),
        blobsync_plugin::format_rfc3339_ns(mtime_ns),
    ));
    metadata.sort();
    metadata
}

#[async_trait::async_trait]
impl Writer for MemoryWriter {
    async fn write_block(
        &self,
        index: u64,
        _offset: u64,
        data: Bytes,
    ) -> Result<(), EndpointError> {
        // As the local and blob writers do: a single block is kept as given until the
        // commit sends it, blocks of a staged write are stored at once and the caller's
        // buffer let go (the buffer budget counts it until then).
        let data = match self.target.shape {
            WriteShape::Single => data,
            WriteShape::Blocks { .. } => Bytes::copy_from_slice(&data),
        };
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        match blocks.get_mut(index as usize) {
            Some(slot) => {
                *slot = Some(data);
                Ok(())
            }
            None => Err(EndpointError::new(
                ErrorClass::Other,
                format!("memory:{}: block {index} is out of range", self.target.path),
            )),
        }
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        let data = self.assemble()?;
        self.check_unchanged()?;
        let endpoint = &self.endpoint;
        let etag = endpoint.clock.fetch_add(1, Ordering::Relaxed);
        let (mtime_ns, metadata) = match endpoint.kind {
            EndpointKind::Local => (info.mtime_ns, Vec::new()),
            EndpointKind::Blob => (
                etag as i64 * 1_000_000_000,
                blob_metadata(info.metadata, info.mtime_ns),
            ),
        };
        let mut state = endpoint.state();
        state.entries.insert(
            self.target.path.clone(),
            Stored {
                data: data.freeze(),
                mtime_ns,
                md5: (endpoint.kind == EndpointKind::Blob && info.store_md5).then_some(info.md5),
                metadata,
                etag,
                props: BlobProps {
                    headers: info.settings.headers,
                    tier: info.settings.tier,
                    tags: info.settings.tags.unwrap_or_default(),
                    ..BlobProps::default()
                },
            },
        );
        state
            .writes
            .push((self.target.path.clone(), self.target.shape));
        Ok(())
    }

    async fn abort(self: Box<Self>) {}
}

/// A lock held on an in-memory endpoint.
struct MemoryLock {
    state: Arc<Mutex<State>>,
    name: String,
}

#[async_trait::async_trait]
impl crate::endpoint::HeldLock for MemoryLock {
    async fn release(self: Box<Self>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.locks.remove(&self.name);
    }
}
