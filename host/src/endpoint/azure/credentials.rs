//! Choosing how requests are authorised, from flags and the environment.
//!
//! Automatic order (the first that applies wins; `--auth` forces one):
//! 1. a SAS in the URL;
//! 2. an account key: `--account-key`, `AZURE_STORAGE_KEY`, or the `AccountKey` of
//!    `AZURE_STORAGE_CONNECTION_STRING` (signed by [`SharedKeyPolicy`]);
//! 3. azcopy's `AZCOPY_AUTO_LOGIN_TYPE`, if set ([`EntraOptions::auto_login`]);
//! 4. the emulator's well-known key, for the `devstoreaccount1` account on a loopback host;
//! 5. Entra ID (see [`super::entra`]): a client secret, workload identity, managed
//!    identity, then the Azure CLI.

use std::fmt;

use azure_core::credentials::Secret;

use super::auth::{Auth, AuthMode};
use super::entra::{EntraOptions, entra};
use super::location::BlobLocation;
use super::shared_key::{DEV_ACCOUNT, DEV_KEY, check_key};
use crate::endpoint::{EndpointError, ErrorClass};

/// The fields of a storage connection string that blobsync uses.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// `AccountName`.
    pub account_name: Option<String>,
    /// `AccountKey`.
    pub account_key: Option<String>,
    /// `SharedAccessSignature`.
    pub sas: Option<String>,
    /// `UseDevelopmentStorage=true`.
    pub development: bool,
    /// `BlobEndpoint`: the account's blob endpoint on another host.
    pub blob_endpoint: Option<String>,
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("account_name", &self.account_name)
            .field(
                "account_key",
                &self.account_key.as_ref().map(|_| "REDACTED"),
            )
            .field("sas", &self.sas.as_ref().map(|_| "REDACTED"))
            .field("development", &self.development)
            .field("blob_endpoint", &self.blob_endpoint)
            .finish()
    }
}

impl ConnectionString {
    /// Parses `Key=Value;Key=Value` (values may contain `=`).
    pub fn parse(text: &str) -> Result<ConnectionString, String> {
        let mut cs = ConnectionString::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                "AZURE_STORAGE_CONNECTION_STRING is not of the form Key=Value;Key=Value".to_string()
            })?;
            match key.trim().to_ascii_lowercase().as_str() {
                "accountname" => cs.account_name = Some(value.to_string()),
                "accountkey" => cs.account_key = Some(value.to_string()),
                "sharedaccesssignature" => cs.sas = Some(value.trim_start_matches('?').to_string()),
                "usedevelopmentstorage" => cs.development = value.eq_ignore_ascii_case("true"),
                "blobendpoint" => cs.blob_endpoint = Some(value.trim().to_string()),
                _ => {}
            }
        }
        if cs.development {
            cs.account_name
                .get_or_insert_with(|| DEV_ACCOUNT.to_string());
            cs.account_key.get_or_insert_with(|| DEV_KEY.to_string());
        }
        Ok(cs)
    }
}

