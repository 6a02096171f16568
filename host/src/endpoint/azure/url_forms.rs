//! The forms a blob URL takes — below a given blob endpoint, on an ADLS Gen2 (`dfs`)
//! host, on a blob host, or path-style (`http://HOST:PORT/ACCOUNT/…`) — and where each
//! puts the account, its blob endpoint and the path after them.

use std::net::IpAddr;

use url::Url;

/// The emulator's account, addressed path-style on any host (`http://azurite:10000/…`).
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// Host suffixes of ADLS Gen2 (`dfs`) endpoints and their blob endpoints.
const DFS_HOSTS: &[(&str, &str)] = &[
    (".dfs.core.windows.net", ".blob.core.windows.net"),
    (
        ".dfs.core.usgovcloudapi.net",
        ".blob.core.usgovcloudapi.net",
    ),
    (".dfs.core.chinacloudapi.cn", ".blob.core.chinacloudapi.cn"),
    (".dfs.storage.azure.net", ".blob.storage.azure.net"),
];

/// Where a URL puts the account: its name, its blob endpoint (without a trailing `/`), and
/// the path segments after it (the container, then the prefix).
pub(super) struct Addressed {
    pub(super) account: String,
    pub(super) endpoint: String,
    pub(super) rest: Vec<String>,
    /// An ADLS Gen2 (`dfs`) host: the account lists in path order.
    pub(super) hierarchical: bool,
}

/// The account a URL (without its query) addresses, by the first form that fits: below
/// the `blob_endpoint` given, an ADLS Gen2 host, a blob host, else path-style. `host` is
/// the URL's, lower-cased; `segments` its decoded path; `named` the account a connection
/// string names. The error is the reason the URL fits no form.
pub(super) fn addressed(
    url: &Url,
    host: &str,
    segments: Vec<String>,
    blob_endpoint: Option<&Url>,
    named: Option<&str>,
) -> Result<Addressed, String> {
    if let Some(base) = blob_endpoint {
        below_blob_endpoint(url, host, segments, base, named)
    } else if let Some(hosts) = DFS_HOSTS.iter().find(|(d, _)| host.ends_with(d)) {
        dfs_host(url, host, segments, hosts)
    } else if host.contains(".blob.") {
        Ok(blob_host(url, host, segments))
    } else {
        path_style(url, host, segments, named)
    }
}

/// A URL below a given blob endpoint `base` (`--blob-endpoint`, a connection string's
/// `BlobEndpoint`): the account is the one `named`, else the endpoint's last path segment,
/// else the host's first label.
fn below_blob_endpoint(
    url: &Url,
    host: &str,
    segments: Vec<String>,
    base: &Url,
    named: Option<&str>,
) -> Result<Addressed, String> {
    // Any host, below the given endpoint: a custom domain, a private endpoint, an
    // emulator reached by another name.
    let base_segments = decoded_segments(base).unwrap_or_default();
    let same_origin = base.scheme() == url.scheme()
        && base.host_str().map(str::to_ascii_lowercase).as_deref() == Some(host)
        && base.port_or_known_default() == url.port_or_known_default();
    if !same_origin || !segments.starts_with(&base_segments) {
        return Err(format!(
            "the URL is not below the blob endpoint {} (--blob-endpoint or the connection \
             string's BlobEndpoint)",
            base.as_str().trim_end_matches('/')
        ));
    }
    let account = named
        .map(str::to_string)
        .or_else(|| base_segments.last().cloned())
        .unwrap_or_else(|| host.split('.').next().unwrap_or_default().to_string());
    Ok(Addressed {
        account,
        endpoint: base.as_str().trim_end_matches('/').to_string(),
        rest: segments[base_segments.len()..].to_vec(),
        hierarchical: false,
    })
}

/// A URL on an ADLS Gen2 host (`ACCOUNT.dfs.…`; the `dfs` suffix and its `blob` one are
/// an entry of [`DFS_HOSTS`]), addressed at the same account's blob endpoint.
fn dfs_host(
    url: &Url,
    host: &str,
    segments: Vec<String>,
    (dfs, blob): &(&str, &str),
) -> Result<Addressed, String> {
    // ADLS Gen2: the same account's blob endpoint, listed in path order.
    let blob_host = format!("{}{blob}", &host[..host.len() - dfs.len()]);
    let mut endpoint = url.clone();
    endpoint
        .set_host(Some(&blob_host))
        .map_err(|e| e.to_string())?;
    endpoint.set_path("");
    Ok(Addressed {
        account: blob_host.split('.').next().unwrap_or_default().to_string(),
        endpoint: endpoint.as_str().trim_end_matches('/').to_string(),
        rest: segments,
        hierarchical: true,
    })
}

/// A URL on a blob host (`ACCOUNT.blob.…`): the account is the host's first label.
fn blob_host(url: &Url, host: &str, segments: Vec<String>) -> Addressed {
    let mut endpoint = url.clone();
    endpoint.set_path("");
    Addressed {
        account: host.split('.').next().unwrap_or_default().to_string(),
        endpoint: endpoint.as_str().trim_end_matches('/').to_string(),
        rest: segments,
        hierarchical: false,
    }
}

/// A path-style URL: the account is the first path segment. Refused unless the host is
/// loopback or the account is known (the emulator's, or the one `named`).
fn path_style(
    url: &Url,
    host: &str,
    segments: Vec<String>,
    named: Option<&str>,
) -> Result<Addressed, String> {
    // Path-style: `http://HOST:PORT/ACCOUNT/CONTAINER/…` — on loopback, for the
    // emulator's account on any host, or for the account a connection string names.
    let loopback = host == "localhost" || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok();
    let first = segments.first().cloned().unwrap_or_default();
    let known = first == EMULATOR_ACCOUNT || named == Some(first.as_str());
    if !(loopback || (known && !first.is_empty())) {
        return Err(
            "expected a blob endpoint such as https://ACCOUNT.blob.core.windows.net/CONTAINER \
             (for a custom domain or private endpoint, give --blob-endpoint; for an \
             emulator, http://HOST:PORT/ACCOUNT/CONTAINER)"
                .to_string(),
        );
    }
    if segments.is_empty() {
        return Err(
            "an emulator URL needs the account and container in the path, e.g. \
             http://127.0.0.1:10000/devstoreaccount1/mycontainer"
                .to_string(),
        );
    }
    let mut endpoint = url.clone();
    endpoint.set_path(&first);
    Ok(Addressed {
        endpoint: endpoint.as_str().trim_end_matches('/').to_string(),
        rest: segments[1..].to_vec(),
        account: first,
        hierarchical: false,
    })
}

/// A URL's path segments, percent-decoded, empty ones dropped.
pub(super) fn decoded_segments(url: &Url) -> Result<Vec<String>, std::str::Utf8Error> {
    url.path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(percent_decode).collect())
        .unwrap_or(Ok(Vec::new()))
}

fn percent_decode(segment: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|c| c.into_owned())
}
