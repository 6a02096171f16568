//! HTTP/1.1 proxies for tests: [`FaultProxy`], a reverse proxy in front of Azurite that
//! injects faults (error statuses, resets, stalls, truncation, flipped bytes) for tests of
//! blobsync's retries, timeouts and integrity checks, and [`ConnectProxy`], a minimal
//! forward proxy (CONNECT tunnels and absolute-form requests) for tests that blobsync
//! honours `HTTPS_PROXY`/`HTTP_PROXY`.
//!
//! Both are synchronous to the caller: each runs a tokio runtime on a background thread
//! that lives as long as the proxy value, listens on a free port of 127.0.0.1 and only
//! ever connects to 127.0.0.1. Dropping the value closes every connection and frees the
//! port.
//!
//! [`FaultProxy`] relays each client connection over its own connection to Azurite, so
//! keep-alive on one side is keep-alive on the other. Requests and responses pass
//! unchanged: the request line, every header with its spelling (the `Host` header
//! included: Azurite checks Shared Key signatures against `/account/path`, not the
//! host and port, and takes the account from the path when the host is an IP address),
//! and the body bytes. Only the framing of a chunked body may be re-cut into chunks of
//! other sizes, and a repeated header is sent as consecutive lines.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Sleep;

type BoxError = Box<dyn StdError + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
/// A served client connection, boxed: awaited unboxed inside an `async fn`, the compiler
/// cannot prove the `async fn`'s future `Send` (a known higher-ranked lifetime issue).
type Serving = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// How long a cut ([`Fault::ResetResponseBody`], [`Fault::Truncate`]) waits at most for the
/// bytes before it to leave the proxy (they normally leave at once).
const FLUSH_WAIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Public API of the fault proxy
// ---------------------------------------------------------------------------------------

/// A reverse proxy on 127.0.0.1 in front of an upstream (Azurite) on 127.0.0.1 that passes
/// requests and responses through unchanged except where a [`Rule`] injects a [`Fault`].
///
/// ```text
/// let proxy = FaultProxy::start(azurite.port);
/// proxy.add(Rule::new(Match::any().method("PUT").query("comp=block"),
///                     Fault::StatusBefore { status: 503, retry_after: Some(1) }));
/// // point blobsync at format!("{}/devstoreaccount1/container", proxy.url())
/// assert_eq!(proxy.stats().faults, 1);
/// ```
pub struct FaultProxy {
    shared: Arc<Shared>,
    background: Background,
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port and forwards every request to
    /// `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16) -> FaultProxy {
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
        let shared = Arc::new(Shared::new(upstream));
        let for_connections = Arc::clone(&shared);
        let background = Background::start("fault-proxy", move |stream| {
            serve_fault_connection(stream, Arc::clone(&for_connections))
        });
        FaultProxy { shared, background }
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.background.port
    }

    /// `http://127.0.0.1:PORT`, the proxy's base URL (append `/devstoreaccount1/...`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Adds a rule; rules are checked in the order added, and the first match that still
    /// has uses applies (see [`Rule`]).
    pub fn add(&self, rule: Rule) {
        self.shared.lock().rules.push(RuleSlot::new(rule));
    }

    /// Removes every rule (and what they counted); statistics are kept.
    pub fn clear(&self) {
        self.shared.lock().rules.clear();
    }

    /// What passed through so far.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Zeroes the statistics; rules are kept.
    pub fn reset_stats(&self) {
        self.shared.lock().stats = Stats::default();
    }
}

/// One fault to inject: the first [`Rule`] (in the order added) whose [`Match`] fits a
/// request and that still has uses decides the request's fault.
///
/// A rule counts the requests it matches: the first `skip` pass through it untouched
/// (and are checked against the rules after it), the next `times` get its fault, and
/// after that it no longer applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Which requests the rule is about.
    pub matcher: Match,
    /// What happens to them.
    pub fault: Fault,
    /// How many matching requests pass first.
    pub skip: usize,
    /// How many matching requests get the fault after those; `usize::MAX` = always.
    pub times: usize,
}

impl Rule {
    /// A rule that applies `fault` once, to the first request that `matcher` fits.
    pub fn new(matcher: Match, fault: Fault) -> Rule {
        Rule {
            matcher,
            fault,
            skip: 0,
            times: 1,
        }
    }

    /// Lets `n` matching requests pass before the fault applies.
    pub fn skip(mut self, n: usize) -> Rule {
        self.skip = n;
        self
    }

    /// Applies the fault to `n` matching requests (`usize::MAX` = always).
    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }

    /// Applies the fault to every matching request.
    pub fn always(self) -> Rule {
        self.times(usize::MAX)
    }
}

