//! The `allowed-outbound-hosts` capability: which origins a hook's wasi:http requests may
//! reach. Every other request fails inside the plugin with `HTTP-request-denied` and is
//! logged (origin only: a URL's path may carry a token).
//!
//! A guest waiting for a response is blocked in the host, where the epoch deadline cannot
//! interrupt it, so every timeout is capped at what is left of the call's deadline.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::redact::Redactor;

/// A scheme, host and port that requests may go to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `https://host`, `http://host:port` (a trailing `/` is allowed; a path, query,
    /// user name or another scheme is not).
    pub fn parse(text: &str) -> Result<Origin, String> {
        let bad = |why: &str| {
            format!(
                "{text:?} is not an origin ({why}); write it as `https://host` or \
                 `http://host:port`"
            )
        };
        let uri: http::Uri = text.parse().map_err(|_| bad("not a URL"))?;
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(bad("it has a path"));
        }
        if uri.query().is_some() {
            return Err(bad("it has a query"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(bad("it has a user name"));
        }
        Origin::of(&uri).ok_or_else(|| bad("only http and https with a host are supported"))
    }

    /// The origin a request URI goes to.
    fn of(uri: &http::Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(p), "http" | "https") => p,
            (None, "https") => 443,
            (None, "http") => 80,
            _ => return None,
        };
        let host = uri.host()?.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(Origin { scheme, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("https", 443) | ("http", 80)
        );
        if default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// Timeouts used when the call has no deadline left to cap them with.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// One plugin instance's HTTP policy.
pub(crate) struct HttpPolicy {
    plugin: Arc<str>,
    allowed: Arc<[Origin]>,
    redactor: Arc<Redactor>,
    /// When the call in progress must end.
    pub(crate) deadline: Option<Instant>,
}

impl HttpPolicy {
    pub(crate) fn new(plugin: Arc<str>, allowed: Arc<[Origin]>, redactor: Arc<Redactor>) -> Self {
        HttpPolicy {
            plugin,
            allowed,
            redactor,
            deadline: None,
        }
    }

    /// `requested`, capped at what is left of the call.
    fn cap(&self, requested: Option<Duration>) -> Duration {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(MAX_TIMEOUT)
            .min(MAX_TIMEOUT);
        requested.map_or(left, |r| r.min(left))
    }
}

type HttpError = wasmtime_wasi_http::Error;
type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        let _ = fut;
        let origin = Origin::of(request.uri());
        let allowed = origin.as_ref().is_some_and(|o| self.allowed.contains(o));
        if !allowed {
            let target = origin.map_or_else(|| "an unsupported URL".to_string(), |o| o.to_string());
            let why = if self.allowed.is_empty() {
                "it has no `allowed-outbound-hosts` in the manifest".to_string()
            } else {
                let list: Vec<String> = self.allowed.iter().map(Origin::to_string).collect();
                format!("its `allowed-outbound-hosts` are {}", list.join(", "))
            };
            tracing::warn!(
                target: "blobsync::plugin",
                plugin = &*self.plugin,
                "{}",
                self.redactor
                    .redact(&format!("refused an HTTP request to {target}: {why}"))
            );
            return Box::new(async {
                Err::<(http::Response<WasiBody>, IoFuture), _>(HttpError::HttpRequestDenied)
            });
        }
        let o = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: Some(self.cap(o.connect_timeout)),
            first_byte_timeout: Some(self.cap(o.first_byte_timeout)),
            between_bytes_timeout: Some(self.cap(o.between_bytes_timeout)),
        };
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok::<_, HttpError>((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_with_default_ports() {
        let a = Origin::parse("https://Hooks.Example.com/").unwrap();
        assert_eq!(a.to_string(), "https://hooks.example.com");
        assert_eq!(
            a,
            Origin::of(&"https://hooks.example.com:443/x?y".parse().unwrap()).unwrap()
        );
        let b = Origin::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(b.to_string(), "http://127.0.0.1:8080");
        assert_ne!(
            b,
            Origin::of(&"http://127.0.0.1:8081/".parse().unwrap()).unwrap()
        );
    }

    #[test]
    fn origins_with_paths_or_other_schemes_are_refused() {
        for bad in [
            "https://h/path",
            "ftp://h",
            "h:80",
            "https://u@h",
            "https://h/?q=1",
        ] {
            let err = Origin::parse(bad).unwrap_err();
            assert!(err.contains("not an origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn timeouts_are_capped_by_the_deadline() {
        let mut p = HttpPolicy::new("p".into(), Arc::from(vec![]), Arc::default());
        assert_eq!(p.cap(Some(Duration::from_secs(600))), MAX_TIMEOUT);
        p.deadline = Some(Instant::now() + Duration::from_secs(2));
        assert!(p.cap(None) <= Duration::from_secs(2));
        assert_eq!(
            p.cap(Some(Duration::from_millis(5))),
            Duration::from_millis(5)
        );
    }
}
