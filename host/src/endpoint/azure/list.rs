//! Listing a container: flat and paged (5,000 per page, the service's maximum), with
//! metadata, one page fetched ahead while the previous one is read. Virtual directories
//! are synthesised from the names, so a consumer can skip a prefix as it skips a folder.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use azure_core::http::StatusCode;
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::{
    BlobItem, BlobProperties, BlobTags, ListBlobsIncludeItem, ListBlobsResponse,
};

use super::ContainerState;
use super::errors::azure_error;
use super::location::BlobLocation;
use super::split_list::{Page, Splitter, flat};
use crate::endpoint::virtual_dirs::Folders;
use crate::endpoint::{
    BlobProps, ContentHeaders, EndpointError, ErrorClass, FOLDER_KEY, Item, ListOrder, ListRequest,
    Listed, Lister, RESERVED_PREFIX, SkipKind, Tier,
};

pub(super) struct BlobLister {
    location: BlobLocation,
    pages: tokio::sync::mpsc::Receiver<Page>,
    fetch: tokio::task::JoinHandle<()>,
    /// What the listing finds of the container (an upload creates a missing one).
    container_state: Arc<AtomicU8>,
    /// The service prefix stripped from names (`folder/`).
    strip: String,
    /// Only these relative paths and what is below them (empty: everything).
    scopes: Vec<String>,
    /// The page being read: items, and names skipped as not syncable.
    page: std::vec::IntoIter<Result<Item, Listed>>,
    folders: Folders,
    done: bool,
    /// List folder stubs as files.
    with_stubs: bool,
    /// Puts names listed under another spelling where their path sorts.
    reorder: Reorder,
}

/// Names another tool stored in a spelling the encoding does not write (a raw `file.`
/// where the encoding writes `file．`) are listed where the stored name sorts, but merged
/// by their path: each is held back until the listing reaches its path's place. One whose
/// place the listing has passed (`‛C3‛A9` for `é`) is reported as not syncable.
struct Reorder {
    order: ListOrder,
    /// Held back, in order.
    held: Vec<Item>,
    /// The regular item read after them.
    ahead: Option<Item>,
    /// The path of the last item passed on.
    last: String,
    started: bool,
}

impl Reorder {
    /// Takes a listed item; a misplaced one held back, or refused.
    fn take(&mut self, item: Item) -> Option<Listed> {
        if item.listed_as.is_none() {
            self.ahead = Some(item);
            return None;
        }
        if self.started && self.order.less(&item.path, &self.last) {
            return Some(Listed::Skipped {
                reason: format!(
                    "not syncable: the blob name {:?} spells the path {:?} in a form that \
                     lists elsewhere; rename it",
                    item.listed_as.as_deref().unwrap_or_default(),
                    item.path
                ),
                path: item.path,
                kind: SkipKind::Unsyncable,
            });
        }
        let at = self
            .held
            .partition_point(|h| !self.order.less(&item.path, &h.path));
        self.held.insert(at, item);
        None
    }

    /// The next item in path order: a held one whose place has come, else the regular
    /// one; with `end`, the held ones once the listing is over.
    fn next(&mut self, end: bool) -> Option<Item> {
        let held_first = match (self.held.first(), &self.ahead) {
            (Some(h), Some(a)) => !self.order.less(&a.path, &h.path),
            (Some(_), None) => end,
            (None, _) => false,
        };
        let item = if held_first {
            self.held.remove(0)
        } else {
            self.ahead.take()?
        };
        self.started = true;
        self.last.clear();
        self.last.push_str(&item.path);
        Some(item)
    }
}

/// How a container is listed.
pub(super) struct ListShape {
    /// List folder stubs as files.
    pub(super) with_stubs: bool,
    /// Lists in parallel ranges.
    pub(super) splitter: Option<Splitter>,
    /// The order the container lists in.
    pub(super) order: ListOrder,
}

