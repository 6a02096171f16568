//! Listing a container: flat and paged (5,000 per page, the service's maximum), with
//! metadata, one page fetched ahead while the previous one is read. Virtual directories
//! are synthesised from the names, so a consumer can skip a prefix as it skips a folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use azure_core::http::StatusCode;
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::ListBlobsIncludeItem;

use super::ContainerState;
use super::errors::azure_error;
use super::location::BlobLocation;
use super::split_list::{Page, Splitter, flat};
use crate::endpoint::virtual_dirs::Step;
use crate::endpoint::{
    BlobProps, ContentHeaders, EndpointError, ErrorClass, FOLDER_KEY, Item, ListRequest, Listed,
    Lister, SkipKind, Tier, VirtualDirs,
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
    pending: Option<Item>,
    dirs: VirtualDirs,
    done: bool,
    /// List folder stubs as files.
    with_stubs: bool,
}

impl BlobLister {
    pub(super) fn start(
        container: &Arc<BlobContainerClient>,
        location: &BlobLocation,
        request: &ListRequest,
        container_state: Arc<AtomicU8>,
        runtime: &tokio::runtime::Handle,
        with_stubs: bool,
        splitter: Option<Splitter>,
    ) -> Result<BlobLister, EndpointError> {
        let cancel = request.cancel.clone();
        let prefix = location.list_prefix().unwrap_or_default();
        let scopes: Vec<String> = request
            .scopes
            .iter()
            .map(|s| s.trim_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        // One listing per scope, in order: a scope lists `scope` itself and `scope/…`;
        // names that merely start with the same characters are dropped as they arrive.
        let service_prefixes: Vec<String> = if scopes.is_empty() {
            vec![prefix.clone()]
        } else {
            scopes
                .iter()
                .map(|s| format!("{prefix}{}", location.stored(s)))
                .collect()
        };
        let mut include = vec![ListBlobsIncludeItem::Metadata];
        if request.with_tags {
            include.push(ListBlobsIncludeItem::Tags);
        }
        // Scopes name single paths: only a whole listing is worth splitting.
        let splitter = splitter.filter(|s| s.parallelism > 1 && scopes.is_empty());
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let container = container.clone();
        let fetch = runtime.spawn(async move {
            let work = async {
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
            };
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
            pending: None,
            dirs: VirtualDirs::default(),
            done: false,
            with_stubs,
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
        // Listers are read on their own threads (tokio's `blocking_recv` would refuse to
        // run on one that happens to be inside a runtime).
        let page = match futures::executor::block_on(self.pages.recv()) {
            Some(Ok(Some(page))) => {
                self.container_state
                    .store(ContainerState::Exists as u8, Ordering::Release);
                page
            }
            Some(Ok(None)) | None => return Ok(false),
            Some(Err(e)) if e.http_status() == Some(StatusCode::NotFound) => {
                self.container_state
                    .store(ContainerState::Missing as u8, Ordering::Release);
                return Err(EndpointError::new(
                    ErrorClass::NotFound,
                    format!("the container {} does not exist", self.location),
                )
                .at(&self.location));
            }
            Some(Err(e)) => {
                return Err(azure_error("cannot list", &self.location.to_string(), e));
            }
        };
        let mut items = Vec::with_capacity(page.blob_items.len());
        for blob in page.blob_items {
            let Some(name) = blob.name else {
                continue;
            };
            let Some(stored) = name.strip_prefix(self.strip.as_str()) else {
                continue;
            };
            let Some(relative) = self.location.path_of(stored) else {
                items.push(Err(Listed::Skipped {
                    path: stored.to_string(),
                    reason: format!(
                        "not syncable: the blob name {name:?} is not one blobsync's name \
                         encoding writes (an unquoted `／` or a stray `‛`); sync it with \
                         --name-encoding none"
                    ),
                    kind: SkipKind::Unsyncable,
                }));
                continue;
            };
            let relative: &str = &relative;
            if !self.in_scope(relative) {
                continue;
            }
            let properties = blob.properties.unwrap_or_default();
            let metadata = blob.metadata.and_then(|m| m.values).unwrap_or_default();
            // Folder stubs (written by hierarchical tools) are not files; with
            // `--include-directory-stub` they are listed, and synced as folders.
            let stub = metadata.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(FOLDER_KEY) && v.trim().eq_ignore_ascii_case("true")
            });
            if (stub && !self.with_stubs) || relative.is_empty() || relative.ends_with('/') {
                continue;
            }
            let mut metadata: Vec<(String, String)> = metadata
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            metadata.sort();
            let blob_props = BlobProps {
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
                    let mut tags: Vec<(String, String)> = blob
                        .blob_tags
                        .and_then(|t| t.blob_tag_set)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
                        .collect();
                    tags.sort();
                    tags
                },
            };
            items.push(Ok(Item {
                blob: Some(Box::new(blob_props)),
                path: relative.to_string(),
                size: properties.content_length.unwrap_or(0),
                mtime_ns: properties
                    .last_modified
                    .map(|t| t.unix_timestamp_nanos() as i64)
                    .unwrap_or(0),
                md5: properties
                    .content_md5
                    .and_then(|m| <[u8; 16]>::try_from(m.as_slice()).ok()),
                metadata,
                etag: properties.etag.map(|e| e.to_string().into_boxed_str()),
                identity: None,
            }));
        }
        self.page = items.into_iter();
        Ok(true)
    }
}

impl Lister for BlobLister {
    fn next_batch(&mut self) -> Option<Result<Vec<Listed>, EndpointError>> {
        if self.done {
            return None;
        }
        let mut batch = Vec::new();
        loop {
            let item = match self.pending.take().map(Ok).or_else(|| self.page.next()) {
                Some(Ok(item)) => item,
                Some(Err(skipped)) => {
                    batch.push(skipped);
                    continue;
                }
                None => {
                    if !batch.is_empty() {
                        return Some(Ok(batch));
                    }
                    match self.next_page() {
                        Ok(true) => continue,
                        Ok(false) => {
                            self.done = true;
                            return None;
                        }
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    }
                }
            };
            match self.dirs.step(&item.path) {
                Step::Dir(dir) => {
                    batch.push(Listed::Dir(dir));
                    self.pending = Some(item);
                    return Some(Ok(batch));
                }
                Step::Item => batch.push(Listed::File(item)),
                Step::Skip => {}
            }
        }
    }

    fn skip(&mut self, dir: &str) {
        self.dirs.skip(dir);
    }
}

impl Drop for BlobLister {
    fn drop(&mut self) {
        self.fetch.abort();
    }
}
