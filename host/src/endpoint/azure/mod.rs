//! Azure Blob Storage as a sync endpoint, on the official `azure_storage_blob` client.
//!
//! Listing is flat and paged (5,000 per page, the service's maximum), with metadata, one
//! page fetched ahead while the previous one is filtered. Uploads are a single Put Blob
//! below the block threshold, otherwise Put Block ×n and one Put Block List: nothing is
//! visible until the list is committed, and the commit carries the whole-file MD5 and the
//! source's modification time. Downloads are ranged GETs conditional on the listed ETag.

mod auth;
mod location;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use azure_core::http::{RequestContent, StatusCode, Transport};
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobContainerClientListBlobsOptions,
    BlockBlobClientCommitBlockListOptions, BlockBlobClientUploadOptions, BlockLookupList,
    HttpRange, ListBlobsIncludeItem,
};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use bytes::Bytes;
use futures::TryStreamExt;
use tokio::sync::OnceCell;

pub use auth::{Auth, ConnectionString, DEV_ACCOUNT, DEV_KEY, SharedKeyPolicy, check_key};
pub use location::{BlobLocation, LocationError, is_url, redact};

use super::{
    Capabilities, CommitInfo, DeleteTarget, Endpoint, EndpointError, ErrorClass, Item, ListSink,
    Listed, Reader, Writer,
};
use crate::plugin::{EndpointKind, Entry, FilterChain, Side};

/// The metadata key holding the source file's modification time (RFC 3339, ns). The
/// same key and format as rclone, so either tool reads the other's times.
pub const MTIME_KEY: &str = blobsync_plugin::MTIME_METADATA_KEY;

/// HTTP settings shared by every client of a run.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Requests that may be in flight at once (sizes the connection pool).
    pub concurrency: usize,
}

