//! The environment, read once: every variable blobsync reads itself is captured into one
//! [`Environment`] when the process starts, and the command line's validation takes its
//! values from there. Nothing after this reads the environment for a setting.
//!
//! Variables that stand in for a flag are read by clap with the flag (`env =` on the
//! argument: `BLOBSYNC_LOG`, `AZURE_STORAGE_KEY`, `AZCOPY_CONCURRENCY_VALUE`,
//! `BLOBSYNC_BUFFER_MB`), so the flag wins and clap says which gave the value. Left to
//! where they are used: the variables a plugin's manifest grants (`env`, `${env:NAME}`),
//! read for that plugin when it loads, and the HTTP transport's `SSL_CERT_FILE` and
//! proxy variables. docs/src/reference/environment.md lists them all.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use azure_identity::UserAssignedId;

use super::shard_flags::INDEX_VARIABLE;
use crate::endpoint::azure::{AuthMode, ConnectionString, EntraOptions};
use crate::plugin::build::BuildEnvironment;

/// The variable with the storage account connection string.
const CONNECTION_STRING: &str = "AZURE_STORAGE_CONNECTION_STRING";

/// What the environment says, read once (see the [module](self) docs). Secrets in it
/// (the connection string's key and SAS, a client secret) are never printed: `Debug`
/// redacts them.
#[derive(Clone)]
pub struct Environment {
    /// `AZURE_STORAGE_CONNECTION_STRING`, parsed once; the error says why it cannot be.
    connection_string: Result<Option<ConnectionString>, String>,
    /// The Entra ID credentials the standard variables (and azcopy's names for them)
    /// give, and `AZCOPY_AUTO_LOGIN_TYPE`.
    entra: EntraOptions,
    /// `AZCOPY_REQUEST_TRY_TIMEOUT`: whole minutes, as azcopy reads it (unchecked).
    try_timeout_minutes: Option<String>,
    /// `AZCOPY_CONTENT_TYPE_MAP`: a JSON file of extra extension → Content-Type mappings.
    content_type_map: Option<PathBuf>,
    /// `JOB_COMPLETION_INDEX`: this pod's shard in a Kubernetes Indexed Job (unchecked).
    job_completion_index: Option<String>,
    /// The database and job logs: `BLOBSYNC_DATA_DIR`, else the user's data directory.
    data_dir: Option<PathBuf>,
    /// Compiled plugins: `BLOBSYNC_CACHE_DIR/wasm`, else the user's cache directory's.
    cache_dir: Option<PathBuf>,
    /// What `plugin build` reads: `PATH`, `CARGO_HOME` and its own variables.
    build: BuildEnvironment,
}