/// Which requests a [`Rule`] fits; every field that is set must hold (`Match::default()`
/// fits every request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// The method, e.g. `"PUT"` (compared ignoring case).
    pub method: Option<String>,
    /// Text that the URL path (raw, without the query) contains, e.g. a blob name.
    pub path_contains: Option<String>,
    /// Query parameters that the request has, as written in the URL, `&`-separated: each
    /// one must equal one of the request's parameters (`"comp=block"` fits `comp=block`
    /// but not `comp=blocklist`), or be its name (`"comp"`), or, ending with `=`, begin
    /// it (`"blockid="` fits every block id).
    pub query_contains: Option<String>,
    /// A header that the request carries, e.g. `"range"` (any case).
    pub has_header: Option<String>,
}

impl Match {
    /// Fits every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Also requires the method `method`.
    pub fn method(mut self, method: &str) -> Match {
        self.method = Some(method.to_string());
        self
    }

    /// Also requires a path containing `text`.
    pub fn path(mut self, text: &str) -> Match {
        self.path_contains = Some(text.to_string());
        self
    }

    /// Also requires the query parameters `params` (see [`Match::query_contains`]).
    pub fn query(mut self, params: &str) -> Match {
        self.query_contains = Some(params.to_string());
        self
    }

    /// Also requires the header `name`.
    pub fn header(mut self, name: &str) -> Match {
        self.has_header = Some(name.to_string());
        self
    }

    fn fits(&self, request: &RequestInfo) -> bool {
        let method = self
            .method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&request.method));
        let path = self
            .path_contains
            .as_ref()
            .is_none_or(|p| request.path.contains(p.as_str()));
        let query = self
            .query_contains
            .as_ref()
            .is_none_or(|q| query_has(&request.query, q));
        let header = self.has_header.as_ref().is_none_or(|h| {
            request
                .header_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(h))
        });
        method && path && query && header
    }
}

/// What happens to a request that a [`Rule`] applies to. Offsets count body bytes (after
/// any chunked framing is removed), from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` without forwarding (the request never reaches Azurite), with an
    /// optional `Retry-After` (seconds) header and an Azure-style XML error body (code
    /// `ServerBusy` for 503, `InternalError` for 500, ...). The request body is read
    /// first, unless the client sent `Expect: 100-continue` and so waits for a go-ahead
    /// that never comes.
    StatusBefore {
        /// The status to answer.
        status: u16,
        /// The `Retry-After` header's value in seconds, if any.
        retry_after: Option<u64>,
    },
    /// Forward (so the write happens), read Azurite's whole response, then answer `status`
    /// (with an Azure-style XML error body) instead of it.
    StatusAfter {
        /// The status to answer.
        status: u16,
    },
    /// Read `after` bytes of the request body (or all of it, if shorter), then close the
    /// connection abruptly (TCP RST). Nothing reaches Azurite.
    ResetRequestBody {
        /// How many body bytes to read first.
        after: usize,
    },
    /// Forward, send the response head and `after` bytes of the body, then close
    /// abruptly (TCP RST). A body of at most `after` bytes passes whole.
    ResetResponseBody {
        /// How many body bytes to send first.
        after: usize,
    },
    /// Wait `duration`, then forward: the request reaches Azurite that much later (time
    /// for another client to change what it addresses first).
    DelayBefore {
        /// How long to wait.
        duration: Duration,
    },
    /// Forward, then wait `duration` before sending the response head.
    StallHead {
        /// How long to wait.
        duration: Duration,
    },
    /// Forward, send the head and `after` body bytes, then wait `duration` before the
    /// rest. A body of at most `after` bytes passes without a wait.
    StallBody {
        /// How many body bytes to send first.
        after: usize,
        /// How long to wait then.
        duration: Duration,
    },
    /// Forward, send the head with the full `Content-Length` but only `keep` body bytes,
    /// then close the connection normally (FIN), so the client sees the body end early.
    /// A body of at most `keep` bytes passes whole.
    Truncate {
        /// How many body bytes to send.
        keep: usize,
    },
    /// Flip (xor 0xff) the request body byte at `at` (if the body is that long) before
    /// forwarding; the headers (Content-Length, Content-MD5) are unchanged.
    FlipRequestByte {
        /// The offset of the byte in the request body.
        at: usize,
    },
    /// Flip (xor 0xff) the response body byte at `at` (if the body is that long) before
    /// passing it on; the headers are unchanged.
    FlipResponseByte {
        /// The offset of the byte in the response body.
        at: usize,
    },
}

