//! Choosing credentials for a blob location from flags and the environment.
//!
//! See [`crate::endpoint::azure::Auth`] for the order in which they are tried.

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
    /// No credentials (public-read containers).
    Anonymous,
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
pub fn resolve_auth(location: &BlobLocation, options: &AuthOptions) -> Result<Auth, EndpointError> {
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
            if let Some(auth) = dev_key()? {
                return Ok(auth);
            }
            Err(no_credentials())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> BlobLocation {
        BlobLocation::parse(url).unwrap()
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