impl Environment {
    /// Reads this process's environment.
    pub fn capture() -> Environment {
        Environment::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the variables through `var` (tests give their own).
    pub fn from_lookup(var: impl Fn(&str) -> Option<OsString>) -> Environment {
        // A value that is not UTF-8 counts as unset, as `std::env::var` reads it.
        let text = |name: &str| var(name).and_then(|v| v.into_string().ok());
        let path = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Environment {
            connection_string: match text(CONNECTION_STRING) {
                Some(text) if !text.trim().is_empty() => ConnectionString::parse(&text).map(Some),
                _ => Ok(None),
            },
            entra: EntraOptions {
                search_path: var("PATH"),
                ..entra(&text)
            },
            try_timeout_minutes: text("AZCOPY_REQUEST_TRY_TIMEOUT"),
            content_type_map: path("AZCOPY_CONTENT_TYPE_MAP"),
            job_completion_index: text(INDEX_VARIABLE),
            data_dir: path("BLOBSYNC_DATA_DIR")
                .or_else(|| dirs::data_dir().map(|d| d.join("blobsync"))),
            cache_dir: match path("BLOBSYNC_CACHE_DIR") {
                Some(dir) => Some(dir.join("wasm")),
                None => dirs::cache_dir().map(|d| d.join("blobsync").join("wasm")),
            },
            build: BuildEnvironment::from_lookup(&var),
        }
    }

    /// `AZURE_STORAGE_CONNECTION_STRING`, if set; an error naming the variable if it
    /// cannot be read.
    pub(super) fn connection_string(&self) -> Result<Option<&ConnectionString>, String> {
        match &self.connection_string {
            Ok(cs) => Ok(cs.as_ref()),
            Err(e) => Err(format!("{CONNECTION_STRING}: {e}")),
        }
    }

    /// The Entra ID settings the environment gives.
    pub(super) fn entra(&self) -> &EntraOptions {
        &self.entra
    }

    /// `AZCOPY_REQUEST_TRY_TIMEOUT`, as given.
    pub(super) fn try_timeout_minutes(&self) -> Option<&str> {
        self.try_timeout_minutes.as_deref()
    }

    /// `AZCOPY_CONTENT_TYPE_MAP`, if set.
    pub(super) fn content_type_map(&self) -> Option<&Path> {
        self.content_type_map.as_deref()
    }

    /// `JOB_COMPLETION_INDEX`, as given.
    pub(super) fn job_completion_index(&self) -> Option<&str> {
        self.job_completion_index.as_deref()
    }

    /// blobsync's data directory (database and job logs): `BLOBSYNC_DATA_DIR`, else
    /// `$XDG_DATA_HOME/blobsync` (`~/.local/share/blobsync`).
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// The database file in the data directory.
    pub fn database(&self) -> Option<PathBuf> {
        self.data_dir().map(|d| d.join(crate::store::DATABASE_FILE))
    }

    /// Where compiled plugins are cached: `BLOBSYNC_CACHE_DIR`, else the user's cache
    /// directory (`wasm/` below it).
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// What `plugin build` reads from the environment.
    pub(super) fn build_environment(&self) -> &BuildEnvironment {
        &self.build
    }
}

/// The Entra ID settings of the standard variables (the first of each list that is set
/// and not blank), and `AZCOPY_AUTO_LOGIN_TYPE`.
fn entra(text: &dyn Fn(&str) -> Option<String>) -> EntraOptions {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| text(n).filter(|v| !v.trim().is_empty()))
    };
    let auto_login = text("AZCOPY_AUTO_LOGIN_TYPE").and_then(|v| EntraOptions::auto_login_mode(&v));
    EntraOptions {
        tenant_id: first(&["AZURE_TENANT_ID", "AZCOPY_TENANT_ID"]),
        client_id: first(&["AZURE_CLIENT_ID", "AZCOPY_SPA_APPLICATION_ID"]),
        client_secret: first(&["AZURE_CLIENT_SECRET", "AZCOPY_SPA_CLIENT_SECRET"]),
        federated_token_file: first(&["AZURE_FEDERATED_TOKEN_FILE"]).map(Into::into),
        managed_identity: auto_login == Some(AuthMode::ManagedIdentity),
        identity: first(&["AZCOPY_MSI_CLIENT_ID"]).map(UserAssignedId::ClientId),
        managed_identity_endpoint: first(&["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]).is_some(),
        trusted_suffixes: Vec::new(),
        auto_login,
        search_path: None,
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("connection_string", &self.connection_string)
            .field("entra", &self.entra)
            .field("try_timeout_minutes", &self.try_timeout_minutes)
            .field("content_type_map", &self.content_type_map)
            .field("job_completion_index", &self.job_completion_index)
            .field("data_dir", &self.data_dir)
            .field("cache_dir", &self.cache_dir)
            .field("build", &self.build)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(vars: &[(&str, &str)]) -> Environment {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Environment::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let env = environment(&[
            (
                CONNECTION_STRING,
                "AccountName=acct;AccountKey=a2V5c2VjcmV0;SharedAccessSignature=sig=sassecret",
            ),
            ("AZURE_CLIENT_SECRET", "clientsecret"),
            ("AZURE_CLIENT_ID", "app"),
        ]);
        let shown = format!("{env:?}");
        for secret in ["a2V5c2VjcmV0", "sassecret", "clientsecret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("acct") && shown.contains("app"), "{shown}");
    }

    #[test]
    fn the_connection_string_is_parsed_once_and_its_error_names_it() {
        let env = environment(&[(CONNECTION_STRING, "AccountName=acct;AccountKey=a2V5")]);
        let cs = env.connection_string().unwrap().unwrap();
        assert_eq!(cs.account_name.as_deref(), Some("acct"));
        assert!(
            environment(&[(CONNECTION_STRING, "  ")])
                .connection_string()
                .unwrap()
                .is_none()
        );
        let e = environment(&[(CONNECTION_STRING, "garbage")])
            .connection_string()
            .unwrap_err();
        assert!(e.starts_with(CONNECTION_STRING), "{e}");
    }

    #[test]
    fn azure_names_come_before_azcopys_and_blank_values_are_unset() {
        let env = environment(&[
            ("AZURE_TENANT_ID", " "),
            ("AZCOPY_TENANT_ID", "t2"),
            ("AZURE_CLIENT_ID", "c1"),
            ("AZCOPY_SPA_APPLICATION_ID", "c2"),
            ("AZCOPY_AUTO_LOGIN_TYPE", "msi"),
        ]);
        let entra = env.entra();
        assert_eq!(entra.tenant_id.as_deref(), Some("t2"));
        assert_eq!(entra.client_id.as_deref(), Some("c1"));
        assert!(entra.managed_identity);
        assert_eq!(entra.auto_login, Some(AuthMode::ManagedIdentity));
        assert_eq!(environment(&[]).entra().auto_login, None);
    }

    #[test]
    fn directories_come_from_blobsyncs_variables_first() {
        let env = environment(&[("BLOBSYNC_DATA_DIR", "/d"), ("BLOBSYNC_CACHE_DIR", "/c")]);
        assert_eq!(env.data_dir(), Some(Path::new("/d")));
        assert_eq!(env.database(), Some(PathBuf::from("/d/blobsync.db")));
        assert_eq!(env.cache_dir(), Some(Path::new("/c/wasm")));
    }
}
