//! Blob URLs: `https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]` and the
//! path-style emulator form `http://127.0.0.1:PORT/ACCOUNT/CONTAINER[/PREFIX][?SAS]`.

use std::borrow::Cow;
use std::fmt;

use url::Url;

use super::url_forms::{Addressed, addressed, decoded_segments};
use crate::endpoint::order::{decode, encode};
use crate::localfs::raw_names;

/// A parsed blob location.
#[derive(Clone, PartialEq, Eq)]
pub struct BlobLocation {
    /// The storage account name.
    pub account: String,
    /// The container name.
    pub container: String,
    /// The virtual directory synced, without leading or trailing `/` (empty for the whole
    /// container).
    pub prefix: String,
    /// The account endpoint without a trailing slash: `https://acct.blob.core.windows.net`
    /// or `http://127.0.0.1:10000/devstoreaccount1`.
    pub endpoint: Url,
    /// The SAS query string, if the URL carried one (never printed: see [`redact`]).
    pub sas: Option<String>,
    /// True when the account is in the path (`http://HOST/ACCOUNT/CONTAINER`).
    pub path_style: bool,
    /// True for a hierarchical-namespace (ADLS Gen2) account: it lists in path order.
    pub hierarchical: bool,
    /// Paths are stored in rclone's name encoding (`\` as `＼`, …; see
    /// [`crate::endpoint::order`]); false with `--name-encoding none`.
    pub encode_names: bool,
}

// Debug must never print the SAS.
impl fmt::Debug for BlobLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobLocation")
            .field("account", &self.account)
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint.as_str())
            .field("sas", &self.sas.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// Why a URL is not a usable blob location.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct LocationError {
    /// The URL, with any SAS signature redacted.
    pub url: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// True if the argument looks like a URL rather than a local path.
pub fn is_url(arg: &str) -> bool {
    // `scheme://`, as RFC 3986 spells a scheme (so `ftp://…` is a URL blobsync refuses,
    // not a local folder named `ftp:`).
    arg.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// How to read URLs whose host does not say the account: a blob endpoint given with
/// `--blob-endpoint` (or a connection string's `BlobEndpoint=`), and the account name.
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    /// The account's blob endpoint, e.g. `https://files.example.com` or
    /// `http://azurite:10000/devstoreaccount1`.
    pub blob_endpoint: Option<Url>,
    /// The account name (a connection string's `AccountName=`).
    pub account: Option<String>,
}

impl BlobLocation {
    /// Parses a container or virtual-directory URL on Azure's own hosts or the emulator.
    pub fn parse(text: &str) -> Result<BlobLocation, LocationError> {
        BlobLocation::parse_with(text, &Addressing::default())
    }

    /// Parses a container or virtual-directory URL, any host allowed by `addressing`.
    pub fn parse_with(text: &str, addressing: &Addressing) -> Result<BlobLocation, LocationError> {
        let fail = |reason: &str| LocationError {
            url: redact(text),
            reason: reason.to_string(),
        };
        let mut url = Url::parse(text).map_err(|e| fail(&format!("not a valid URL ({e})")))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(fail(&format!(
                "`{}://` is not supported; a blob location is an https:// (or http://) URL",
                url.scheme()
            )));
        }
        let sas = sas_query(&url).map_err(fail)?;
        url.set_query(None);
        url.set_fragment(None);
        let host = url
            .host_str()
            .ok_or_else(|| fail("the URL has no host"))?
            .to_ascii_lowercase();
        let segments = decoded_segments(&url)
            .map_err(|_| fail("the path is not valid UTF-8 after percent-decoding"))?;
        let Addressed {
            account,
            endpoint,
            rest,
            hierarchical,
        } = addressed(
            &url,
            &host,
            segments,
            addressing.blob_endpoint.as_ref(),
            addressing.account.as_deref(),
        )
        .map_err(|reason| fail(&reason))?;
        let (container, prefix) = container_and_prefix(rest).map_err(|reason| fail(&reason))?;
        let endpoint = Url::parse(&endpoint).map_err(|e| fail(&e.to_string()))?;
        let path_style = !endpoint.path().trim_matches('/').is_empty();
        Ok(BlobLocation {
            account,
            container,
            prefix,
            endpoint,
            sas,
            path_style,
            hierarchical,
            encode_names: true,
        })
    }

    /// The container URL (with the SAS when there is one): what the clients are built on.
    pub fn container_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        // An http(s) URL always has path segments.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.container);
        }
        url.set_query(self.sas.as_deref());
        url
    }

    /// The blob name for a path relative to the synced folder.
    pub fn blob_name(&self, relative: &str) -> String {
        self.blob_name_as(relative, None)
    }

    /// The blob name of a listed entry: the name the listing gave (`listed_as`, below the
    /// prefix) when there is one, else the path's encoding.
    pub fn blob_name_as(&self, relative: &str, listed_as: Option<&str>) -> String {
        let relative = match listed_as {
            Some(listed) => Cow::Borrowed(listed),
            None => self.stored(relative),
        };
        if self.prefix.is_empty() {
            relative.into_owned()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }

    /// A relative path as stored: encoded, or with `--name-encoding none` as plain text
    /// (a name that is not valid UTF-8 keeps its `‛XX`; [`super::names`] refuses it).
    pub fn stored<'a>(&self, relative: &'a str) -> Cow<'a, str> {
        if self.encode_names {
            encode(relative)
        } else {
            raw_names::to_text(relative).unwrap_or(Cow::Borrowed(relative))
        }
    }

    /// The relative path a stored name (below the prefix) stands for, in the spelling a
    /// local listing gives it; `None` for a name no path stands for (an unquoted `／`).
    pub fn path_of<'a>(&self, stored: &'a str) -> Option<Cow<'a, str>> {
        let path = if self.encode_names {
            decode(stored)?
        } else {
            raw_names::from_text(stored)
        };
        Some(match path {
            Cow::Borrowed(p) => raw_names::canonical(p),
            Cow::Owned(p) => Cow::Owned(raw_names::canonical(&p).into_owned()),
        })
    }

    /// The listing prefix (`prefix/`, or empty).
    pub fn list_prefix(&self) -> Option<String> {
        (!self.prefix.is_empty()).then(|| format!("{}/", self.prefix))
    }

    /// True when the SAS query carries a signature.
    pub fn has_sas(&self) -> bool {
        self.sas
            .as_deref()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("sig=")))
    }

    /// True for a loopback host (the emulator's dev key may be used there).
    pub fn is_loopback(&self) -> bool {
        match self.endpoint.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }
}

