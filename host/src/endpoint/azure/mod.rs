//! Azure Blob Storage as a sync endpoint, on the official `azure_storage_blob` client:
//! the transport ([`transport`]), credentials ([`credentials`], [`entra`],
//! [`shared_key`]), listing ([`list`]), ranged reads ([`read`]), staged writes
//! ([`write`]) and error mapping ([`errors`]).

mod auth;
mod batch;
mod batch_tier;
mod batch_wire;
mod copy_source;
mod credentials;
mod entra;
mod errors;
mod list;
mod location;
mod lock;
mod names;
mod own;
mod read;
mod retry;
mod server_copy;
mod shared_key;
mod split_list;
mod transport;
mod update;
mod url_forms;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use azure_core::http::StatusCode;
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};

pub use auth::{Auth, AuthMode};
pub use credentials::{AuthOptions, ConnectionString, resolve_auth};
pub use entra::EntraOptions;
pub use location::{Addressing, BlobLocation, is_url, redact};
pub use retry::{RetrySettings, Timeouts};
pub use shared_key::SharedKeyPolicy;
pub use transport::{Http, HttpSettings, client_options, transport};

use errors::azure_error;

use crate::endpoint::{
    BlobUpdate, Capabilities, CopySource, CopyWriter, DeleteTarget, Endpoint, EndpointError,
    EndpointKind, ErrorClass, Item, ListOrder, ListRequest, Lister, Lock, RESERVED_PREFIX, Reader,
    SkipKind, SnapshotPolicy, WriteShape, WriteTarget, Writer, Written,
};

/// A container, or a virtual directory in one.
pub struct AzureEndpoint {
    location: BlobLocation,
    auth: Auth,
    container: Arc<BlobContainerClient>,
    runtime: tokio::runtime::Handle,
    http: Http,
    /// What the last listing found of the container ([`ContainerState`]).
    container_state: Arc<AtomicU8>,
    /// Serialises creating the container.
    creating: tokio::sync::Mutex<()>,
    /// A hierarchical-namespace account (from the URL, or the service's answer).
    hierarchical: std::sync::atomic::AtomicBool,
    /// What deletes do with snapshots.
    snapshots: SnapshotPolicy,
    /// List folder stubs (`hdi_isfolder=true`) as files.
    with_stubs: bool,
    /// Lists the container in parallel ranges (`--list-parallelism`).
    splitter: split_list::Splitter,
    /// Deletes go in batches (until the service refuses one).
    batches: std::sync::atomic::AtomicBool,
    /// The pipeline batches are sent through: the session's policies, one try.
    batch_pipeline: azure_core::http::Pipeline,
    /// Tier changes gathered for a batch.
    tiers: batch_tier::TierQueue,
}

impl std::fmt::Debug for AzureEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureEndpoint")
            .field("location", &self.location)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What is known of the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ContainerState {
    /// Not listed yet.
    Unknown = 0,
    /// The last listing found it.
    Exists = 1,
    /// The last listing found none (an upload creates it).
    Missing = 2,
}

