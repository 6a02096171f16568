//! Listing a container in parallel ranges (`--list-parallelism`). A listing with the `/`
//! delimiter names the top-level folders (prefixes) and the blobs beside them, put in
//! listing order; each folder is then listed flat on its own, up to N at a time, and the
//! pages are passed on strictly in order — the same sequence one flat listing gives,
//! since all names under one prefix sort together. Each range holds at most two pages
//! ahead, so memory stays bounded however large the container. A top level of more than
//! one page (5,000 entries) is listed flat, unsplit.

use std::collections::VecDeque;
use std::sync::Arc;

use azure_core::http::{Context, Method, Pipeline, Request, Url};
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::{
    BlobContainerClientListBlobsOptions, BlobItem, BlobName, ListBlobsIncludeItem,
    ListBlobsResponse,
};
use futures::TryStreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::endpoint::ListOrder;

/// One page of a listing, `None` at its end.
pub(super) type Page = Result<Option<ListBlobsResponse>, azure_core::Error>;

/// Pages a range may hold ahead of the one being passed on.
const AHEAD: usize = 2;

/// How a container is listed in parallel.
#[derive(Clone)]
pub(crate) struct Splitter {
    /// Sends the delimiter listing, signed as the container client's requests are.
    pub(crate) pipeline: Pipeline,
    /// The container's URL (with its SAS, if any).
    pub(crate) container_url: Url,
    /// Ranges listed at once.
    pub(crate) parallelism: usize,
    /// The order the service lists stored names in.
    pub(crate) order: ListOrder,
}

/// A delimiter listing page.
#[derive(serde::Deserialize)]
#[serde(rename = "EnumerationResults")]
struct Hierarchy {
    #[serde(rename = "Blobs", default)]
    blobs: Entries,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct Entries {
    #[serde(rename = "$value", default)]
    items: Vec<Entry>,
}

#[derive(serde::Deserialize)]
enum Entry {
    Blob(Box<BlobItem>),
    BlobPrefix(PrefixEntry),
    /// A decoded folder name (not in the XML).
    #[serde(skip)]
    Prefix(String),
}

#[derive(serde::Deserialize)]
struct PrefixEntry {
    #[serde(rename = "Name")]
    name: BlobName,
}

fn prefix_name(name: BlobName) -> Option<String> {
    let text = name.content?;
    if name.encoded == Some(true) {
        return percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned());
    }
    Some(text)
}

/// A piece of the listing, in order.
enum Segment {
    /// Blobs beside the folders, as the delimiter listing gave them.
    Blobs(Vec<BlobItem>),
    /// A folder, to be listed flat.
    Prefix(String),
}

/// A segment on its way out.
enum Pending {
    Ready(Vec<BlobItem>),
    Listing(mpsc::Receiver<Page>, AbortOnDrop),
}

/// Stops a spawned listing when its range is no longer wanted.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn page_of(items: Vec<BlobItem>) -> ListBlobsResponse {
    let mut page = ListBlobsResponse::default();
    page.blob_items = items;
    page
}