/// Builds the HTTP transport: reqwest on rustls with *ring*, no automatic decompression
/// (ranged downloads must see the stored bytes).
pub fn transport(settings: &HttpSettings) -> Result<Transport, EndpointError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency.max(8) * 2)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(300));
    // Certificates to trust besides the system's (a TLS-inspecting proxy, a private
    // cloud, the emulator over HTTPS), by the usual variable.
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        let fail = |why: String| {
            EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "SSL_CERT_FILE {}: {why}",
                    std::path::Path::new(&file).display()
                ),
            )
        };
        let pem = std::fs::read(&file).map_err(|e| fail(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no PEM certificates in it".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .build()
        .map_err(|e| EndpointError::new(ErrorClass::Other, format!("cannot set up HTTP: {e}")))?;
    Ok(Transport::new(Arc::new(client)))
}

/// Client options for every pipeline of a run (blob clients and token credentials): our
/// transport, and certificate and name-resolution failures reported at once instead of
/// being retried for a minute as if they were transient.
pub fn client_options(transport: &Transport) -> azure_core::http::ClientOptions {
    azure_core::http::ClientOptions {
        transport: Some(transport.clone()),
        per_try_policies: vec![Arc::new(PermanentTransportErrors)],
        ..Default::default()
    }
}

/// Turns transport errors that a retry cannot fix (an untrusted certificate, an unknown
/// host) into non-transport errors, which the retry policy does not retry.
#[derive(Debug)]
struct PermanentTransportErrors;

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait is declared with an elided lifetime
impl azure_core::http::policies::Policy for PermanentTransportErrors {
    async fn send(
        &self,
        ctx: &azure_core::http::Context,
        request: &mut azure_core::http::Request,
        next: &[Arc<dyn azure_core::http::policies::Policy>],
    ) -> azure_core::http::policies::PolicyResult {
        use azure_core::error::ErrorKind;
        let result = next[0].send(ctx, request, &next[1..]).await;
        match result {
            Err(e) if matches!(e.kind(), ErrorKind::Io | ErrorKind::Connection) => {
                let text = describe_error(&e).to_ascii_lowercase();
                let permanent = [
                    "certificate",
                    "dns error",
                    "failed to lookup address",
                    "name or service not known",
                ]
                .iter()
                .any(|needle| text.contains(needle));
                if permanent {
                    let hint = if text.contains("certificate") {
                        " (if the server uses a private CA, point SSL_CERT_FILE at its certificate)"
                    } else {
                        " (check the account name in the URL)"
                    };
                    Err(azure_core::Error::with_message(
                        ErrorKind::Other,
                        format!("{}{hint}", describe_error(&e)),
                    ))
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }
}

/// A container, or a virtual directory in one.
pub struct AzureEndpoint {
    location: BlobLocation,
    auth: Auth,
    container: Arc<BlobContainerClient>,
    /// Set when the listing found no container; `prepare_for_writes` creates it.
    missing: std::sync::atomic::AtomicBool,
    created: OnceCell<()>,
    upload_id: u64,
}

impl std::fmt::Debug for AzureEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureEndpoint")
            .field("location", &self.location)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl AzureEndpoint {
    /// Creates the client for `location` with `auth`.
    pub fn new(
        location: BlobLocation,
        auth: Auth,
        transport: Transport,
    ) -> Result<Self, EndpointError> {
        let mut options = BlobContainerClientOptions {
            client_options: client_options(&transport),
            ..Default::default()
        };
        let mut credential = None;
        match &auth {
            // Signing comes before the transport-error policy, so each try is signed.
            Auth::SharedKey { account, key, .. } => options.client_options.per_try_policies.insert(
                0,
                Arc::new(SharedKeyPolicy::new(account.clone(), key.clone())),
            ),
            Auth::Token { credential: c, .. } => credential = Some(c.clone()),
            Auth::Sas | Auth::Anonymous => {}
        }
        let container =
            BlobContainerClient::new(location.container_url(), credential, Some(options)).map_err(
                |e| {
                    EndpointError::new(
                        ErrorClass::Usage,
                        format!("{location}: {}", describe_error(&e)),
                    )
                },
            )?;
        let upload_id = (std::process::id() as u64) << 32
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        Ok(AzureEndpoint {
            location,
            auth,
            container: Arc::new(container),
            missing: Default::default(),
            created: OnceCell::new(),
            upload_id,
        })
    }

    /// The location.
    pub fn location(&self) -> &BlobLocation {
        &self.location
    }

    /// How requests are authorised.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    fn error(&self, what: &str, path: Option<&str>, e: &azure_core::Error) -> EndpointError {
        let class = classify(e);
        let target = match path {
            Some(p) => self.describe_path(p),
            None => self.location.to_string(),
        };
        let mut message = format!("{what} {target}: {}", describe_error(e));
        if class == ErrorClass::Auth {
            message.push_str(&format!(
                " — check the credentials ({}) and their permissions (list and read to sync \
                 from a container; also create and write to upload; delete for \
                 --delete-destination)",
                self.auth.describe()
            ));
        }
        EndpointError::new(class, message)
    }

    /// Lists the container on the current thread (blocking on the runtime for pages).
    fn list_blocking(
        &self,
        side: Side,
        scope: &str,
        filters: &mut FilterChain,
        sink: &mut ListSink,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), EndpointError> {
        let prefix = self.location.list_prefix();
        // A scope lists `scope` itself and `scope/…`, nothing else that merely starts
        // with the same characters.
        let service_prefix = match (&prefix, scope.is_empty()) {
            (p, true) => p.clone(),
            (Some(p), false) => Some(format!("{p}{scope}")),
            (None, false) => Some(scope.to_string()),
        };
        let in_scope = |relative: &str| {
            scope.is_empty()
                || relative == scope
                || (relative.starts_with(scope)
                    && relative.as_bytes().get(scope.len()) == Some(&b'/'))
        };
        let options = BlobContainerClientListBlobsOptions {
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            prefix: service_prefix,
            maxresults: Some(5000),
            ..Default::default()
        };
        let pager = self
            .container
            .list_blobs(Some(options))
            .map_err(|e| self.error("cannot list", None, &e))?;
        // Fetch one page ahead while the previous one is converted and filtered.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fetch = runtime.spawn(async move {
            let mut pages = pager.into_pages();
            loop {
                let next = pages.try_next().await;
                let stop = !matches!(next, Ok(Some(_)));
                let next = next.and_then(|page| page.map(|p| p.into_model()).transpose());
                if tx.send(next).is_err() || stop {
                    break;
                }
            }
        });
        let strip = prefix.as_deref().unwrap_or("");
        let mut dirs = DirVerdicts::default();
        let result = loop {
            let page = match rx.recv() {
                Ok(Ok(Some(page))) => page,
                Ok(Ok(None)) | Err(_) => break Ok(()),
                Ok(Err(e)) => {
                    if e.http_status() == Some(StatusCode::NotFound) {
                        // No container yet: an empty destination (created before the first
                        // upload), but a missing source is an error.
                        if side == Side::Destination {
                            self.missing.store(true, Ordering::Relaxed);
                            break Ok(());
                        }
                        break Err(EndpointError::new(
                            ErrorClass::Usage,
                            format!(
                                "the source container {} does not exist; nothing was copied or \
                                 deleted",
                                self.location
                            ),
                        ));
                    }
                    break Err(self.error("cannot list", None, &e));
                }
            };
            let mut items = Vec::with_capacity(page.blob_items.len());
            for blob in page.blob_items {
                let Some(name) = blob.name else { continue };
                let Some(relative) = name.strip_prefix(strip) else {
                    continue;
                };
                if !in_scope(relative) {
                    continue;
                }
                let properties = blob.properties.unwrap_or_default();
                let metadata = blob.metadata.and_then(|m| m.values).unwrap_or_default();
                // Folder stubs (written by hierarchical tools) are not files.
                if metadata
                    .get("hdi_isfolder")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                    || relative.is_empty()
                    || relative.ends_with('/')
                {
                    continue;
                }
                let mut metadata: Vec<(String, String)> = metadata
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
                metadata.sort();
                let mtime_ns = properties
                    .last_modified
                    .map(|t| t.unix_timestamp_nanos() as i64)
                    .unwrap_or(0);
                items.push(Item {
                    entry: Entry {
                        path: relative.to_string(),
                        size: properties.content_length.unwrap_or(0),
                        mtime_ns,
                        md5: properties.content_md5.filter(|m| m.len() == 16),
                        is_dir: false,
                        endpoint: EndpointKind::AzureBlob,
                        metadata,
                    },
                    etag: properties.etag.map(|e| e.to_string().into_boxed_str()),
                    identity: None,
                });
            }
            let listed = if filters.is_empty() {
                items.into_iter().map(Listed::Item).collect()
            } else {
                match dirs.filter_page(side, filters, items) {
                    Ok(listed) => listed,
                    Err(e) => break Err(e.into()),
                }
            };
            let mut alive = true;
            for l in listed {
                alive &= sink.push(l);
            }
            if !alive {
                break Ok(());
            }
        };
        fetch.abort();
        result
    }

    async fn ensure_container(&self) -> Result<(), EndpointError> {
        if !self.missing.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.created
            .get_or_try_init(|| async {
                match self.container.create(None).await {
                    Ok(_) => {
                        tracing::info!("created container {}", self.location);
                        Ok(())
                    }
                    Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
                    Err(e) => Err(self.error("cannot create the container", None, &e)),
                }
            })
            .await
            .map(|_| ())
    }
}

/// Filter verdicts for the virtual directories of a flat blob listing. A blob listing has
/// no directory entries, but filters must see directories on both sides (an excluded
/// directory is excluded everywhere), so each prefix is asked about once, before the blobs
/// below it. The listing is sorted, so verdicts are kept only for the current path.
#[derive(Default)]
struct DirVerdicts {
    /// `(dir/ , excluded?)` for each ancestor directory of the last blob, outermost first.
    stack: Vec<(String, bool)>,
}

impl DirVerdicts {
    fn filter_page(
        &mut self,
        side: Side,
        filters: &mut FilterChain,
        items: Vec<Item>,
    ) -> Result<Vec<Listed>, crate::plugin::PluginError> {
        // 1. The directories this page enters, in order, each once.
        let mut new_dirs: Vec<String> = Vec::new();
        let mut known: Vec<String> = self.stack.iter().map(|(d, _)| d.clone()).collect();
        for item in &items {
            let path = &item.entry.path;
            known.retain(|d| path.starts_with(d.as_str()));
            for (i, _) in path.match_indices('/') {
                let dir = &path[..=i];
                if !known.iter().any(|d| d == dir) {
                    known.push(dir.to_string());
                    new_dirs.push(dir.to_string());
                }
            }
        }
        let dir_entries: Vec<Entry> = new_dirs
            .iter()
            .map(|d| Entry {
                path: d.trim_end_matches('/').to_string(),
                size: 0,
                mtime_ns: 0,
                md5: None,
                is_dir: true,
                endpoint: EndpointKind::AzureBlob,
                metadata: Vec::new(),
            })
            .collect();
        let dir_verdicts = filters.apply(side, &dir_entries)?;
        let mut excluded_dirs: HashMap<&str, crate::plugin::Exclusion> = HashMap::new();
        for (dir, verdict) in new_dirs.iter().zip(dir_verdicts) {
            if let Some(v) = verdict {
                excluded_dirs.insert(dir.as_str(), v);
            }
        }
        // 2. Walk the page: emit markers for excluded directories, drop blobs below them,
        //    and collect the remaining blobs for the file filter.
        let mut out: Vec<Option<Listed>> = Vec::with_capacity(items.len());
        let mut files = Vec::new();
        let mut file_slots = Vec::new();
        for item in items {
            let path = item.entry.path.clone();
            self.stack.retain(|(d, _)| path.starts_with(d.as_str()));
            let mut hidden = self.stack.iter().any(|(_, excluded)| *excluded);
            for (i, _) in path.match_indices('/') {
                let dir = &path[..=i];
                if self.stack.iter().any(|(d, _)| d == dir) {
                    continue;
                }
                let exclusion = excluded_dirs.get(dir).cloned();
                let excluded = exclusion.is_some();
                if let (Some(exclusion), false) = (exclusion, hidden) {
                    out.push(Some(Listed::Excluded {
                        path: dir.to_string(),
                        exclusion,
                    }));
                }
                hidden |= excluded;
                self.stack.push((dir.to_string(), excluded));
            }
            if hidden {
                continue;
            }
            file_slots.push(out.len());
            out.push(None);
            files.push(item);
        }
        let entries: Vec<Entry> = files.iter().map(|i| i.entry.clone()).collect();
        let verdicts = filters.apply(side, &entries)?;
        for ((slot, item), verdict) in file_slots.into_iter().zip(files).zip(verdicts) {
            out[slot] = Some(match verdict {
                None => Listed::Item(item),
                Some(exclusion) => Listed::Excluded {
                    path: item.entry.path,
                    exclusion,
                },
            });
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// The class of an Azure error.
fn classify(e: &azure_core::Error) -> ErrorClass {
    match e.http_status() {
        Some(StatusCode::Unauthorized) | Some(StatusCode::Forbidden) => ErrorClass::Auth,
        Some(StatusCode::NotFound) => ErrorClass::NotFound,
        Some(StatusCode::PreconditionFailed) => ErrorClass::Changed,
        _ if matches!(e.kind(), azure_core::error::ErrorKind::Credential) => ErrorClass::Auth,
        _ => ErrorClass::Other,
    }
}

/// A one-line description of an Azure error: status, the service's error code and
/// message, or the transport's cause.
fn describe_error(e: &azure_core::Error) -> String {
    use azure_core::error::ErrorKind;
    let text = match e.kind() {
        ErrorKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let mut text = format!("HTTP {}", u16::from(*status));
            if let Some(code) = error_code {
                text.push(' ');
                text.push_str(code);
            }
            let body = raw_response
                .as_ref()
                .map(|r| String::from_utf8_lossy(r.body()).to_string());
            if let Some(message) = body.as_deref().and_then(service_message) {
                text.push_str(" — ");
                text.push_str(&message);
            }
            text
        }
        _ => {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let next = s.to_string();
                if !cause.contains(&next) {
                    cause.push_str(": ");
                    cause.push_str(&next);
                }
                source = s.source();
            }
            cause
        }
    };
    redact(&text)
}

/// The first line of the `<Message>` in a Blob service error body.
fn service_message(body: &str) -> Option<String> {
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    body[start..end]
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

#[async_trait::async_trait]
impl Endpoint for AzureEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::AzureBlob,
            listed_md5: true,
        }
    }

    fn describe(&self) -> String {
        self.location.to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        format!("{}/{path}", self.location)
    }

    fn start_listing(
        self: Arc<Self>,
        side: Side,
        scope: &str,
        filters: FilterChain,
        sink: ListSink,
        runtime: tokio::runtime::Handle,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let scope = scope.trim_matches('/').to_string();
        std::thread::Builder::new()
            .name("list-blob".into())
            .spawn(move || {
                let (mut filters, mut sink) = (filters, sink);
                let result = self.list_blocking(side, &scope, &mut filters, &mut sink, &runtime);
                sink.finish(result);
            })
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        Ok(Box::new(BlobReader {
            client: self
                .container
                .blob_client(&self.location.blob_name(&item.entry.path)),
            etag: item.etag.as_deref().map(azure_core::http::Etag::from),
            described: self.describe_path(&item.entry.path),
        }))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        self.ensure_container().await
    }

    async fn open_writer(
        &self,
        path: &str,
        size: u64,
        block_size: u64,
    ) -> Result<Box<dyn Writer>, EndpointError> {
        self.ensure_container().await?;
        let client = self.container.blob_client(&self.location.blob_name(path));
        Ok(Box::new(BlobWriter {
            single: size <= block_size,
            client,
            pending: std::sync::Mutex::new(None),
            blocks: AtomicU64::new(size.div_ceil(block_size.max(1)).max(1)),
            upload_id: self.upload_id ^ BLOCK_COUNTER.fetch_add(1, Ordering::Relaxed),
            described: self.describe_path(path),
            content_type: content_type(path),
        }))
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let client = self
            .container
            .blob_client(&self.location.blob_name(&target.path));
        let options = azure_storage_blob::models::BlobClientDeleteOptions {
            if_match: target.etag.as_deref().map(azure_core::http::Etag::from),
            ..Default::default()
        };
        match client.delete(Some(options)).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(()),
            // A precondition failure is also what a blob that is already gone gets.
            Err(e)
                if e.http_status() == Some(StatusCode::PreconditionFailed)
                    && !client.exists().await.unwrap_or(true) =>
            {
                Ok(())
            }
            Err(e) if e.http_status() == Some(StatusCode::PreconditionFailed) => {
                Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed since it was listed; it was not deleted",
                        self.describe_path(&target.path)
                    ),
                ))
            }
            Err(e) => Err(self.error("cannot delete", Some(&target.path), &e)),
        }
    }
}

