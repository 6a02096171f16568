//! Shared Key: signing each request with the account key, as the Blob service defines it.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::Secret;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};

/// The emulator's public development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// The emulator's public, well-known development key (documented by Microsoft).
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

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
