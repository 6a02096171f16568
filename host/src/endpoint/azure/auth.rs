//! How blobsync authenticates to Blob Storage, and the Shared Key signing policy.
//!
//! Automatic order (the first that applies wins; `--auth` forces one):
//! 1. a SAS in the URL;
//! 2. an account key: `--account-key`, `AZURE_STORAGE_KEY`, or the `AccountKey` of
//!    `AZURE_STORAGE_CONNECTION_STRING` (signed by [`SharedKeyPolicy`]);
//! 3. the emulator's well-known key, for the `devstoreaccount1` account on a loopback host;
//! 4. Entra ID: a client secret (`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`/`AZURE_TENANT_ID`,
//!    or azcopy's `AZCOPY_SPA_APPLICATION_ID`/`AZCOPY_SPA_CLIENT_SECRET`/`AZCOPY_TENANT_ID`),
//!    workload identity (`AZURE_FEDERATED_TOKEN_FILE`), then the Azure CLI; managed identity
//!    with `--identity` (or `--auth managed-identity`).

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};

/// The emulator's public development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// The emulator's public, well-known development key (documented by Microsoft).
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

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

/// Checks that a key is base64 of a plausible length, so a bad key is a clear error at
/// start-up rather than a 403 on every request.
pub fn check_key(key: &str, from: &str) -> Result<(), String> {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(key.trim()) {
        Ok(bytes) if bytes.len() >= 16 => Ok(()),
        _ => Err(format!(
            "the account key from {from} is not a base64 storage account key; copy it from the \
             portal's \"Access keys\" page"
        )),
    }
}

/// Signs each request with Shared Key, as the Blob service defines it: an HMAC-SHA256 of
/// the verb, the standard headers, the `x-ms-*` headers and the canonical resource.
///
/// Added as a per-try policy, so each retry is signed with a fresh `x-ms-date`.
#[derive(Clone)]
pub struct SharedKeyPolicy {
    account: String,
    key: Secret,
}

impl fmt::Debug for SharedKeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeyPolicy")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl SharedKeyPolicy {
    /// A policy signing for `account` with the base64 `key`.
    pub fn new(account: String, key: Secret) -> Self {
        SharedKeyPolicy { account, key }
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait is declared with an elided lifetime
impl Policy for SharedKeyPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let now = azure_core::time::OffsetDateTime::now_utc();
        request.insert_header("x-ms-date", azure_core::time::to_rfc7231(&now));
        let to_sign = string_to_sign(request, &self.account);
        let signature = azure_core::hmac::hmac_sha256(&to_sign, &self.key)?;
        request.insert_header(
            "authorization",
            format!("SharedKey {}:{}", self.account, signature),
        );
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The Shared Key string-to-sign for a Blob service request.
pub(crate) fn string_to_sign(request: &Request, account: &str) -> String {
    use azure_core::http::headers::HeaderName;
    let headers = request.headers();
    let get = |name: &'static str| {
        headers
            .get_optional_str(&HeaderName::from_static(name))
            .unwrap_or("")
            .to_string()
    };
    let content_length = match request.body().len() {
        Some(0) | None => String::new(),
        Some(n) => n.to_string(),
    };
    let mut ms_headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.as_str().to_string()))
        .filter(|(k, _)| k.starts_with("x-ms-"))
        .collect();
    ms_headers.sort();
    let mut s = String::with_capacity(256);
    s.push_str(request.method().as_ref());
    s.push('\n');
    for name in ["content-encoding", "content-language"] {
        s.push_str(&get(name));
        s.push('\n');
    }
    s.push_str(&content_length);
    s.push('\n');
    for name in [
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        s.push_str(&get(name));
        s.push('\n');
    }
    for (k, v) in &ms_headers {
        s.push_str(k);
        s.push(':');
        s.push_str(v.trim());
        s.push('\n');
    }
    s.push('/');
    s.push_str(account);
    s.push_str(request.url().path());
    let mut params: Vec<(String, String)> = request
        .url()
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    params.sort();
    let mut i = 0;
    while i < params.len() {
        let name = &params[i].0;
        let mut values = vec![params[i].1.as_str()];
        let mut j = i + 1;
        while j < params.len() && params[j].0 == *name {
            values.push(&params[j].1);
            j += 1;
        }
        s.push('\n');
        s.push_str(name);
        s.push(':');
        s.push_str(&values.join(","));
        i = j;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::{Method, Url};

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

    #[test]
    fn key_check() {
        assert!(check_key(DEV_KEY, "test").is_ok());
        let e = check_key("not-a-key!", "--account-key").unwrap_err();
        assert!(
            e.contains("--account-key") && !e.contains("not-a-key"),
            "{e}"
        );
    }

    #[test]
    fn string_to_sign_layout() {
        let url = Url::parse(
            "http://127.0.0.1:1/devstoreaccount1/c/a%20b.txt?comp=block&blockid=QUJD%3D%3D&timeout=30",
        )
        .unwrap();
        let mut req = Request::new(url, Method::Put);
        req.insert_header("x-ms-version", "2026-02-06");
        req.insert_header("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT");
        req.insert_header("content-type", "application/octet-stream");
        req.set_body(vec![1u8, 2, 3]);
        let s = string_to_sign(&req, "devstoreaccount1");
        assert_eq!(
            s,
            "PUT\n\n\n3\n\napplication/octet-stream\n\n\n\n\n\n\n\
             x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2026-02-06\n\
             /devstoreaccount1/devstoreaccount1/c/a%20b.txt\nblockid:QUJD==\ncomp:block\ntimeout:30"
        );
    }
}