static BLOCK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The Content-Type for a path, from its extension (what a static site needs).
fn content_type(path: &str) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

struct BlobReader {
    client: azure_storage_blob::BlobClient,
    etag: Option<azure_core::http::Etag>,
    described: String,
}

#[async_trait::async_trait]
impl Reader for BlobReader {
    async fn read(&self, offset: u64, len: usize) -> Result<Bytes, EndpointError> {
        let mut buf = vec![0u8; len];
        if len == 0 {
            return Ok(Bytes::new());
        }
        let options = BlobClientDownloadOptions {
            range: Some(HttpRange::new(offset, len as u64)),
            if_match: self.etag.clone(),
            parallel: std::num::NonZero::new(1),
            partition_size: std::num::NonZero::new(len),
            ..Default::default()
        };
        match self.client.download_into(&mut buf, Some(options)).await {
            Ok(r) if r.len == len => Ok(Bytes::from(buf)),
            Ok(r) => Err(EndpointError::new(
                ErrorClass::Changed,
                format!(
                    "{}: expected {len} bytes at offset {offset}, got {}",
                    self.described, r.len
                ),
            )),
            Err(e) if e.http_status() == Some(StatusCode::PreconditionFailed) => {
                Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed while it was being downloaded; it will be picked up by the next run",
                        self.described
                    ),
                ))
            }
            Err(e) => Err(EndpointError::new(
                classify(&e),
                format!("cannot read {}: {}", self.described, describe_error(&e)),
            )),
        }
    }

    async fn finish(&self) -> Result<(), EndpointError> {
        // Every range was conditional on the listed ETag.
        Ok(())
    }
}

