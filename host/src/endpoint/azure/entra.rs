//! Entra ID credentials (client secret, workload identity, managed identity, Azure CLI),
//! and the rule that tokens only go to Azure Storage hosts over HTTPS.

use std::sync::Arc;

use azure_core::credentials::Secret;

use super::auth::{Auth, AuthMode};
use super::location::BlobLocation;
use crate::endpoint::{EndpointError, ErrorClass};

fn auth_error(message: String) -> EndpointError {
    EndpointError::new(ErrorClass::Auth, message)
}

/// Entra ID settings from flags and the environment (the command line reads both; see
/// `cli/environment.rs`).
#[derive(Clone, Default)]
pub struct EntraOptions {
    /// `AZURE_TENANT_ID` (or azcopy's `AZCOPY_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// `AZURE_CLIENT_ID` (or `AZCOPY_SPA_APPLICATION_ID`).
    pub client_id: Option<String>,
    /// `AZURE_CLIENT_SECRET` (or `AZCOPY_SPA_CLIENT_SECRET`).
    pub client_secret: Option<String>,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub federated_token_file: Option<std::path::PathBuf>,
    /// `--identity`, or `AZCOPY_AUTO_LOGIN_TYPE=MSI`.
    pub managed_identity: bool,
    /// A user-assigned managed identity (`--identity-client-id`, `--identity-object-id`,
    /// `--identity-resource-id`, or `AZCOPY_MSI_CLIENT_ID`).
    pub identity: Option<azure_identity::UserAssignedId>,
    /// True when the environment names a managed identity endpoint (App Service,
    /// Functions, Arc, Service Fabric).
    pub managed_identity_endpoint: bool,
    /// Host suffixes, besides Azure's storage domains and loopback, that may receive
    /// tokens (`--trusted-microsoft-suffixes`).
    pub trusted_suffixes: Vec<String>,
    /// The credential azcopy's `AZCOPY_AUTO_LOGIN_TYPE` chooses, if it is set: with
    /// `--auth auto`, it comes before the emulator's key and the other Entra ID ones.
    pub auto_login: Option<AuthMode>,
    /// The `PATH` the Azure CLI (`az`) is looked for on, for the last credential `--auth
    /// auto` tries.
    pub search_path: Option<std::ffi::OsString>,
}

impl EntraOptions {
    /// The credential an `AZCOPY_AUTO_LOGIN_TYPE` value names (`SPN`, `MSI`, `AZCLI` or
    /// `WORKLOAD`, in any case); `None` for any other.
    pub fn auto_login_mode(value: &str) -> Option<AuthMode> {
        match value.to_ascii_uppercase().as_str() {
            "SPN" => Some(AuthMode::ClientSecret),
            "MSI" => Some(AuthMode::ManagedIdentity),
            "AZCLI" => Some(AuthMode::AzureCli),
            "WORKLOAD" => Some(AuthMode::WorkloadIdentity),
            _ => None,
        }
    }
}

impl std::fmt::Debug for EntraOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraOptions")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "REDACTED"),
            )
            .field("federated_token_file", &self.federated_token_file)
            .field("managed_identity", &self.managed_identity)
            .field("identity", &self.identity)
            .field("managed_identity_endpoint", &self.managed_identity_endpoint)
            .field("trusted_suffixes", &self.trusted_suffixes)
            .field("auto_login", &self.auto_login)
            .field("search_path", &self.search_path)
            .finish()
    }
}

/// Azure's storage host suffixes: Entra ID tokens are only ever sent to these, to loopback
/// hosts (the emulator) and to suffixes the user adds.
const TRUSTED_SUFFIXES: &[&str] = &[
    ".blob.core.windows.net",
    ".blob.core.usgovcloudapi.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.storage.azure.net",
];

/// A token credential, and what it is for messages.
type Credential = (Arc<dyn azure_core::credentials::TokenCredential>, String);

/// The Entra ID credential `mode` names, once the storage host is one tokens may go to.
pub(super) fn entra(
    location: &BlobLocation,
    e: &EntraOptions,
    mode: AuthMode,
    http: &super::transport::Http,
) -> Result<Auth, EndpointError> {
    check_token_host(location, e)?;
    let (credential, from) = match mode {
        AuthMode::ClientSecret => client_secret(e, http)?,
        AuthMode::WorkloadIdentity => workload_identity(e, http)?,
        AuthMode::ManagedIdentity => managed_identity(e, http)?,
        AuthMode::AzureCli => azure_cli(e)?,
        other => {
            return Err(auth_error(format!(
                "{} is not an Entra ID credential",
                mode_name(other)
            )));
        }
    };
    Ok(Auth::Token { credential, from })
}