/// What passed through a [`FaultProxy`] (since it started or [`FaultProxy::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received (faulted ones included).
    pub requests: usize,
    /// Requests that a rule applied a fault to.
    pub faults: usize,
    /// Requests by kind, `"METHOD kind"`: the kind is the `comp` query parameter if there
    /// is one, else the `restype` one, else `blob`: `"PUT block"`, `"PUT blocklist"`,
    /// `"GET list"`, `"PUT blob"`, `"GET blob"`, `"DELETE blob"`, `"HEAD blob"`,
    /// `"PUT container"`, `"GET properties"`...
    pub by_kind: BTreeMap<String, usize>,
    /// Request body bytes read from clients.
    pub request_body_bytes: u64,
    /// Response body bytes sent to clients (error bodies that the proxy made included).
    pub response_body_bytes: u64,
    /// Request body bytes read from clients, by URL path (raw, without the query).
    pub body_bytes_by_path: BTreeMap<String, u64>,
    /// Client connections accepted.
    pub connections: usize,
}

impl Stats {
    /// How many requests of `kind` (e.g. `"PUT block"`) came; 0 if none.
    pub fn count(&self, kind: &str) -> usize {
        self.by_kind.get(kind).copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// Public API of the forward proxy
// ---------------------------------------------------------------------------------------

/// A minimal forward proxy on 127.0.0.1, for tests that a client honours
/// `HTTPS_PROXY`/`HTTP_PROXY`: it tunnels `CONNECT host:port` and forwards absolute-form
/// requests (`GET http://127.0.0.1:PORT/path HTTP/1.1`), to 127.0.0.1 only; any other
/// target gets 403 Forbidden, and an origin-form request 400.
pub struct ConnectProxy {
    counts: Arc<ForwardCounts>,
    background: Background,
}

impl ConnectProxy {
    /// Listens on a free 127.0.0.1 port.
    pub fn start() -> ConnectProxy {
        let counts = Arc::new(ForwardCounts::default());
        let for_connections = Arc::clone(&counts);
        let background = Background::start("connect-proxy", move |stream| {
            serve_forward_connection(stream, Arc::clone(&for_connections))
        });
        ConnectProxy { counts, background }
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.background.port
    }

    /// `http://127.0.0.1:PORT`, the value for `HTTPS_PROXY`/`HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// CONNECT tunnels opened.
    pub fn connects(&self) -> usize {
        self.counts.connects.load(Ordering::SeqCst)
    }

    /// Absolute-form requests forwarded.
    pub fn forwarded(&self) -> usize {
        self.counts.forwarded.load(Ordering::SeqCst)
    }

    /// Requests refused (403: a target other than 127.0.0.1; 400: not a proxy request).
    pub fn refused(&self) -> usize {
        self.counts.refused.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------
// The background runtime
// ---------------------------------------------------------------------------------------

/// A tokio runtime on its own thread that accepts connections on a free 127.0.0.1 port
/// and hands each to a task; dropping it stops the runtime, which drops every connection.
struct Background {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    fn start<H, F>(name: &str, handler: H) -> Background
    where
        H: Fn(TcpStream) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let listener =
            StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free 127.0.0.1 port");
        let port = listener
            .local_addr()
            .expect("a bound listener's address")
            .port();
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_io()
            .enable_time()
            .build()
            .expect("build the proxy's tokio runtime");
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, stopped, handler));
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .expect("spawn the proxy thread");
        Background {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop<H, F>(listener: StdTcpListener, mut stopped: oneshot::Receiver<()>, handler: H)
where
    H: Fn(TcpStream) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("proxy: cannot listen: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handler(stream));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared state of the fault proxy
// ---------------------------------------------------------------------------------------

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    request_ids: AtomicU64,
}

#[derive(Default)]
struct State {
    rules: Vec<RuleSlot>,
    stats: Stats,
}

/// A rule with what it counted.
struct RuleSlot {
    rule: Rule,
    skipped: usize,
    applied: usize,
}

impl RuleSlot {
    fn new(rule: Rule) -> RuleSlot {
        RuleSlot {
            rule,
            skipped: 0,
            applied: 0,
        }
    }

    /// Whether the rule applies to `request` (which it fits), counting it either way.
    fn take(&mut self) -> bool {
        if self.skipped < self.rule.skip {
            self.skipped += 1;
            false
        } else if self.applied < self.rule.times {
            self.applied += 1;
            true
        } else {
            false
        }
    }
}

impl Shared {
    fn new(upstream: SocketAddr) -> Shared {
        Shared {
            upstream,
            state: Mutex::new(State::default()),
            request_ids: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new request and picks its fault, if any.
    fn admit(&self, request: &RequestInfo) -> Option<Fault> {
        let mut state = self.lock();
        state.stats.requests += 1;
        *state.stats.by_kind.entry(request.kind.clone()).or_default() += 1;
        let fault = state
            .rules
            .iter_mut()
            .filter(|slot| slot.rule.matcher.fits(request))
            .find_map(|slot| slot.take().then(|| slot.rule.fault.clone()));
        if fault.is_some() {
            state.stats.faults += 1;
        }
        fault
    }

    fn count_connection(&self) {
        self.lock().stats.connections += 1;
    }

    fn count_request_bytes(&self, path: &str, n: u64) {
        let mut state = self.lock();
        state.stats.request_body_bytes += n;
        *state
            .stats
            .body_bytes_by_path
            .entry(path.to_string())
            .or_default() += n;
    }

    fn count_response_bytes(&self, n: u64) {
        self.lock().stats.response_body_bytes += n;
    }

    fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }
}

/// What rules and statistics look at in a request.
struct RequestInfo {
    method: String,
    path: String,
    query: String,
    /// `"METHOD kind"`, the key of [`Stats::by_kind`].
    kind: String,
    header_names: Vec<String>,
    client_request_id: Option<HeaderValue>,
    version: Option<HeaderValue>,
    is_head: bool,
}

impl RequestInfo {
    fn of<B>(request: &Request<B>) -> RequestInfo {
        let uri = request.uri();
        let query = uri.query().unwrap_or("").to_string();
        let method = request.method().as_str().to_string();
        let kind = format!("{method} {}", kind_of(&query));
        let headers = request.headers();
        RequestInfo {
            path: uri.path().to_string(),
            kind,
            header_names: headers.keys().map(|n| n.as_str().to_string()).collect(),
            client_request_id: headers.get("x-ms-client-request-id").cloned(),
            version: headers.get("x-ms-version").cloned(),
            is_head: request.method() == Method::HEAD,
            method,
            query,
        }
    }
}

/// The kind of a Blob REST request from its query: `comp`, else `restype`, else `blob`.
fn kind_of(query: &str) -> String {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    param("comp")
        .or_else(|| param("restype"))
        .unwrap_or_else(|| "blob".to_string())
}

/// Whether `query` has every `&`-separated parameter of `wanted` (see
/// [`Match::query_contains`]).
fn query_has(query: &str, wanted: &str) -> bool {
    let params: Vec<&str> = query.split('&').collect();
    wanted.split('&').filter(|w| !w.is_empty()).all(|w| {
        params.iter().any(|p| {
            *p == w
                || (w.ends_with('=') && p.starts_with(w))
                || (!w.contains('=') && p.split('=').next() == Some(w))
        })
    })
}

// ---------------------------------------------------------------------------------------
// One client connection of the fault proxy
// ---------------------------------------------------------------------------------------

/// What a client connection's [`Wire`] and the bodies relayed over it share.
#[derive(Default)]
struct WireState {
    /// Set to end the connection with a TCP RST instead of a FIN.
    abort: AtomicBool,
    /// How many times everything buffered so far was written to the socket.
    flushes: AtomicU64,
    /// Woken at the next flush.
    flush_waker: Mutex<Option<Waker>>,
}

impl WireState {
    fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::SeqCst)
    }

    fn flushed(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        let waker = self
            .flush_waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wake_at_flush(&self, waker: &Waker) {
        *self
            .flush_waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(waker.clone());
    }
}

/// A client connection's socket: it reports flushes to its [`WireState`], and once that
/// is aborted it fails every operation and closes with a TCP RST when dropped.
struct Wire {
    stream: TcpStream,
    state: Arc<WireState>,
}

fn aborted_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection reset by a FaultProxy rule",
    )
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.state.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.state.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        let flushed = ready!(Pin::new(&mut this.stream).poll_flush(cx));
        if flushed.is_ok() {
            this.state.flushed();
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.aborted() {
            return Poll::Ready(Err(aborted_error()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        if self.state.aborted() {
            // Linger 0: close() sends RST and drops whatever is unsent.
            let _ = self.stream.set_zero_linger();
        }
    }
}

fn server_builder() -> server_http1::Builder {
    let mut builder = server_http1::Builder::new();
    builder
        .preserve_header_case(true)
        .auto_date_header(false)
        .header_read_timeout(None);
    builder
}

async fn serve_fault_connection(stream: TcpStream, shared: Arc<Shared>) {
    shared.count_connection();
    let wire = Arc::new(WireState::default());
    let upstream = Upstream::new(shared.upstream);
    let connection = Arc::new(FaultConnection {
        shared,
        wire: Arc::clone(&wire),
        upstream: tokio::sync::Mutex::new(upstream),
    });
    let service = service_fn(move |request| {
        let connection = Arc::clone(&connection);
        async move { connection.handle(request).await }
    });
    let io = TokioIo::new(Wire {
        stream,
        state: wire,
    });
    let connection: Serving = Box::pin(server_builder().serve_connection(io, service));
    // Errors end this connection only (a client that went away, an injected reset).
    let _ = connection.await;
}

/// One client connection and its connection to the upstream.
struct FaultConnection {
    shared: Arc<Shared>,
    wire: Arc<WireState>,
    upstream: tokio::sync::Mutex<Upstream>,
}

impl FaultConnection {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, BoxError> {
        let info = RequestInfo::of(&request);
        let fault = self.shared.admit(&info);
        let request_plan = match fault {
            Some(Fault::FlipRequestByte { at }) => Plan::flip(at),
            _ => Plan::default(),
        };
        let request = request.map(|body| self.tap(body, request_plan, Some(info.path.clone())));
        match fault {
            None => self.pass(request, Plan::default()).await,
            Some(fault) => self.inject(fault, request, &info).await,
        }
    }

    async fn inject(
        &self,
        fault: Fault,
        request: Request<Tap>,
        info: &RequestInfo,
    ) -> Result<Response<ProxyBody>, BoxError> {
        match fault {
            Fault::StatusBefore {
                status,
                retry_after,
            } => {
                if !expects_continue(request.headers()) {
                    drain(request.into_body()).await;
                }
                Ok(self.error_response(status, retry_after, info))
            }
            Fault::StatusAfter { status } => {
                let response = self.forward(request).await?;
                drain(response.into_body()).await;
                Ok(self.error_response(status, None, info))
            }
            Fault::ResetRequestBody { after } => {
                read_at_least(request.into_body(), after).await;
                self.wire.abort();
                Err("FaultProxy: reset while reading the request body".into())
            }
            Fault::ResetResponseBody { after } => {
                self.pass(request, Plan::cut(after, Ending::Reset)).await
            }
            Fault::DelayBefore { duration } => {
                tokio::time::sleep(duration).await;
                self.pass(request, Plan::default()).await
            }
            Fault::StallHead { duration } => {
                let response = self.forward(request).await?;
                tokio::time::sleep(duration).await;
                Ok(self.relay(response, Plan::default()))
            }
            Fault::StallBody { after, duration } => {
                self.pass(request, Plan::pause(after, duration)).await
            }
            Fault::Truncate { keep } => self.pass(request, Plan::cut(keep, Ending::Eof)).await,
            Fault::FlipResponseByte { at } => self.pass(request, Plan::flip(at)).await,
            // The request's tap flips the byte.
            Fault::FlipRequestByte { .. } => self.pass(request, Plan::default()).await,
        }
    }

    /// Forwards `request` and relays the response through `plan`.
    async fn pass(
        &self,
        request: Request<Tap>,
        plan: Plan,
    ) -> Result<Response<ProxyBody>, BoxError> {
        let response = self.forward(request).await?;
        Ok(self.relay(response, plan))
    }

    /// Sends `request` upstream; if that fails, the client's connection is reset, the
    /// nearest a proxy comes to the refused or broken connection it would have seen.
    async fn forward(&self, request: Request<Tap>) -> Result<Response<Incoming>, BoxError> {
        let request = request.map(BodyExt::boxed_unsync);
        let sent = self.upstream.lock().await.send(request).await;
        if sent.is_err() {
            self.wire.abort();
        }
        sent
    }

    fn relay(&self, response: Response<Incoming>, plan: Plan) -> Response<ProxyBody> {
        response.map(|body| self.tap(body, plan, None).boxed_unsync())
    }

    /// A [`Tap`] over `body`: a request body if `request_path` is given, else a response
    /// body.
    fn tap(&self, body: Incoming, plan: Plan, request_path: Option<String>) -> Tap {
        Tap {
            inner: body,
            plan,
            meter: Meter {
                shared: Arc::clone(&self.shared),
                request_path,
            },
            wire: Arc::clone(&self.wire),
            offset: 0,
            held: None,
            hold: Hold::Free,
            paused: false,
            flushes_at_emit: None,
            finished: false,
        }
    }

    /// An Azure-style error response made by the proxy.
    fn error_response(
        &self,
        status: u16,
        retry_after: Option<u64>,
        info: &RequestInfo,
    ) -> Response<ProxyBody> {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = error_code(status);
        let request_id = format!(
            "00000000-0000-0000-0000-{:012x}",
            self.shared.next_request_id()
        );
        let xml = format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code>\
             <Message>Injected by FaultProxy: {status} for {kind}.\nRequestId:{request_id}\
             </Message></Error>",
            kind = info.kind,
        );
        let body = Bytes::from(xml);
        if !info.is_head && status_has_body(status) {
            self.shared.count_response_bytes(body.len() as u64);
        }
        let length = body.len();
        let mut response = Response::new(full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        headers.insert("x-ms-error-code", HeaderValue::from_static(code));
        if let Ok(id) = HeaderValue::try_from(request_id) {
            headers.insert("x-ms-request-id", id);
        }
        if let Some(version) = &info.version {
            headers.insert("x-ms-version", version.clone());
        }
        if let Some(id) = &info.client_request_id {
            headers.insert("x-ms-client-request-id", id.clone());
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The Azure Storage error code for an injected `status`.
fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "InvalidInput",
        403 => "AuthenticationFailed",
        404 => "ResourceNotFound",
        409 => "OperationNotAllowedInCurrentState",
        412 => "ConditionNotMet",
        413 => "RequestBodyTooLarge",
        500 => "InternalError",
        503 => "ServerBusy",
        _ => "InjectedFault",
    }
}

fn status_has_body(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Reads `body` to its end (or first error), discarding it.
async fn drain<B: Body + Unpin>(mut body: B) {
    while let Some(Ok(_)) = body.frame().await {}
}

/// Reads `body` until at least `n` bytes came (or it ended or failed).
async fn read_at_least<B: Body + Unpin>(mut body: B, n: usize) {
    let mut read = 0;
    while read < n {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, Buf::remaining),
            _ => return,
        }
    }
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

// ---------------------------------------------------------------------------------------
// Relaying a body: counting, flipping, pausing, cutting
// ---------------------------------------------------------------------------------------

/// What a [`Tap`] does to the bytes it relays (offsets from the start of the body).
#[derive(Clone, Copy, Debug, Default)]
struct Plan {
    /// Flip the byte at this offset.
    flip: Option<u64>,
    /// Wait this long before the byte at this offset.
    pause: Option<(u64, Duration)>,
    /// End the connection before the byte at this offset.
    cut: Option<(u64, Ending)>,
}

impl Plan {
    fn flip(at: usize) -> Plan {
        Plan {
            flip: Some(at as u64),
            ..Plan::default()
        }
    }

    fn pause(at: usize, duration: Duration) -> Plan {
        Plan {
            pause: Some((at as u64, duration)),
            ..Plan::default()
        }
    }

    fn cut(at: usize, ending: Ending) -> Plan {
        Plan {
            cut: Some((at as u64, ending)),
            ..Plan::default()
        }
    }
}

/// How a cut ends the client's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// TCP RST.
    Reset,
    /// An ordinary close (FIN).
    Eof,
}

/// What a [`Tap`] waits for before it relays more.
enum Hold {
    Free,
    /// A stall.
    Pause(Pin<Box<Sleep>>),
    /// Until what was relayed before a cut was written to the socket (or the deadline).
    Flush {
        since: u64,
        deadline: Pin<Box<Sleep>>,
        ending: Ending,
    },
}

/// Counts the bytes of one body into the [`Stats`].
struct Meter {
    shared: Arc<Shared>,
    /// The URL path, for a request body.
    request_path: Option<String>,
}

impl Meter {
    fn add(&self, n: usize) {
        match &self.request_path {
            Some(path) => self.shared.count_request_bytes(path, n as u64),
            None => self.shared.count_response_bytes(n as u64),
        }
    }
}

/// A body relayed through the proxy (a client's request body going upstream, or an
/// upstream response body going to the client), counted and changed as its [`Plan`] says.
struct Tap {
    inner: Incoming,
    plan: Plan,
    meter: Meter,
    wire: Arc<WireState>,
    /// Bytes relayed so far.
    offset: u64,
    /// Bytes taken from `inner` but not yet relayed.
    held: Option<Bytes>,
    hold: Hold,
    paused: bool,
    /// The wire's flush count when the last bytes were relayed.
    flushes_at_emit: Option<u64>,
    finished: bool,
}

/// One frame of the inner body.
enum Piece {
    Data(Bytes),
    Other(Frame<Bytes>),
}

impl Tap {
    /// Waits out the current [`Hold`]; `Some(ending)` when the body must end there.
    fn poll_hold(&mut self, cx: &mut Context<'_>) -> Poll<Option<Ending>> {
        let outcome = match &mut self.hold {
            Hold::Free => return Poll::Ready(None),
            Hold::Pause(sleep) => {
                ready!(sleep.as_mut().poll(cx));
                None
            }
            Hold::Flush {
                since,
                deadline,
                ending,
            } => {
                let since = *since;
                let ending = *ending;
                if self.wire.flushes() <= since && deadline.as_mut().poll(cx).is_pending() {
                    self.wire.wake_at_flush(cx.waker());
                    if self.wire.flushes() <= since {
                        return Poll::Pending;
                    }
                }
                Some(ending)
            }
        };
        self.hold = Hold::Free;
        Poll::Ready(outcome)
    }

    fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Piece, BoxError>>> {
        if let Some(held) = self.held.take() {
            return Poll::Ready(Some(Ok(Piece::Data(held))));
        }
        let piece = match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            None => None,
            Some(Err(e)) => Some(Err(e.into())),
            Some(Ok(frame)) => Some(Ok(match frame.into_data() {
                Ok(data) => Piece::Data(data),
                Err(frame) => Piece::Other(frame),
            })),
        };
        Poll::Ready(piece)
    }

    /// The hold to start before relaying more at the current offset, if any.
    fn hold_here(&mut self) -> Option<Hold> {
        if let Some((at, ending)) = self.plan.cut
            && self.offset >= at
        {
            return Some(Hold::Flush {
                since: self.flushes_at_emit.unwrap_or(0),
                deadline: Box::pin(tokio::time::sleep(FLUSH_WAIT)),
                ending,
            });
        }
        if let Some((at, duration)) = self.plan.pause
            && !self.paused
            && self.offset >= at
        {
            self.paused = true;
            return Some(Hold::Pause(Box::pin(tokio::time::sleep(duration))));
        }
        None
    }

    /// The next offset where the plan does something, beyond the current one.
    fn next_stop(&self) -> Option<u64> {
        let cut = self.plan.cut.map(|(at, _)| at);
        let pause = self.plan.pause.filter(|_| !self.paused).map(|(at, _)| at);
        [cut, pause]
            .into_iter()
            .flatten()
            .filter(|&at| at > self.offset)
            .min()
    }

    /// Relays (the part up to the next stop of) `data`, holding back the rest.
    fn emit(&mut self, mut data: Bytes) -> Bytes {
        if let Some(stop) = self.next_stop() {
            let room = usize::try_from(stop - self.offset).unwrap_or(usize::MAX);
            if data.len() > room {
                self.held = Some(data.split_off(room));
            }
        }
        let len = data.len() as u64;
        if let Some(at) = self.plan.flip
            && (self.offset..self.offset + len).contains(&at)
        {
            let mut bytes = data.to_vec();
            let i = usize::try_from(at - self.offset).unwrap_or(0);
            bytes[i] ^= 0xff;
            data = Bytes::from(bytes);
        }
        self.offset += len;
        self.meter.add(data.len());
        self.flushes_at_emit = Some(self.wire.flushes());
        data
    }

    fn end(&mut self, ending: Ending) -> BoxError {
        self.finished = true;
        match ending {
            Ending::Reset => {
                self.wire.abort();
                "FaultProxy: connection reset in the response body".into()
            }
            Ending::Eof => "FaultProxy: response body truncated".into(),
        }
    }
}

impl Body for Tap {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        // The head (if any) is buffered before the body's first poll.
        if this.flushes_at_emit.is_none() {
            this.flushes_at_emit = Some(this.wire.flushes());
        }
        loop {
            if let Some(ending) = ready!(this.poll_hold(cx)) {
                return Poll::Ready(Some(Err(this.end(ending))));
            }
            let data = match ready!(this.poll_piece(cx)) {
                None => {
                    this.finished = true;
                    return Poll::Ready(None);
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(Piece::Other(frame))) => return Poll::Ready(Some(Ok(frame))),
                Some(Ok(Piece::Data(data))) => data,
            };
            if data.is_empty() {
                continue;
            }
            if let Some(hold) = this.hold_here() {
                this.held = Some(data);
                this.hold = hold;
                continue;
            }
            return Poll::Ready(Some(Ok(Frame::data(this.emit(data)))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
            || (self.held.is_none()
                && matches!(self.hold, Hold::Free)
                && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.held.as_ref().map_or(0, |h| h.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(held));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}

// ---------------------------------------------------------------------------------------
// Upstream connections
// ---------------------------------------------------------------------------------------

/// One HTTP/1.1 connection to an upstream on 127.0.0.1, opened on first use and again
/// whenever the upstream closed it.
struct Upstream {
    addr: SocketAddr,
    sender: Option<client_http1::SendRequest<ProxyBody>>,
}

impl Upstream {
    fn new(addr: SocketAddr) -> Upstream {
        Upstream { addr, sender: None }
    }

    /// Sends `request`; a request that the connection gave back unsent (it had just
    /// closed) is sent once more on a new connection.
    async fn send(&mut self, request: Request<ProxyBody>) -> Result<Response<Incoming>, BoxError> {
        let mut request = request;
        let mut retried = false;
        loop {
            let sender = self.ready_sender().await?;
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(response),
                Err(mut e) => {
                    self.sender = None;
                    match e.take_message() {
                        Some(unsent) if !retried => {
                            retried = true;
                            request = unsent;
                        }
                        _ => return Err(e.into_error().into()),
                    }
                }
            }
        }
    }

    async fn ready_sender(
        &mut self,
    ) -> Result<&mut client_http1::SendRequest<ProxyBody>, BoxError> {
        let usable = match self.sender.as_mut() {
            Some(sender) => !sender.is_closed() && sender.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            self.sender = Some(connect_upstream(self.addr).await?);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| "no upstream connection".into())
    }
}

async fn connect_upstream(
    addr: SocketAddr,
) -> Result<client_http1::SendRequest<ProxyBody>, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = client_http1::Builder::new()
        .preserve_header_case(true)
        .handshake(TokioIo::new(stream))
        .await?;
    tokio::spawn(async move {
        // Ends when the upstream closes or the sender is dropped; errors concern only
        // the request in flight, which sees them.
        let _ = connection.await;
    });
    Ok(sender)
}

// ---------------------------------------------------------------------------------------
// The forward proxy
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct ForwardCounts {
    connects: AtomicUsize,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
}

async fn serve_forward_connection(stream: TcpStream, counts: Arc<ForwardCounts>) {
    let connection = Arc::new(ForwardConnection {
        counts,
        upstream: tokio::sync::Mutex::new(None),
    });
    let service = service_fn(move |request| {
        let connection = Arc::clone(&connection);
        async move { connection.handle(request).await }
    });
    let connection: Serving = Box::pin(
        server_builder()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades(),
    );
    let _ = connection.await;
}

/// One client connection of the forward proxy, with its connection to the last target.
struct ForwardConnection {
    counts: Arc<ForwardCounts>,
    upstream: tokio::sync::Mutex<Option<Upstream>>,
}

impl ForwardConnection {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, BoxError> {
        if request.method() == Method::CONNECT {
            return Ok(self.tunnel(request).await);
        }
        if request.uri().authority().is_none() {
            return Ok(self.refuse(StatusCode::BAD_REQUEST, "not a proxy request\n"));
        }
        Ok(self.forward(request).await)
    }

    fn refuse(&self, status: StatusCode, text: &'static str) -> Response<ProxyBody> {
        self.counts.refused.fetch_add(1, Ordering::SeqCst);
        plain(status, text)
    }

    /// Answers a CONNECT: 200, then the connection carries bytes both ways.
    async fn tunnel(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let Some(addr) = loopback_target(request.uri().authority(), 443) else {
            return self.refuse(StatusCode::FORBIDDEN, "only 127.0.0.1 is allowed\n");
        };
        let target = match TcpStream::connect(addr).await {
            Ok(target) => target,
            Err(_) => return plain(StatusCode::BAD_GATEWAY, "cannot connect\n"),
        };
        self.counts.connects.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(request).await {
                let mut client = TokioIo::new(upgraded);
                let mut target = target;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
            }
        });
        Response::new(empty())
    }

    /// Forwards an absolute-form request to its 127.0.0.1 target in origin form.
    async fn forward(&self, mut request: Request<Incoming>) -> Response<ProxyBody> {
        let uri = request.uri().clone();
        let target = match uri.scheme_str() {
            Some("http") => loopback_target(uri.authority(), 80),
            _ => None,
        };
        let Some(addr) = target else {
            return self.refuse(StatusCode::FORBIDDEN, "only http://127.0.0.1 is allowed\n");
        };
        *request.uri_mut() = origin_form(&uri);
        let headers = request.headers_mut();
        headers.remove("proxy-connection");
        headers.remove(header::PROXY_AUTHORIZATION);
        if let Some(authority) = uri.authority()
            && !headers.contains_key(header::HOST)
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            headers.insert(header::HOST, host);
        }
        self.counts.forwarded.fetch_add(1, Ordering::SeqCst);
        let mut upstream = self.upstream.lock().await;
        let connection = match upstream.as_mut() {
            Some(existing) if existing.addr == addr => existing,
            _ => upstream.insert(Upstream::new(addr)),
        };
        let request = request.map(|body| body.map_err(BoxError::from).boxed_unsync());
        match connection.send(request).await {
            Ok(response) => response.map(|body| body.map_err(BoxError::from).boxed_unsync()),
            Err(_) => plain(StatusCode::BAD_GATEWAY, "upstream unreachable\n"),
        }
    }
}

/// The address of `authority` if its host is 127.0.0.1.
fn loopback_target(authority: Option<&Authority>, default_port: u16) -> Option<SocketAddr> {
    let authority = authority?;
    (authority.host() == "127.0.0.1").then(|| {
        let port = authority.port_u16().unwrap_or(default_port);
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    })
}

/// `/path?query` of an absolute URI.
fn origin_form(uri: &Uri) -> Uri {
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    Uri::from(path)
}

fn plain(status: StatusCode, text: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    response
}
