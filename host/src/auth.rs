//! Choosing credentials for a blob location from flags and the environment.
//!
//! See [`crate::endpoint::azure::Auth`] for the order in which they are tried.

use std::sync::Arc;

use azure_core::credentials::Secret;

use crate::endpoint::azure::{
    Auth, BlobLocation, ConnectionString, DEV_ACCOUNT, DEV_KEY, check_key,
};
use crate::endpoint::{EndpointError, ErrorClass};

/// `--auth`: which kind of credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// The first that applies, in the documented order.
    #[default]
    Auto,
    /// The SAS in the URL.
    Sas,
    /// An account key (Shared Key).
    Key,
    /// Entra ID: a service principal with a client secret.
    ClientSecret,
    /// Entra ID: workload identity federation (Kubernetes).
    WorkloadIdentity,
    /// Entra ID: the managed identity of the Azure resource blobsync runs on.
    ManagedIdentity,
    /// Entra ID: the account the Azure CLI is logged in with (`az login`).
    AzureCli,
    /// No credentials (public-read containers).
    Anonymous,
}

/// Entra ID settings from flags and the environment.
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
}

impl EntraOptions {
    /// Reads the standard environment variables (and azcopy's names for them).
    pub fn from_env() -> EntraOptions {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let auto = std::env::var("AZCOPY_AUTO_LOGIN_TYPE")
            .unwrap_or_default()
            .to_ascii_uppercase();
        EntraOptions {
            tenant_id: var(&["AZURE_TENANT_ID", "AZCOPY_TENANT_ID"]),
            client_id: var(&["AZURE_CLIENT_ID", "AZCOPY_SPA_APPLICATION_ID"]),
            client_secret: var(&["AZURE_CLIENT_SECRET", "AZCOPY_SPA_CLIENT_SECRET"]),
            federated_token_file: var(&["AZURE_FEDERATED_TOKEN_FILE"]).map(Into::into),
            managed_identity: auto == "MSI",
            identity: var(&["AZCOPY_MSI_CLIENT_ID"]).map(azure_identity::UserAssignedId::ClientId),
            managed_identity_endpoint: var(&["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]).is_some(),
            trusted_suffixes: Vec::new(),
        }
    }

    /// `AZCOPY_AUTO_LOGIN_TYPE` as a mode, if set.
    pub fn auto_login_type() -> Option<AuthMode> {
        match std::env::var("AZCOPY_AUTO_LOGIN_TYPE")
            .ok()?
            .to_ascii_uppercase()
            .as_str()
        {
            "SPN" => Some(AuthMode::ClientSecret),
            "MSI" => Some(AuthMode::ManagedIdentity),
            "AZCLI" => Some(AuthMode::AzureCli),
            "WORKLOAD" => Some(AuthMode::WorkloadIdentity),
            _ => None,
        }
    }
}

/// Credentials given on the command line or in the environment. Never printed.
#[derive(Clone, Default)]
pub struct AuthOptions {
    /// `--auth`.
    pub mode: AuthMode,
    /// `--account-key` or `AZURE_STORAGE_KEY`.
    pub account_key: Option<String>,
    /// `AZURE_STORAGE_CONNECTION_STRING`.
    pub connection_string: Option<String>,
    /// Entra ID settings.
    pub entra: EntraOptions,
}

impl std::fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthOptions")
            .field("mode", &self.mode)
            .field(
                "account_key",
                &self.account_key.as_ref().map(|_| "REDACTED"),
            )
            .field(
                "connection_string",
                &self.connection_string.as_ref().map(|_| "REDACTED"),
            )
            .field(
                "client_secret",
                &self.entra.client_secret.as_ref().map(|_| "REDACTED"),
            )
            .finish()
    }
}

fn auth_error(message: String) -> EndpointError {
    EndpointError::new(ErrorClass::Auth, message)
}

fn shared_key(account: &str, key: &str, from: &'static str) -> Result<Auth, EndpointError> {
    check_key(key, from).map_err(auth_error)?;
    Ok(Auth::SharedKey {
        account: account.to_string(),
        key: Secret::new(key.trim().to_string()),
        from,
    })
}