impl AzureEndpoint {
    /// The endpoint for `location`, authorised by `auth`. Listings fetch pages on the
    /// tokio runtime the endpoint is created in.
    pub fn new(location: BlobLocation, auth: Auth, http: &Http) -> Result<Self, EndpointError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            EndpointError::with_source(
                ErrorClass::Other,
                "internal error: no async runtime for",
                &location,
                e,
            )
        })?;
        let mut options = BlobContainerClientOptions {
            client_options: client_options(http),
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
        let (pipeline, batch_pipeline) =
            transport::raw_pipelines(&options.client_options, credential.as_ref());
        let container =
            BlobContainerClient::new(location.container_url(), credential, Some(options))
                .map_err(|e| azure_error("cannot use", &location.to_string(), e))
                .map_err(|e| e.reclassify(ErrorClass::Usage))?;
        let splitter = split_list::Splitter {
            pipeline,
            container_url: location.container_url(),
            parallelism: 1,
            order: ListOrder::UTF16,
        };
        let hierarchical = location.hierarchical;
        Ok(AzureEndpoint {
            location,
            auth,
            container: Arc::new(container),
            batches: std::sync::atomic::AtomicBool::new(true),
            batch_pipeline,
            tiers: Default::default(),
            runtime,
            http: http.clone(),
            container_state: Arc::new(AtomicU8::new(ContainerState::Unknown as u8)),
            creating: tokio::sync::Mutex::new(()),
            hierarchical: std::sync::atomic::AtomicBool::new(hierarchical),
            snapshots: SnapshotPolicy::default(),
            with_stubs: false,
            splitter,
        })
    }

    /// Deletes treat snapshots as `policy` says (`--delete-snapshots`).
    pub fn with_snapshot_policy(mut self, policy: SnapshotPolicy) -> Self {
        self.snapshots = policy;
        self
    }

    /// Lists the container in up to `n` parallel ranges, one per top-level folder
    /// (`--list-parallelism`); 1 lists it as one flat listing.
    pub fn with_list_parallelism(mut self, n: usize) -> Self {
        self.splitter.parallelism = n.max(1);
        self
    }

    /// Folder stubs (`hdi_isfolder=true`) are listed as files and copied
    /// (`--include-directory-stub`).
    pub fn with_directory_stubs(mut self, on: bool) -> Self {
        self.with_stubs = on;
        self
    }

    /// Creates the container unless a listing found it. Without a listing to go by, a
    /// refused create (a SAS without the permission) leaves the writes to say why.
    async fn ensure_container(&self) -> Result<(), EndpointError> {
        if self.container_state.load(Ordering::Acquire) == ContainerState::Exists as u8 {
            return Ok(());
        }
        let _creating = self.creating.lock().await;
        let state = self.container_state.load(Ordering::Acquire);
        if state == ContainerState::Exists as u8 {
            return Ok(());
        }
        match self.container.create(None).await {
            Ok(_) => tracing::info!("created container {}", self.location),
            Err(e) if e.http_status() == Some(StatusCode::Conflict) => {}
            Err(e)
                if state == ContainerState::Unknown as u8
                    && e.http_status() == Some(StatusCode::Forbidden) =>
            {
                tracing::debug!("cannot create {} (it may exist): {e}", self.location);
            }
            Err(e) if e.http_status() == Some(StatusCode::Forbidden) => {
                return Err(self.missing_container(&format!("the service refused: {e}")));
            }
            Err(e) => {
                return Err(self.explain_auth(azure_error(
                    "cannot create the container",
                    &self.location.to_string(),
                    e,
                )));
            }
        }
        self.container_state
            .store(ContainerState::Exists as u8, Ordering::Release);
        Ok(())
    }

    /// Why the SAS in the URL cannot create the container, when the SAS itself says so: a
    /// container SAS (`sr=c`) never can, nor an account SAS without container resources
    /// (`srt` without `c`) or without the create or write permission.
    fn sas_cannot_create(&self) -> Option<&'static str> {
        if !matches!(self.auth, Auth::Sas) {
            return None;
        }
        let query = self.location.sas.as_deref()?;
        let field = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(|v| v.to_string())
        };
        if field("sr").is_some() {
            return Some("it is a SAS for the container (or a blob), which cannot create it");
        }
        if field("srt").is_some_and(|srt| !srt.contains('c')) {
            return Some("it is an account SAS without container resources (srt has no c)");
        }
        if field("sp").is_some_and(|sp| !sp.contains('c') && !sp.contains('w')) {
            return Some("it has neither the create nor the write permission (sp)");
        }
        None
    }

    /// The one error for a missing container the credential cannot create, saying how to
    /// fix it.
    fn missing_container(&self, why: &str) -> EndpointError {
        EndpointError::new(
            ErrorClass::Auth,
            format!(
                "the container {} does not exist, and the credential ({}) cannot create it: \
                 {why}. Create the container first (the portal, or `az storage container \
                 create --account-name {} --name {}`), or use a credential that may create \
                 containers (an account SAS with the c permission on container resources, the \
                 account key, or an Entra ID role such as Storage Blob Data Contributor)",
                self.location,
                self.auth.describe(),
                self.location.account,
                self.location.container
            ),
        )
        .at(&self.location)
    }

    /// A writer for `target`, knowing the blocks an earlier attempt staged.
    async fn blob_writer(&self, target: &WriteTarget) -> Result<write::BlobWriter, EndpointError> {
        self.ensure_container().await?;
        let client = self.container.blob_client(
            &self.location.blob_name_as(
                &target.path,
                target
                    .replaces
                    .as_ref()
                    .and_then(|v| v.listed_as.as_deref()),
            ),
        );
        let writer = write::BlobWriter {
            shape: target.shape,
            client,
            pending: std::sync::Mutex::new(None),
            described: self.describe_path(&target.path),
            replaces: target.replaces.clone(),
            size: target.size,
            id_len: std::sync::atomic::AtomicUsize::new(16),
            staged: Default::default(),
            ids: std::sync::Mutex::new(vec![None; target.shape.blocks() as usize]),
            reused: Default::default(),
            retried: self.http.retries.clone(),
        };
        if target.shape != WriteShape::Single {
            writer.load_staged().await?;
        }
        Ok(writer)
    }

    /// Adds what to check to an authorisation failure.
    fn explain_auth(&self, e: EndpointError) -> EndpointError {
        if e.class() != ErrorClass::Auth {
            return e;
        }
        let hint = format!(
            " — check the credentials ({}) and their permissions (list and read to sync from \
             a container; also create and write to upload; delete for --delete-destination)",
            self.auth.describe()
        );
        e.explain(&hint)
    }
}

