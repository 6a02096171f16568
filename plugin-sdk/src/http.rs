//! HTTP requests from hooks, through WASI 0.2's `wasi:http`.
//!
//! blobsync sends a request only if its origin (scheme, host and port) is listed in the
//! hook's `allowed-outbound-hosts`; any other request fails with an error saying so, and
//! blobsync logs it. Timeouts are capped at what is left of the call's time limit
//! (`limits.call-timeout-ms`).
//!
//! ```no_run
//! let body = br#"{"text":"sync finished"}"#;
//! match blobsync_plugin::http::post(
//!     "https://hooks.example.com/notify",
//!     &[("content-type", "application/json")],
//!     body,
//! ) {
//!     Ok(response) if response.status < 300 => {}
//!     Ok(response) => blobsync_plugin::log::warn(&format!("HTTP {}", response.status)),
//!     Err(e) => blobsync_plugin::log::error(&e),
//! }
//! ```

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, up to [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

/// The most response body bytes read.
pub const MAX_BODY: usize = 1 << 20;

/// Sends a POST request with `headers` and `body` to `url` and waits for the response.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, String> {
    request("POST", url, headers, Some(body))
}

/// Sends a GET request to `url` and waits for the response.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    request("GET", url, headers, None)
}

/// The parts of an `http(s)://authority/path?query` URL.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    https: bool,
    authority: &'a str,
    path_and_query: &'a str,
}

fn parse(url: &str) -> Result<Target<'_>, String> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{url:?} has no host (or has a user name)"));
    }
    let path_and_query = if path.is_empty() { "/" } else { path };
    Ok(Target {
        https,
        authority,
        path_and_query,
    })
}

/// Sends a request (`method` is `GET`, `POST`, `PUT`, `DELETE`…) and waits for the
/// response.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, String> {
    let target = parse(url)?;
    send(method, &target, headers, body)
}

#[cfg(target_arch = "wasm32")]
mod wasi {
    wit_bindgen::generate!({
        world: "client",
        path: "wit-http",
        generate_all,
    });
}

#[cfg(target_arch = "wasm32")]
fn send(
    method: &str,
    target: &Target<'_>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, String> {
    use wasi::wasi::http::outgoing_handler;
    use wasi::wasi::http::types::{
        ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasi::wasi::io::streams::StreamError;

    let describe = |e: ErrorCode| match e {
        ErrorCode::HttpRequestDenied => format!(
            "blobsync refused the request to {}: its origin is not in this hook's \
             `allowed-outbound-hosts`",
            target.authority
        ),
        other => format!("the request to {} failed: {other:?}", target.authority),
    };
    let mut fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    // A length, rather than a chunked body, for servers that only read Content-Length.
    if let Some(body) = body
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        fields.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    let fields = Fields::from_list(&fields).map_err(|e| format!("invalid header: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let scheme = if target.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let invalid = |what: &str| format!("invalid {what} in the URL");
    request
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(target.authority))
        .map_err(|()| invalid("host"))?;
    request
        .set_path_with_query(Some(target.path_and_query))
        .map_err(|()| invalid("path"))?;
    let outgoing = request
        .body()
        .map_err(|()| "the request body is unavailable".to_string())?;
    let future = outgoing_handler::handle(request, None).map_err(describe)?;
    // A refused or failed request shows as a closed body stream first; the response
    // future then says why, which is the better message.
    let mut sent: Result<(), String> = Ok(());
    {
        let stream = outgoing
            .write()
            .map_err(|()| "the request body is unavailable".to_string())?;
        for chunk in body.unwrap_or_default().chunks(4096) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                sent = Err(match e {
                    StreamError::LastOperationFailed(e) => {
                        format!("sending the body failed: {}", e.to_debug_string())
                    }
                    StreamError::Closed => "the connection closed while sending".to_string(),
                });
                break;
            }
        }
    }
    if sent.is_ok() {
        sent = OutgoingBody::finish(outgoing, None).map_err(describe);
    }
    let response = loop {
        match future.get() {
            Some(Ok(result)) => break result.map_err(describe)?,
            Some(Err(())) => return Err("the response was already taken".into()),
            None => future.subscribe().block(),
        }
    };
    sent?;
    let status = response.status();
    let mut body = Vec::new();
    if let Ok(incoming) = response.consume() {
        if let Ok(stream) = incoming.stream() {
            while body.len() < MAX_BODY {
                match stream.blocking_read(65536) {
                    Ok(bytes) => body.extend_from_slice(&bytes),
                    Err(_) => break,
                }
            }
        }
    }
    body.truncate(MAX_BODY);
    Ok(Response { status, body })
}

#[cfg(not(target_arch = "wasm32"))]
fn send(
    _method: &str,
    target: &Target<'_>,
    _headers: &[(&str, &str)],
    _body: Option<&[u8]>,
) -> Result<Response, String> {
    Err(format!(
        "HTTP requests (to {}) need blobsync: they are not sent outside WebAssembly",
        target.authority
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            parse("https://hooks.example.com/a/b?c=1").unwrap(),
            Target {
                https: true,
                authority: "hooks.example.com",
                path_and_query: "/a/b?c=1"
            }
        );
        assert_eq!(parse("http://127.0.0.1:8080").unwrap().path_and_query, "/");
        assert!(parse("ftp://x").is_err());
        assert!(parse("https://user@x/").is_err());
    }
}