impl fmt::Display for BlobLocation {
    /// The location as a user would type it, without the SAS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.endpoint.as_str().trim_end_matches('/'),
            self.container
        )?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// The URL's query as a SAS (`None` without a query), refused when it carries no
/// signature (`sig=`).
fn sas_query(url: &Url) -> Result<Option<String>, &'static str> {
    let sas = url.query().filter(|q| !q.is_empty()).map(str::to_string);
    if let Some(query) = &sas
        && !query
            .split('&')
            .any(|kv| kv.to_ascii_lowercase().starts_with("sig="))
    {
        return Err(
            "the URL has a query but no SAS signature (`sig=`); paste the whole SAS token, \
             or remove the query to use another credential",
        );
    }
    Ok(sas)
}

/// The container and the prefix below it (its segments joined by `/`), from the path
/// segments after the account; refuses a missing or invalid container, a system
/// container other than `$web` and `$root`, and a folder in `$root`.
fn container_and_prefix(rest: Vec<String>) -> Result<(String, String), String> {
    let mut rest = rest.into_iter();
    let Some(container) = rest.next() else {
        return Err(
            "the URL names no container; blobsync syncs one container (or a folder in it), \
             not a whole account"
                .to_string(),
        );
    };
    if container.starts_with('$') && container != "$web" && container != "$root" {
        return Err(format!(
            "`{container}` is a system container; of those, only `$web` (static websites) \
             and `$root` can be synced"
        ));
    }
    if !container.starts_with('$') && !valid_container_name(&container) {
        return Err(format!(
            "`{container}` is not a valid container name (3–63 characters: lower-case \
             letters, digits and single hyphens, starting with a letter or digit)"
        ));
    }
    let prefix = rest.collect::<Vec<_>>().join("/");
    if container == "$root" && !prefix.is_empty() {
        return Err("blobs in `$root` have no folders; sync the container itself".to_string());
    }
    Ok((container, prefix))
}

fn valid_container_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