/// Picks the credential for `location`.
pub fn resolve_auth(
    location: &BlobLocation,
    options: &AuthOptions,
    transport: &azure_core::http::Transport,
) -> Result<Auth, EndpointError> {
    let account = location.account.as_str();
    let connection = options
        .connection_string
        .as_deref()
        .map(ConnectionString::parse)
        .transpose()
        .map_err(auth_error)?;
    let key_from_connection = || -> Result<Option<Auth>, EndpointError> {
        let Some(cs) = &connection else {
            return Ok(None);
        };
        let Some(key) = &cs.account_key else {
            return Ok(None);
        };
        if let Some(name) = &cs.account_name
            && name != account
        {
            return Err(auth_error(format!(
                "AZURE_STORAGE_CONNECTION_STRING is for account `{name}`, but {location} is in \
                     account `{account}`"
            )));
        }
        shared_key(account, key, "AZURE_STORAGE_CONNECTION_STRING").map(Some)
    };
    let dev_key = || {
        (account == DEV_ACCOUNT && location.is_loopback())
            .then(|| {
                shared_key(
                    account,
                    DEV_KEY,
                    "the emulator's well-known development key",
                )
            })
            .transpose()
    };
    let no_credentials = || {
        auth_error(format!(
            "no credentials for {location}: add a SAS token to the URL, or set --account-key / \
             AZURE_STORAGE_KEY, or AZURE_STORAGE_CONNECTION_STRING"
        ))
    };
    match options.mode {
        AuthMode::Sas => {
            if location.has_sas() {
                Ok(Auth::Sas)
            } else {
                Err(auth_error(format!(
                    "--auth sas: the URL {location} carries no SAS token (no `sig=`)"
                )))
            }
        }
        AuthMode::Key => {
            if let Some(key) = &options.account_key {
                return shared_key(account, key, "--account-key / AZURE_STORAGE_KEY");
            }
            if let Some(auth) = key_from_connection()? {
                return Ok(auth);
            }
            dev_key()?.ok_or_else(|| {
                auth_error(format!(
                    "--auth key: no account key for {location}; set --account-key or \
                     AZURE_STORAGE_KEY"
                ))
            })
        }
        AuthMode::Anonymous => Ok(Auth::Anonymous),
        AuthMode::ClientSecret
        | AuthMode::WorkloadIdentity
        | AuthMode::ManagedIdentity
        | AuthMode::AzureCli => entra(location, &options.entra, options.mode, transport),
        AuthMode::Auto => {
            if location.has_sas() {
                return Ok(Auth::Sas);
            }
            if let Some(key) = &options.account_key {
                return shared_key(account, key, "--account-key / AZURE_STORAGE_KEY");
            }
            if let Some(auth) = key_from_connection()? {
                return Ok(auth);
            }
            // An explicit choice (azcopy's auto-login variable) comes before the dev key.
            if let Some(mode) = EntraOptions::auto_login_type() {
                return entra(location, &options.entra, mode, transport);
            }
            if let Some(auth) = dev_key()? {
                return Ok(auth);
            }
            let e = &options.entra;
            let mode =
                if e.client_secret.is_some() && e.client_id.is_some() && e.tenant_id.is_some() {
                    AuthMode::ClientSecret
                } else if e.federated_token_file.is_some() {
                    AuthMode::WorkloadIdentity
                } else if e.managed_identity || e.identity.is_some() || e.managed_identity_endpoint
                {
                    AuthMode::ManagedIdentity
                } else if azure_cli_installed() {
                    AuthMode::AzureCli
                } else {
                    return Err(no_credentials());
                };
            entra(location, e, mode, transport)
        }
    }
}

/// True if an `az` executable is on PATH.
fn azure_cli_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("az").is_file()))
}

/// Azure's storage host suffixes: Entra ID tokens are only ever sent to these, to loopback
/// hosts (the emulator) and to suffixes the user adds.
const TRUSTED_SUFFIXES: &[&str] = &[
    ".blob.core.windows.net",
    ".blob.core.usgovcloudapi.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.storage.azure.net",
];