/// Credentials given on the command line or in the environment. Never printed.
#[derive(Clone, Default)]
pub struct AuthOptions {
    /// `--auth`.
    pub mode: AuthMode,
    /// `--account-key` or `AZURE_STORAGE_KEY`.
    pub account_key: Option<String>,
    /// Which of the two gave the key, for messages.
    pub account_key_from: &'static str,
    /// `AZURE_STORAGE_CONNECTION_STRING`, parsed.
    pub connection_string: Option<ConnectionString>,
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

impl AuthOptions {
    /// The credentials for `this` side of a blob → blob sync whose other side is `other`.
    ///
    /// A SAS belongs to its URL. A connection string names its account, and applies to
    /// the side(s) in it. An account key (`--account-key`, `AZURE_STORAGE_KEY`) names
    /// none: it applies to both sides of one account; across two accounts, to the side
    /// nothing else authorises (no SAS, not the connection string's account, not the
    /// emulator's), and if that is both sides, which one it is for is a usage error.
    /// Entra ID and `--auth` apply to both sides.
    pub fn for_side(
        &self,
        this: &BlobLocation,
        other: &BlobLocation,
    ) -> Result<AuthOptions, EndpointError> {
        let named = self
            .connection_string
            .as_ref()
            .and_then(|cs| cs.account_name.clone());
        let mut options = self.clone();
        if named.as_ref().is_some_and(|n| *n != this.account) {
            // Another account's connection string.
            options.connection_string = None;
        }
        if this.account == other.account || self.account_key.is_none() {
            return Ok(options);
        }
        let covered = |side: &BlobLocation| {
            side.has_sas()
                || named.as_deref() == Some(side.account.as_str())
                || (side.account == DEV_ACCOUNT && (side.is_loopback() || side.path_style))
        };
        match (covered(this), covered(other)) {
            (false, false) => Err(EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{} is one account's key, but {this} is in account `{}` and {other} in \
                     `{}`: give one of the URLs a SAS, or name the key's account with \
                     AZURE_STORAGE_CONNECTION_STRING (AccountName=…;AccountKey=…) instead",
                    self.account_key_from, this.account, other.account
                ),
            )),
            // This side is authorised otherwise: the key is the other side's.
            (true, _) => {
                options.account_key = None;
                Ok(options)
            }
            (false, true) => Ok(options),
        }
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
    http: &super::transport::Http,
) -> Result<Auth, EndpointError> {
    let connection = options.connection_string.as_ref();
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
        AuthMode::Key => match given_key(location, options, connection)? {
            Some(auth) => Ok(auth),
            None => dev_key(location)?.ok_or_else(|| {
                auth_error(format!(
                    "--auth key: no account key for {location}; set --account-key or \
                     AZURE_STORAGE_KEY"
                ))
            }),
        },
        AuthMode::Anonymous => Ok(Auth::Anonymous),
        AuthMode::ClientSecret
        | AuthMode::WorkloadIdentity
        | AuthMode::ManagedIdentity
        | AuthMode::AzureCli => entra(location, &options.entra, options.mode, http),
        AuthMode::Auto => resolve_auto(location, options, connection, http),
    }
}

/// The first credential that applies, in the order the module header gives (`--auth
/// auto`).
fn resolve_auto(
    location: &BlobLocation,
    options: &AuthOptions,
    connection: Option<&ConnectionString>,
    http: &super::transport::Http,
) -> Result<Auth, EndpointError> {
    if location.has_sas() {
        return Ok(Auth::Sas);
    }
    if let Some(auth) = given_key(location, options, connection)? {
        return Ok(auth);
    }
    // An explicit choice (azcopy's auto-login variable) comes before the dev key.
    if let Some(mode) = options.entra.auto_login {
        return entra(location, &options.entra, mode, http);
    }
    if let Some(auth) = dev_key(location)? {
        return Ok(auth);
    }
    let mode = entra_mode(&options.entra).ok_or_else(|| {
        auth_error(format!(
            "no credentials for {location}: add a SAS token to the URL, or set --account-key / \
             AZURE_STORAGE_KEY, or AZURE_STORAGE_CONNECTION_STRING"
        ))
    })?;
    entra(location, &options.entra, mode, http)
}

