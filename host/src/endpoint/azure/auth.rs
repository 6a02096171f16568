//! How requests to Blob Storage are authorised.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};

/// The scope of an Entra ID token for Azure Storage.
pub(super) const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// How requests are authorised.
#[derive(Clone)]
pub enum Auth {
    /// The URL carries a SAS; requests are sent as they are.
    Sas,
    /// Shared Key: each request is signed with the account key.
    SharedKey {
        /// The account name.
        account: String,
        /// The base64 account key.
        key: Secret,
        /// Where the key came from (for messages; never the key itself).
        from: &'static str,
    },
    /// An Entra ID token credential.
    Token {
        /// The credential.
        credential: Arc<dyn TokenCredential>,
        /// Which credential, for messages.
        from: String,
    },
    /// No credentials (public-read containers only).
    Anonymous,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Auth {
    /// A description for logs and job records, without any secret.
    pub fn describe(&self) -> String {
        match self {
            Auth::Sas => "SAS token in the URL".into(),
            Auth::SharedKey { account, from, .. } => format!("Shared Key for `{account}` ({from})"),
            Auth::Token { from, .. } => format!("Entra ID ({from})"),
            Auth::Anonymous => "anonymous".into(),
        }
    }
}

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