fn entra(
    location: &BlobLocation,
    e: &EntraOptions,
    mode: AuthMode,
    transport: &azure_core::http::Transport,
) -> Result<Auth, EndpointError> {
    use azure_identity::{
        AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
        ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
        WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
    };
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
        || e.trusted_suffixes.iter().any(|s| {
            let s = s.trim().trim_start_matches('*').to_ascii_lowercase();
            !s.is_empty()
                && (host == s.trim_start_matches('.')
                    || host.ends_with(&format!(".{}", s.trim_start_matches('.'))))
        });
    if !trusted {
        return Err(auth_error(format!(
            "refusing to send an Entra ID token to {host}, which is not an Azure Storage host; if \
             it is one you trust, add it with --trusted-microsoft-suffixes"
        )));
    }
    let client_options = || crate::endpoint::azure::client_options(transport);
    let missing = |what: &str| auth_error(format!("{} needs {what}", mode_name(mode)));
    let fail = |e: azure_core::Error| auth_error(format!("{}: {e}", mode_name(mode)));
    let (credential, from): (Arc<dyn azure_core::credentials::TokenCredential>, String) = match mode
    {
        AuthMode::ClientSecret => {
            let tenant = e
                .tenant_id
                .as_deref()
                .ok_or_else(|| missing("AZURE_TENANT_ID (or AZCOPY_TENANT_ID)"))?;
            let client = e
                .client_id
                .clone()
                .ok_or_else(|| missing("AZURE_CLIENT_ID (or AZCOPY_SPA_APPLICATION_ID)"))?;
            let secret = e
                .client_secret
                .clone()
                .ok_or_else(|| missing("AZURE_CLIENT_SECRET (or AZCOPY_SPA_CLIENT_SECRET)"))?;
            let options = ClientSecretCredentialOptions {
                client_options: client_options(),
            };
            let c = ClientSecretCredential::new(
                tenant,
                client.clone(),
                Secret::new(secret),
                Some(options),
            )
            .map_err(fail)?;
            (c, format!("client secret for application {client}"))
        }
        AuthMode::WorkloadIdentity => {
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(),
                },
                client_id: e.client_id.clone(),
                tenant_id: e.tenant_id.clone(),
                token_file_path: e.federated_token_file.clone(),
            };
            let c = WorkloadIdentityCredential::new(Some(options)).map_err(fail)?;
            (c, "workload identity".to_string())
        }
        AuthMode::ManagedIdentity => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: e.identity.clone(),
                client_options: client_options(),
            };
            let c = ManagedIdentityCredential::new(Some(options)).map_err(fail)?;
            let which = match &e.identity {
                None => "system-assigned".to_string(),
                Some(azure_identity::UserAssignedId::ClientId(id)) => format!("client id {id}"),
                Some(azure_identity::UserAssignedId::ObjectId(id)) => format!("object id {id}"),
                Some(azure_identity::UserAssignedId::ResourceId(id)) => format!("resource id {id}"),
                Some(_) => "user-assigned".to_string(),
            };
            (c, format!("managed identity, {which}"))
        }
        AuthMode::AzureCli => {
            let options = azure_identity::AzureCliCredentialOptions {
                tenant_id: e.tenant_id.clone(),
                ..Default::default()
            };
            let c = AzureCliCredential::new(Some(options)).map_err(fail)?;
            (c, "Azure CLI".to_string())
        }
        _ => unreachable!("only Entra ID modes reach here"),
    };
    Ok(Auth::Token { credential, from })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> BlobLocation {
        BlobLocation::parse(url).unwrap()
    }

    fn resolve_auth(location: &BlobLocation, options: &AuthOptions) -> Result<Auth, EndpointError> {
        let transport = crate::endpoint::azure::transport(&crate::endpoint::azure::HttpSettings {
            concurrency: 1,
        })
        .unwrap();
        super::resolve_auth(location, options, &transport)
    }

    #[test]
    fn order_sas_then_key_then_dev_key() {
        let opts = AuthOptions {
            account_key: Some(DEV_KEY.into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve_auth(
                &loc("http://127.0.0.1:1/devstoreaccount1/cont?sv=1&sig=x"),
                &opts
            ),
            Ok(Auth::Sas)
        ));
        assert!(matches!(
            resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &opts),
            Ok(Auth::SharedKey {
                from: "--account-key / AZURE_STORAGE_KEY",
                ..
            })
        ));
        let none = AuthOptions::default();
        assert!(matches!(
            resolve_auth(&loc("http://127.0.0.1:1/devstoreaccount1/cont"), &none),
            Ok(Auth::SharedKey { .. })
        ));
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &none).unwrap_err();
        assert_eq!(e.class, ErrorClass::Auth);
        assert!(e.message.contains("no credentials"), "{e}");
    }

    #[test]
    fn connection_string_must_match_the_account() {
        let opts = AuthOptions {
            connection_string: Some(format!("AccountName=other;AccountKey={DEV_KEY}")),
            ..Default::default()
        };
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &opts).unwrap_err();
        assert!(e.message.contains("`other`"), "{e}");
        assert!(!e.message.contains(DEV_KEY));
    }

    #[test]
    fn a_bad_key_is_an_auth_error_without_the_key() {
        let opts = AuthOptions {
            account_key: Some("sekrit!".into()),
            ..Default::default()
        };
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &opts).unwrap_err();
        assert_eq!(e.class, ErrorClass::Auth);
        assert!(!e.message.contains("sekrit"));
    }
}