/// The account key given for `location`: `--account-key` or `AZURE_STORAGE_KEY`, else
/// the `AccountKey` of the connection string (refused when it names another account).
fn given_key(
    location: &BlobLocation,
    options: &AuthOptions,
    connection: Option<&ConnectionString>,
) -> Result<Option<Auth>, EndpointError> {
    let account = location.account.as_str();
    if let Some(key) = &options.account_key {
        return shared_key(account, key, options.account_key_from).map(Some);
    }
    let Some(cs) = connection else {
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
}

/// The emulator's well-known key, when `location` is the emulator's account.
fn dev_key(location: &BlobLocation) -> Result<Option<Auth>, EndpointError> {
    let account = location.account.as_str();
    // The key is public and only an emulator accepts it: on loopback, or with the
    // account in the path (an emulator reached by another name).
    (account == DEV_ACCOUNT && (location.is_loopback() || location.path_style))
        .then(|| {
            shared_key(
                account,
                DEV_KEY,
                "the emulator's well-known development key",
            )
        })
        .transpose()
}

/// The Entra ID credential the settings ask for, the first that applies: a client secret
/// (with its client and tenant), workload identity, managed identity, then the Azure CLI
/// if it is installed; `None` when none does.
fn entra_mode(e: &EntraOptions) -> Option<AuthMode> {
    if e.client_secret.is_some() && e.client_id.is_some() && e.tenant_id.is_some() {
        Some(AuthMode::ClientSecret)
    } else if e.federated_token_file.is_some() {
        Some(AuthMode::WorkloadIdentity)
    } else if e.managed_identity || e.identity.is_some() || e.managed_identity_endpoint {
        Some(AuthMode::ManagedIdentity)
    } else if azure_cli_installed(e.search_path.as_deref()) {
        Some(AuthMode::AzureCli)
    } else {
        None
    }
}

/// True if an `az` executable is on `path` (a `PATH`).
fn azure_cli_installed(path: Option<&std::ffi::OsStr>) -> bool {
    path.is_some_and(|path| std::env::split_paths(path).any(|dir| dir.join("az").is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> BlobLocation {
        BlobLocation::parse(url).unwrap()
    }

    fn resolve_auth(location: &BlobLocation, options: &AuthOptions) -> Result<Auth, EndpointError> {
        let http = super::super::transport::transport(&Default::default()).unwrap();
        super::resolve_auth(location, options, &http)
    }

    #[test]
    fn order_sas_then_key_then_dev_key() {
        let opts = AuthOptions {
            account_key: Some(DEV_KEY.into()),
            account_key_from: "--account-key",
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
                from: "--account-key",
                ..
            })
        ));
        let none = AuthOptions::default();
        assert!(matches!(
            resolve_auth(&loc("http://127.0.0.1:1/devstoreaccount1/cont"), &none),
            Ok(Auth::SharedKey { .. })
        ));
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &none).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Auth);
        assert!(e.message().contains("no credentials"), "{e}");
    }

    #[test]
    fn connection_string_must_match_the_account() {
        let opts = AuthOptions {
            connection_string: Some(
                ConnectionString::parse(&format!("AccountName=other;AccountKey={DEV_KEY}"))
                    .unwrap(),
            ),
            ..Default::default()
        };
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &opts).unwrap_err();
        assert!(e.message().contains("`other`"), "{e}");
        assert!(!e.message().contains(DEV_KEY));
    }

    #[test]
    fn a_bad_key_is_an_auth_error_without_the_key() {
        let opts = AuthOptions {
            account_key: Some("sekrit!".into()),
            ..Default::default()
        };
        let e = resolve_auth(&loc("https://acct.blob.core.windows.net/cont"), &opts).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Auth);
        assert!(!e.message().contains("sekrit"));
    }

    #[test]
    fn blob_to_blob_sides_take_the_credentials_that_name_them() {
        let key = AuthOptions {
            account_key: Some(DEV_KEY.into()),
            account_key_from: "--account-key",
            ..Default::default()
        };
        let a = loc("https://a.blob.core.windows.net/cont");
        let b = loc("https://b.blob.core.windows.net/cont");
        let b_sas = loc("https://b.blob.core.windows.net/cont?sv=1&sig=x");
        // One account: the key is for both sides.
        let same = loc("https://a.blob.core.windows.net/other");
        assert!(key.for_side(&a, &same).unwrap().account_key.is_some());
        // Two accounts, one with a SAS: the key is the other's.
        assert!(key.for_side(&a, &b_sas).unwrap().account_key.is_some());
        assert!(key.for_side(&b_sas, &a).unwrap().account_key.is_none());
        // Two accounts, nothing else: which is it for?
        let e = key.for_side(&a, &b).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Usage);
        assert!(
            e.message().contains("--account-key") && e.message().contains("`b`"),
            "{e}"
        );
        assert!(!e.message().contains(DEV_KEY));
        // A connection string is for the account it names.
        let cs = AuthOptions {
            connection_string: Some(
                ConnectionString::parse(&format!("AccountName=b;AccountKey={DEV_KEY}")).unwrap(),
            ),
            ..key.clone()
        };
        assert!(cs.for_side(&a, &b).unwrap().connection_string.is_none());
        assert!(cs.for_side(&a, &b).unwrap().account_key.is_some());
        let for_b = cs.for_side(&b, &a).unwrap();
        assert!(for_b.connection_string.is_some() && for_b.account_key.is_none());
        assert!(matches!(
            resolve_auth(&b, &for_b),
            Ok(Auth::SharedKey {
                from: "AZURE_STORAGE_CONNECTION_STRING",
                ..
            })
        ));
    }

    #[test]
    fn connection_string_fields() {
        let cs = ConnectionString::parse(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5==;EndpointSuffix=core.windows.net",
        )
        .unwrap();
        assert_eq!(cs.account_name.as_deref(), Some("acct"));
        assert_eq!(cs.account_key.as_deref(), Some("a2V5=="));
        assert!(!format!("{cs:?}").contains("a2V5"));
        let dev = ConnectionString::parse("UseDevelopmentStorage=true").unwrap();
        assert_eq!(dev.account_key.as_deref(), Some(DEV_KEY));
        assert!(ConnectionString::parse("garbage").is_err());
    }
}