impl AzureEndpoint {
    /// One of blobsync's own blobs, for messages.
    fn own_described(&self, blob: &str) -> String {
        format!(
            "{blob} (blobsync's own, in the container of {})",
            self.location
        )
    }
}

#[async_trait::async_trait]
impl Endpoint for AzureEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::Blob,
            listed_md5: true,
            // Times are stored in metadata to the nanosecond (Last-Modified, kept to the
            // second, is what the comparator falls back to without them).
            time_precision_ns: 1,
            latest_time_ns: i64::MAX,
            fold: crate::endpoint::NameFold::Exact,
            one_entry_per_name: false,
            // Hierarchical-namespace accounts list path by path (`a/x` before `a-b`); flat
            // ones in UTF-16 code-unit order.
            order: Some({
                let order = if self.hierarchical.load(Ordering::Relaxed) {
                    ListOrder::PATH_COMPONENTS
                } else {
                    ListOrder::UTF16
                };
                if self.location.encode_names {
                    order.encoded()
                } else {
                    order
                }
            }),
        }
    }

    fn describe(&self) -> String {
        self.location.to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        format!("{}/{path}", self.location)
    }

    fn credential(&self) -> Option<String> {
        Some(self.auth.describe())
    }

    fn refuses(&self, item: &Item) -> Option<(SkipKind, String)> {
        names::unstorable(&self.location, &item.path).map(|why| (SkipKind::Unsyncable, why))
    }

    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError> {
        list::BlobLister::start(
            &self.container,
            &self.location,
            request,
            self.container_state.clone(),
            &self.runtime,
            list::ListShape {
                with_stubs: self.with_stubs,
                splitter: Some(split_list::Splitter {
                    // The delimiter listing sorts stored names: the collation, not the
                    // encoding.
                    order: ListOrder::of(self.capabilities().order.unwrap_or_default().collation),
                    ..self.splitter.clone()
                }),
                order: self.capabilities().order.unwrap_or_default(),
            },
        )
        .map(|l| Box::new(l) as Box<dyn Lister>)
        .map_err(|e| self.explain_auth(e))
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        Ok(Box::new(read::BlobReader {
            client: self.container.blob_client(
                &self
                    .location
                    .blob_name_as(&item.path, item.listed_as.as_deref()),
            ),
            etag: item.etag.as_deref().map(azure_core::http::Etag::from),
            described: self.describe_path(&item.path),
            retry: self.http.settings.retry.clone(),
            retries: self.http.retries.clone(),
            size: item.size,
            trusted: item.md5.is_some(),
        }))
    }

    async fn probe(&self) {
        use azure_storage_blob::models::BlobContainerClientGetAccountInfoResultHeaders;
        match self.container.get_account_info(None).await {
            Ok(info) => {
                if info.is_hierarchical_namespace_enabled().ok().flatten() == Some(true) {
                    tracing::info!("{} has a hierarchical namespace", self.location);
                    self.hierarchical.store(true, Ordering::Relaxed);
                }
            }
            // A SAS or role without the permission: the URL decides.
            Err(e) => tracing::debug!("cannot read the account kind of {}: {e}", self.location),
        }
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        if self.container_state.load(Ordering::Acquire) == ContainerState::Missing as u8
            && let Some(why) = self.sas_cannot_create()
        {
            return Err(self.missing_container(why));
        }
        self.ensure_container().await
    }

    async fn check_writable(&self) -> Result<(), EndpointError> {
        match self.sas_cannot_create() {
            Some(why)
                if self.container_state.load(Ordering::Acquire)
                    == ContainerState::Missing as u8 =>
            {
                Err(self.missing_container(why))
            }
            _ => Ok(()),
        }
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        Ok(Box::new(self.blob_writer(target).await?))
    }

    async fn copy_source(&self, item: &Item) -> Result<Option<CopySource>, EndpointError> {
        let client = self.container.blob_client(
            &self
                .location
                .blob_name_as(&item.path, item.listed_as.as_deref()),
        );
        copy_source::copy_source(
            &self.location,
            &self.auth,
            client.url().clone(),
            item,
            self.describe_path(&item.path),
        )
        .await
        .map(Some)
    }

    async fn open_copy_writer(
        &self,
        target: &WriteTarget,
        source: &CopySource,
    ) -> Result<Option<Box<dyn CopyWriter>>, EndpointError> {
        Ok(Some(Box::new(server_copy::CopyBlobWriter {
            writer: self.blob_writer(target).await?,
            source: source.clone(),
            pipeline: self.splitter.pipeline.clone(),
        })))
    }

    async fn holds(&self, written: &Written) -> bool {
        use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders;
        let client = self.container.blob_client(
            &self
                .location
                .blob_name_as(&written.path, written.listed_as.as_deref()),
        );
        match client.get_properties(None).await {
            Ok(r) => {
                let size = r.content_length().ok().flatten();
                let md5 = r.content_md5().ok().flatten();
                size == Some(written.size) && md5.as_deref() == Some(&written.md5[..])
            }
            Err(_) => false,
        }
    }

    fn delete_batch_size(&self) -> usize {
        if self.batches() { batch::MAX_BATCH } else { 1 }
    }

    async fn delete_many(&self, targets: &[DeleteTarget]) -> Vec<Result<(), EndpointError>> {
        self.delete_all(targets).await
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let client = self.container.blob_client(
            &self
                .location
                .blob_name_as(&target.path, target.version.listed_as.as_deref()),
        );
        use azure_storage_blob::models::DeleteSnapshotsOptionType;
        let options = azure_storage_blob::models::BlobClientDeleteOptions {
            if_match: target
                .version
                .etag
                .as_deref()
                .map(azure_core::http::Etag::from),
            delete_snapshots: match self.snapshots {
                SnapshotPolicy::Include => Some(DeleteSnapshotsOptionType::Include),
                SnapshotPolicy::Only => Some(DeleteSnapshotsOptionType::Only),
                SnapshotPolicy::Fail => None,
            },
            ..Default::default()
        };
        let described = self.describe_path(&target.path);
        match client.delete(Some(options)).await {
            Ok(_) => Ok(()),
            Err(e) if errors::error_code(&e) == Some("SnapshotsPresent") => {
                Err(EndpointError::new(
                    ErrorClass::Other,
                    format!(
                        "{described} has snapshots and was not deleted (--delete-snapshots=fail); \
                     use --delete-snapshots=include to delete it with them"
                    ),
                )
                .at(&described))
            }
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
                    format!("{described} changed since it was listed; it was not deleted"),
                )
                .at(&described))
            }
            Err(e) => Err(self.explain_auth(azure_error("cannot delete", &described, e))),
        }
    }

    async fn update(&self, update: &BlobUpdate) -> Result<(), EndpointError> {
        let tier_only = update.headers.is_none()
            && update.metadata.is_none()
            && update.tags.is_none()
            && update.tier.is_some();
        if tier_only && self.set_tier_gathered(update).await {
            return Ok(());
        }
        let client = self.container.blob_client(
            &self
                .location
                .blob_name_as(&update.path, update.listed_as.as_deref()),
        );
        update::update(&client, update, &self.describe_path(&update.path))
            .await
            .map_err(|e| self.explain_auth(e))
    }

    async fn lock(&self, name: &str, holder: &str) -> Result<Lock, EndpointError> {
        let described = self.describe();
        lock::lock(
            |name| self.container.blob_client(name),
            name,
            holder,
            &described,
        )
        .await
        .map_err(|e| self.explain_auth(e))
    }

    async fn read_own(&self, name: &str, file: &Path) -> Result<Option<String>, EndpointError> {
        let blob = format!("{RESERVED_PREFIX}{name}");
        let client = self.container.blob_client(&blob);
        own::read_own(&client, file, &self.own_described(&blob))
            .await
            .map_err(|e| self.explain_auth(e))
    }

    async fn write_own(
        &self,
        name: &str,
        file: &Path,
        tag: Option<&str>,
    ) -> Result<String, EndpointError> {
        let blob = format!("{RESERVED_PREFIX}{name}");
        let client = self.container.blob_client(&blob);
        own::write_own(&client, file, tag, &self.own_described(&blob))
            .await
            .map_err(|e| self.explain_auth(e))
    }
}