impl BlobLister {
    pub(super) fn start(
        container: &Arc<BlobContainerClient>,
        location: &BlobLocation,
        request: &ListRequest,
        container_state: Arc<AtomicU8>,
        runtime: &tokio::runtime::Handle,
        shape: ListShape,
    ) -> Result<BlobLister, EndpointError> {
        let ListShape {
            with_stubs,
            splitter,
            order,
        } = shape;
        let cancel = request.cancel.clone();
        let prefix = location.list_prefix().unwrap_or_default();
        let scopes: Vec<String> = request
            .scopes
            .iter()
            .map(|s| s.trim_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let service_prefixes = service_prefixes(location, &prefix, &scopes);
        let mut include = vec![ListBlobsIncludeItem::Metadata];
        if request.with_tags {
            include.push(ListBlobsIncludeItem::Tags);
        }
        // Scopes name single paths: only a whole listing is worth splitting.
        let splitter = splitter.filter(|s| s.parallelism > 1 && scopes.is_empty());
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let container = container.clone();
        let fetch = runtime.spawn(async move {
            let work = fetch_pages(container, service_prefixes, include, splitter, tx);
            tokio::select! {
                _ = work => {}
                _ = cancel.cancelled() => {}
            }
        });
        Ok(BlobLister {
            location: location.clone(),
            pages: rx,
            fetch,
            container_state,
            strip: prefix,
            scopes,
            page: Vec::new().into_iter(),
            folders: Folders::default(),
            done: false,
            with_stubs,
            reorder: Reorder {
                order,
                held: Vec::new(),
                ahead: None,
                last: String::new(),
                started: false,
            },
        })
    }

    fn in_scope(&self, relative: &str) -> bool {
        self.scopes.is_empty()
            || self.scopes.iter().any(|s| {
                relative == s
                    || (relative.starts_with(s.as_str())
                        && relative.as_bytes().get(s.len()) == Some(&b'/'))
            })
    }

    /// Reads the next page into `self.page`; false at the end.
    fn next_page(&mut self) -> Result<bool, EndpointError> {
        let Some(page) = self.receive_page()? else {
            return Ok(false);
        };
        let mut items = Vec::with_capacity(page.blob_items.len());
        items.extend(
            page.blob_items
                .into_iter()
                .filter_map(|blob| self.entry(blob)),
        );
        self.page = items.into_iter();
        Ok(true)
    }

    /// Waits for the next page the fetch task sends (`None` at the end), noting what it
    /// says of the container: found, or missing (a not-found error).
    fn receive_page(&mut self) -> Result<Option<ListBlobsResponse>, EndpointError> {
        // Listers are read on their own threads (tokio's `blocking_recv` would refuse to
        // run on one that happens to be inside a runtime).
        match futures::executor::block_on(self.pages.recv()) {
            Some(Ok(Some(page))) => {
                self.container_state
                    .store(ContainerState::Exists as u8, Ordering::Release);
                Ok(Some(page))
            }
            Some(Ok(None)) | None => Ok(None),
            Some(Err(e)) if e.http_status() == Some(StatusCode::NotFound) => {
                self.container_state
                    .store(ContainerState::Missing as u8, Ordering::Release);
                Err(EndpointError::new(
                    ErrorClass::NotFound,
                    format!("the container {} does not exist", self.location),
                )
                .at(&self.location))
            }
            Some(Err(e)) => Err(azure_error("cannot list", &self.location.to_string(), e)),
        }
    }

    /// What one listed blob is: an item, a name skipped as not syncable, or nothing (a
    /// name outside the prefix or the scopes, a folder stub, a name ending in `/`).
    fn entry(&self, blob: BlobItem) -> Option<Result<Item, Listed>> {
        let name = blob.name?;
        // The reserved prefix holds blobsync's own locks and state, never data.
        if name.starts_with(RESERVED_PREFIX) {
            return None;
        }
        let stored = name.strip_prefix(self.strip.as_str())?;
        if let Some(why) = unaddressable(&name) {
            return Some(Err(Listed::Skipped {
                path: stored.to_string(),
                reason: format!("not syncable: the blob name {name:?} {why}; rename it"),
                kind: SkipKind::Unsyncable,
            }));
        }
        let Some(relative) = self.location.path_of(stored) else {
            return Some(Err(Listed::Skipped {
                path: stored.to_string(),
                reason: format!(
                    "not syncable: the blob name {name:?} has an unquoted `／`, which no \
                     path name stands for; sync it with --name-encoding none"
                ),
                kind: SkipKind::Unsyncable,
            }));
        };
        // A name another tool stored in a form the encoding does not write (a raw
        // `file.`): addressed by the name listed.
        let listed_as = (self.location.stored(&relative) != stored)
            .then(|| stored.to_string().into_boxed_str());
        let relative: &str = &relative;
        if !self.in_scope(relative) {
            return None;
        }
        let metadata = blob.metadata.and_then(|m| m.values).unwrap_or_default();
        // Folder stubs (written by hierarchical tools) are not files; with
        // `--include-directory-stub` they are listed, and synced as folders.
        if (is_folder_stub(&metadata) && !self.with_stubs)
            || relative.is_empty()
            || relative.ends_with('/')
        {
            return None;
        }
        Some(Ok(blob_item(
            relative,
            listed_as,
            blob.properties.unwrap_or_default(),
            metadata,
            blob.blob_tags,
        )))
    }
}

/// The service prefixes to list, in order: the location's `prefix`, or one per scope.
fn service_prefixes(location: &BlobLocation, prefix: &str, scopes: &[String]) -> Vec<String> {
    // One listing per scope, in order: a scope lists `scope` itself and `scope/…`;
    // names that merely start with the same characters are dropped as they arrive.
    if scopes.is_empty() {
        vec![prefix.to_string()]
    } else {
        scopes
            .iter()
            .map(|s| format!("{prefix}{}", location.stored(s)))
            .collect()
    }
}

/// Sends the pages of each service prefix's listing down `tx` (split into ranges by
/// `splitter`, else flat), one listing after the other, then the end (`None`); stops
/// after a listing that did not complete.
async fn fetch_pages(
    container: Arc<BlobContainerClient>,
    service_prefixes: Vec<String>,
    include: Vec<ListBlobsIncludeItem>,
    splitter: Option<Splitter>,
    tx: tokio::sync::mpsc::Sender<Page>,
) {
    for service_prefix in service_prefixes {
        let complete = match &splitter {
            Some(splitter) => {
                splitter
                    .list(&container, service_prefix, include.clone(), &tx)
                    .await
            }
            None => {
                flat(
                    container.clone(),
                    service_prefix,
                    include.clone(),
                    tx.clone(),
                )
                .await
            }
        };
        if !complete {
            return;
        }
    }
    let _ = tx.send(Ok(None)).await;
}

/// The item for a blob at `path` (relative to the synced folder), from what its listing
/// entry says.
fn blob_item(
    path: &str,
    listed_as: Option<Box<str>>,
    properties: BlobProperties,
    metadata: HashMap<String, String>,
    tags: Option<BlobTags>,
) -> Item {
    Item {
        blob: Some(Box::new(blob_props(&properties, tags))),
        path: path.to_string(),
        size: properties.content_length.unwrap_or(0),
        mtime_ns: properties
            .last_modified
            .map(|t| t.unix_timestamp_nanos() as i64)
            .unwrap_or(0),
        md5: properties
            .content_md5
            .and_then(|m| <[u8; 16]>::try_from(m.as_slice()).ok()),
        metadata: sorted_metadata(metadata),
        etag: properties.etag.map(|e| e.to_string().into_boxed_str()),
        identity: None,
        listed_as,
    }
}

/// True for a folder stub: a blob whose metadata has `hdi_isfolder=true` (any case).
fn is_folder_stub(metadata: &HashMap<String, String>) -> bool {
    metadata
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case(FOLDER_KEY) && v.trim().eq_ignore_ascii_case("true"))
}