impl Splitter {
    fn include_query(include: &[ListBlobsIncludeItem]) -> String {
        include
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One page of the delimiter listing under `prefix`.
    async fn hierarchy_page(
        &self,
        prefix: &str,
        marker: Option<&str>,
        include: &[ListBlobsIncludeItem],
    ) -> Result<Hierarchy, azure_core::Error> {
        let mut url = self.container_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("restype", "container")
                .append_pair("comp", "list")
                .append_pair("delimiter", "/")
                .append_pair("maxresults", "5000")
                .append_pair("include", &Self::include_query(include));
            if !prefix.is_empty() {
                query.append_pair("prefix", prefix);
            }
            if let Some(marker) = marker {
                query.append_pair("marker", marker);
            }
        }
        let mut request = Request::new(url, Method::Get);
        request.insert_header("accept", "application/xml");
        request.insert_header("x-ms-version", super::transport::API_VERSION);
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, None)
            .await?;
        let (_, _, body) = response.deconstruct();
        azure_core::xml::from_xml(&body)
    }

    /// The top level under `prefix`, in listing order; `None` when it does not fit in one
    /// page (then the listing is not split: the pages of a delimiter listing need not
    /// interleave blobs and folders in name order, and the service does not promise it).
    async fn top_level(
        &self,
        prefix: &str,
        include: &[ListBlobsIncludeItem],
    ) -> Result<Option<Vec<Segment>>, azure_core::Error> {
        let page = self.hierarchy_page(prefix, None, include).await?;
        if page.next_marker.is_some_and(|m| !m.is_empty()) {
            return Ok(None);
        }
        let mut entries: Vec<(String, Entry)> = page
            .blobs
            .items
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Blob(blob) => Some((blob.name.clone()?, Entry::Blob(blob))),
                Entry::BlobPrefix(p) => {
                    let name = prefix_name(p.name)?;
                    Some((name.clone(), Entry::Prefix(name)))
                }
                Entry::Prefix(_) => None,
            })
            .collect();
        entries.sort_by(|(a, _), (b, _)| self.order.cmp(a, b));
        let mut segments = Vec::new();
        let mut blobs = Vec::new();
        for (_, entry) in entries {
            match entry {
                Entry::Blob(blob) => blobs.push(*blob),
                Entry::Prefix(name) => {
                    if !blobs.is_empty() {
                        segments.push(Segment::Blobs(std::mem::take(&mut blobs)));
                    }
                    segments.push(Segment::Prefix(name));
                }
                Entry::BlobPrefix(_) => {}
            }
        }
        if !blobs.is_empty() {
            segments.push(Segment::Blobs(blobs));
        }
        Ok(Some(segments))
    }

    /// Lists everything under `prefix` into `out`, in order, `parallelism` ranges at a
    /// time. False when the listing failed or the receiver is gone (stop there).
    pub(super) async fn list(
        &self,
        container: &Arc<BlobContainerClient>,
        prefix: String,
        include: Vec<ListBlobsIncludeItem>,
        out: &mpsc::Sender<Page>,
    ) -> bool {
        let segments = match self.top_level(&prefix, &include).await {
            Ok(Some(segments)) if segments.len() > 1 => segments,
            // One folder or none, or too many to hold: one flat listing.
            Ok(_) => return flat(container.clone(), prefix, include, out.clone()).await,
            Err(e) => {
                let _ = out.send(Err(e)).await;
                return false;
            }
        };
        tracing::debug!(
            "listing {} ranges of {}, {} at a time",
            segments.len(),
            self.container_url.path(),
            self.parallelism
        );
        let mut segments = segments.into_iter();
        let mut pending: VecDeque<Pending> = VecDeque::new();
        loop {
            while pending.len() < self.parallelism {
                match segments.next() {
                    Some(Segment::Blobs(items)) => pending.push_back(Pending::Ready(items)),
                    Some(Segment::Prefix(name)) => {
                        let (tx, rx) = mpsc::channel(AHEAD);
                        let listing = flat(container.clone(), name, include.clone(), tx);
                        let task = tokio::spawn(async move {
                            listing.await;
                        });
                        pending.push_back(Pending::Listing(rx, AbortOnDrop(task)));
                    }
                    None => break,
                }
            }
            let Some(next) = pending.pop_front() else {
                return true;
            };
            match next {
                Pending::Ready(items) => {
                    if out.send(Ok(Some(page_of(items)))).await.is_err() {
                        return false;
                    }
                }
                Pending::Listing(mut pages, _task) => {
                    while let Some(page) = pages.recv().await {
                        let failed = page.is_err();
                        if out.send(page).await.is_err() || failed {
                            return false;
                        }
                    }
                }
            }
        }
    }
}

/// Lists everything under `prefix` flat into `out` (pages only; the end is the channel
/// closing, or the return). False when the listing failed or the receiver is gone.
pub(super) async fn flat(
    container: Arc<BlobContainerClient>,
    prefix: String,
    include: Vec<ListBlobsIncludeItem>,
    out: mpsc::Sender<Page>,
) -> bool {
    let options = BlobContainerClientListBlobsOptions {
        include: Some(include),
        prefix: (!prefix.is_empty()).then_some(prefix),
        maxresults: Some(5000),
        ..Default::default()
    };
    let mut pages = match container.list_blobs(Some(options)) {
        Ok(pager) => pager.into_pages(),
        Err(e) => {
            let _ = out.send(Err(e)).await;
            return false;
        }
    };
    loop {
        let next = pages
            .try_next()
            .await
            .and_then(|page| page.map(|p| p.into_model()).transpose());
        match next {
            Ok(Some(page)) => {
                if out.send(Ok(Some(page))).await.is_err() {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(e) => {
                let _ = out.send(Err(e)).await;
                return false;
            }
        }
    }
}