/// Replaces the value of every `sig=` query parameter (a SAS signature) in `text` with
/// `REDACTED`. Applied to every URL and error message blobsync prints or records.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_sig(rest) {
        let (head, tail) = rest.split_at(pos + 4);
        out.push_str(head);
        out.push_str("REDACTED");
        let end = tail
            .find(|c: char| {
                c == '&' || c == '#' || c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>')
            })
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Finds `sig=` at the start of a query parameter (after `?` or `&`), case-insensitively.
fn find_sig(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("sig=") {
        let at = from + i;
        if at > 0 && matches!(lower.as_bytes()[at - 1], b'?' | b'&') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_url_with_prefix_and_sas() {
        let l = BlobLocation::parse(
            "https://acct.blob.core.windows.net/site/www/v1?sv=2022-11-02&sp=rwdl&sig=abc%2Bdef",
        )
        .unwrap();
        assert_eq!(l.account, "acct");
        assert_eq!(l.container, "site");
        assert_eq!(l.prefix, "www/v1");
        assert_eq!(l.endpoint.as_str(), "https://acct.blob.core.windows.net/");
        assert!(l.has_sas());
        assert_eq!(
            l.to_string(),
            "https://acct.blob.core.windows.net/site/www/v1"
        );
        assert!(!format!("{l:?}").contains("abc"));
        assert_eq!(
            l.container_url().as_str(),
            "https://acct.blob.core.windows.net/site?sv=2022-11-02&sp=rwdl&sig=abc%2Bdef"
        );
        assert_eq!(l.blob_name("a b.txt"), "www/v1/a b.txt");
    }

    #[test]
    fn emulator_url_is_path_style() {
        let l = BlobLocation::parse("http://127.0.0.1:10000/devstoreaccount1/data/").unwrap();
        assert!(l.path_style && l.is_loopback());
        assert_eq!(l.account, "devstoreaccount1");
        assert_eq!(l.container, "data");
        assert_eq!(l.prefix, "");
        assert_eq!(
            l.endpoint.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(
            l.container_url().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/data"
        );
        assert_eq!(l.list_prefix(), None);
    }

    #[test]
    fn bad_urls_are_explained_and_redacted() {
        for (url, needle) in [
            ("https://acct.blob.core.windows.net/", "names no container"),
            (
                "https://acct.blob.core.windows.net/$logs",
                "only `$web` (static websites) and `$root`",
            ),
            (
                "https://acct.blob.core.windows.net/Bad_Name",
                "not a valid container name",
            ),
            ("https://example.com/c", "give --blob-endpoint"),
            ("http://127.0.0.1:10000/", "needs the account and container"),
            ("ftp://x/y", "`ftp://` is not supported"),
            (
                "https://acct.blob.core.windows.net/cont?sv=2022-11-02&sp=r",
                "no SAS signature",
            ),
        ] {
            let e = BlobLocation::parse(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
        }
        let e = BlobLocation::parse("https://acct.blob.core.windows.net/?sig=SECRET").unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn every_url_form() {
        let web =
            BlobLocation::parse("https://acct.blob.core.windows.net/$web?sv=1&sig=x").unwrap();
        assert_eq!(
            (web.container.as_str(), web.account.as_str()),
            ("$web", "acct")
        );
        assert!(BlobLocation::parse("https://acct.blob.core.windows.net/$root").is_ok());

        let dfs = BlobLocation::parse("https://acct.dfs.core.windows.net/fsys/dir/sub").unwrap();
        assert_eq!(dfs.endpoint.as_str(), "https://acct.blob.core.windows.net/");
        assert_eq!(
            (dfs.container.as_str(), dfs.prefix.as_str()),
            ("fsys", "dir/sub")
        );
        assert!(dfs.hierarchical && !dfs.path_style);

        let compose =
            BlobLocation::parse("http://azurite:10000/devstoreaccount1/c0ntainer/x").unwrap();
        assert_eq!(compose.account, "devstoreaccount1");
        assert_eq!(
            compose.endpoint.as_str(),
            "http://azurite:10000/devstoreaccount1"
        );
        assert_eq!(compose.prefix, "x");
        assert!(compose.path_style);

        let custom = Addressing {
            blob_endpoint: Some(Url::parse("https://files.example.com").unwrap()),
            account: Some("acct".into()),
        };
        let l = BlobLocation::parse_with("https://files.example.com/site/v2", &custom).unwrap();
        assert_eq!((l.account.as_str(), l.container.as_str()), ("acct", "site"));
        assert_eq!(l.container_url().as_str(), "https://files.example.com/site");
        let e = BlobLocation::parse_with("https://other.example.com/site", &custom).unwrap_err();
        assert!(e.to_string().contains("not below the blob endpoint"), "{e}");

        let private = Addressing {
            blob_endpoint: Some(Url::parse("http://10.1.2.3:8080/acct2").unwrap()),
            account: None,
        };
        let l = BlobLocation::parse_with("http://10.1.2.3:8080/acct2/data", &private).unwrap();
        assert_eq!(
            (l.account.as_str(), l.container.as_str()),
            ("acct2", "data")
        );

        let named = Addressing {
            blob_endpoint: None,
            account: Some("acct3".into()),
        };
        let l = BlobLocation::parse_with("https://gateway.internal/acct3/data", &named).unwrap();
        assert_eq!(l.endpoint.as_str(), "https://gateway.internal/acct3");
    }

    #[test]
    fn urls_of_any_scheme_are_urls() {
        assert!(is_url("ftp://host/x") && is_url("https://a") && is_url("s3://b"));
        assert!(!is_url("./data") && !is_url("C:/x") && !is_url("/tmp/x://y"));
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("GET https://a.blob.core.windows.net/c/b?sv=1&sig=s3cr%2Bt&se=2 failed"),
            "GET https://a.blob.core.windows.net/c/b?sv=1&sig=REDACTED&se=2 failed"
        );
        assert_eq!(
            redact("url (http://h/c?SIG=abc)"),
            "url (http://h/c?SIG=REDACTED)"
        );
        assert_eq!(redact("design=1&x"), "design=1&x");
        assert_eq!(redact("no secrets"), "no secrets");
    }
}