/// A blob's metadata with lower-case keys, sorted.
fn sorted_metadata(metadata: HashMap<String, String>) -> Vec<(String, String)> {
    let mut metadata: Vec<(String, String)> = metadata
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    metadata.sort();
    metadata
}

/// What a listing says of a blob beyond its size, time and MD5: content headers, tier,
/// archive status and index tags (sorted).
fn blob_props(properties: &BlobProperties, tags: Option<BlobTags>) -> BlobProps {
    BlobProps {
        headers: ContentHeaders {
            content_type: properties.content_type.clone(),
            cache_control: properties.cache_control.clone(),
            content_encoding: properties.content_encoding.clone(),
            content_disposition: properties.content_disposition.clone(),
            content_language: properties.content_language.clone(),
        },
        tier: properties
            .access_tier
            .as_ref()
            .and_then(|t| Tier::parse(t.as_ref())),
        tier_inferred: properties.access_tier_inferred.unwrap_or(false),
        archive_status: properties
            .archive_status
            .as_ref()
            .map(|s| s.as_ref().to_string()),
        tags: {
            let mut tags: Vec<(String, String)> = tags
                .and_then(|t| t.blob_tag_set)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
                .collect();
            tags.sort();
            tags
        },
    }
}

impl Lister for BlobLister {
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>> {
        if self.done {
            return None;
        }
        let mut batch = Vec::new();
        let mut end = false;
        loop {
            if !self.folders.holds() && self.reorder.ahead.is_none() && !end {
                match self.page.next() {
                    Some(Ok(item)) => {
                        batch.extend(self.reorder.take(item));
                        continue;
                    }
                    Some(Err(skipped)) => {
                        batch.push(skipped);
                        continue;
                    }
                    None if !batch.is_empty() => return Some(Ok(batch)),
                    None => match self.next_page() {
                        Ok(true) => continue,
                        Ok(false) => end = true,
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    },
                }
            }
            let Some(item) = self.folders.next(|| self.reorder.next(end)) else {
                if end {
                    self.done = true;
                    return (!batch.is_empty()).then_some(Ok(batch));
                }
                continue;
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

/// Why a blob cannot be addressed by URL, if it cannot: the HTTP client drops tabs and
/// line breaks from a URL path, and a whole name of `.` or `..` names no blob.
fn unaddressable(name: &str) -> Option<&'static str> {
    if name.contains(['\t', '\n', '\r']) {
        Some("has a tab or a line break, which a URL cannot carry")
    } else if name == "." || name == ".." {
        Some("is a `.` or `..`, which a URL resolves away")
    } else {
        None
    }
}

impl Drop for BlobLister {
    fn drop(&mut self) {
        self.fetch.abort();
    }
}