/// Refuses a location a token must not be sent to: one not over HTTPS, or on a host that
/// is neither Azure Storage, loopback, nor a suffix the user trusts.
fn check_token_host(location: &BlobLocation, e: &EntraOptions) -> Result<(), EndpointError> {
    if location.endpoint.scheme() != "https" {
        return Err(auth_error(format!(
            "Entra ID tokens are only sent over HTTPS, and {location} is not an https:// URL"
        )));
    }
    let host = location
        .endpoint
        .host_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let trusted = location.is_loopback()
        || TRUSTED_SUFFIXES.iter().any(|s| host.ends_with(s))
        || e.trusted_suffixes.iter().any(|s| is_under(&host, s));
    if !trusted {
        return Err(auth_error(format!(
            "refusing to send an Entra ID token to {host}, which is not an Azure Storage host; if \
             it is one you trust, add it with --trusted-microsoft-suffixes"
        )));
    }
    Ok(())
}

/// True if `host` is the user's trusted `suffix` (`example.com`, `.example.com` or
/// `*.example.com`) or a host below it.
fn is_under(host: &str, suffix: &str) -> bool {
    let s = suffix.trim().trim_start_matches('*').to_ascii_lowercase();
    !s.is_empty()
        && (host == s.trim_start_matches('.')
            || host.ends_with(&format!(".{}", s.trim_start_matches('.'))))
}

/// The error for a credential `mode` that lacks a setting.
fn missing(mode: AuthMode, what: &str) -> EndpointError {
    auth_error(format!("{} needs {what}", mode_name(mode)))
}

/// The error for a credential `mode` the SDK could not make.
fn failed(mode: AuthMode) -> impl Fn(azure_core::Error) -> EndpointError {
    move |e| auth_error(format!("{}: {e}", mode_name(mode)))
}

/// `--auth client-secret`: an application's secret in a tenant.
fn client_secret(
    e: &EntraOptions,
    http: &super::transport::Http,
) -> Result<Credential, EndpointError> {
    let mode = AuthMode::ClientSecret;
    let tenant = e
        .tenant_id
        .as_deref()
        .ok_or_else(|| missing(mode, "AZURE_TENANT_ID (or AZCOPY_TENANT_ID)"))?;
    let client = e
        .client_id
        .clone()
        .ok_or_else(|| missing(mode, "AZURE_CLIENT_ID (or AZCOPY_SPA_APPLICATION_ID)"))?;
    let secret = e
        .client_secret
        .clone()
        .ok_or_else(|| missing(mode, "AZURE_CLIENT_SECRET (or AZCOPY_SPA_CLIENT_SECRET)"))?;
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: super::transport::client_options(http),
    };
    let c = azure_identity::ClientSecretCredential::new(
        tenant,
        client.clone(),
        Secret::new(secret),
        Some(options),
    )
    .map_err(failed(mode))?;
    Ok((c, format!("client secret for application {client}")))
}

/// `--auth workload-identity`: a federated token file (Kubernetes).
fn workload_identity(
    e: &EntraOptions,
    http: &super::transport::Http,
) -> Result<Credential, EndpointError> {
    let options = azure_identity::WorkloadIdentityCredentialOptions {
        credential_options: azure_identity::ClientAssertionCredentialOptions {
            client_options: super::transport::client_options(http),
        },
        client_id: e.client_id.clone(),
        tenant_id: e.tenant_id.clone(),
        token_file_path: e.federated_token_file.clone(),
    };
    let c = azure_identity::WorkloadIdentityCredential::new(Some(options))
        .map_err(failed(AuthMode::WorkloadIdentity))?;
    Ok((c, "workload identity".to_string()))
}

/// `--auth managed-identity`: the system-assigned identity, or the user-assigned one named.
fn managed_identity(
    e: &EntraOptions,
    http: &super::transport::Http,
) -> Result<Credential, EndpointError> {
    let options = azure_identity::ManagedIdentityCredentialOptions {
        user_assigned_id: e.identity.clone(),
        client_options: super::transport::client_options(http),
    };
    let c = azure_identity::ManagedIdentityCredential::new(Some(options))
        .map_err(failed(AuthMode::ManagedIdentity))?;
    let which = match &e.identity {
        None => "system-assigned".to_string(),
        Some(azure_identity::UserAssignedId::ClientId(id)) => format!("client id {id}"),
        Some(azure_identity::UserAssignedId::ObjectId(id)) => format!("object id {id}"),
        Some(azure_identity::UserAssignedId::ResourceId(id)) => format!("resource id {id}"),
        Some(_) => "user-assigned".to_string(),
    };
    Ok((c, format!("managed identity, {which}")))
}

/// `--auth azure-cli`: the account `az login` signed in.
fn azure_cli(e: &EntraOptions) -> Result<Credential, EndpointError> {
    let options = azure_identity::AzureCliCredentialOptions {
        tenant_id: e.tenant_id.clone(),
        ..Default::default()
    };
    let c = azure_identity::AzureCliCredential::new(Some(options))
        .map_err(failed(AuthMode::AzureCli))?;
    Ok((c, "Azure CLI".to_string()))
}

fn mode_name(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::ClientSecret => "--auth client-secret",
        AuthMode::WorkloadIdentity => "--auth workload-identity",
        AuthMode::ManagedIdentity => "--auth managed-identity",
        AuthMode::AzureCli => "--auth azure-cli",
        _ => "--auth",
    }
}