struct BlobWriter {
    single: bool,
    client: azure_storage_blob::BlobClient,
    /// The one block of a single-request upload, held until commit (the Put Blob carries
    /// the MD5 and metadata).
    pending: std::sync::Mutex<Option<Bytes>>,
    blocks: AtomicU64,
    upload_id: u64,
    described: String,
    content_type: String,
}

impl BlobWriter {
    fn block_id(&self, index: u64) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.upload_id.to_be_bytes());
        id[8..].copy_from_slice(&index.to_be_bytes());
        id
    }

    fn fail(&self, what: &str, e: &azure_core::Error) -> EndpointError {
        EndpointError::new(
            classify(e),
            format!("{what} {}: {}", self.described, describe_error(e)),
        )
    }

    fn metadata(info: &CommitInfo) -> HashMap<String, String> {
        let mut metadata: HashMap<String, String> = info
            .metadata
            .iter()
            .filter(|(k, _)| k != MTIME_KEY)
            .cloned()
            .collect();
        metadata.insert(
            MTIME_KEY.to_string(),
            blobsync_plugin::format_rfc3339_ns(info.mtime_ns),
        );
        metadata
    }
}

#[async_trait::async_trait]
impl Writer for BlobWriter {
    async fn write_block(
        &self,
        index: u64,
        _offset: u64,
        data: Bytes,
    ) -> Result<(), EndpointError> {
        if self.single {
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
            return Ok(());
        }
        let len = data.len() as u64;
        self.client
            .block_blob_client()
            .stage_block(&self.block_id(index), len, data.into(), None)
            .await
            .map(|_| ())
            .map_err(|e| self.fail("cannot upload a block of", &e))
    }

    async fn commit(self: Box<Self>, info: CommitInfo) -> Result<(), EndpointError> {
        let metadata = Self::metadata(&info);
        if self.single {
            let data = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_default();
            let len = data.len() as u64;
            let options = BlockBlobClientUploadOptions {
                blob_content_md5: info.md5.map(|m| m.to_vec()),
                blob_content_type: Some(self.content_type.clone()),
                metadata: Some(metadata),
                parallel: std::num::NonZero::new(1),
                partition_size: std::num::NonZero::new(len.max(1)),
                ..Default::default()
            };
            return self
                .client
                .upload(data.into(), Some(options))
                .await
                .map(|_| ())
                .map_err(|e| self.fail("cannot upload", &e));
        }
        let blocks = self.blocks.load(Ordering::Relaxed);
        let list = BlockLookupList {
            latest: Some((0..blocks).map(|i| self.block_id(i).to_vec()).collect()),
            ..Default::default()
        };
        let options = BlockBlobClientCommitBlockListOptions {
            blob_content_md5: info.md5.map(|m| m.to_vec()),
            blob_content_type: Some(self.content_type.clone()),
            metadata: Some(metadata),
            ..Default::default()
        };
        let body: RequestContent<BlockLookupList, azure_core::http::XmlFormat> = list
            .try_into()
            .map_err(|e| self.fail("cannot encode the block list of", &e))?;
        self.client
            .block_blob_client()
            .commit_block_list(body, Some(options))
            .await
            .map(|_| ())
            .map_err(|e| self.fail("cannot commit the blocks of", &e))
    }

    async fn abort(self: Box<Self>) {
        // Staged blocks that are never committed are garbage-collected by the service
        // after a week; nothing is visible, so there is nothing to undo.
    }
}
