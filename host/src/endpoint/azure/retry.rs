//! How requests to Blob Storage are retried and timed out — configured here, in one place,
//! rather than left to azure_core's defaults.
//!
//! - **What is retried**: connection and I/O failures (resets, refused connections, a try
//!   that timed out or stalled) and the statuses in [`RetrySettings::status_codes`] (408,
//!   429, 500, 502, 503, 504 by default), for every request: listing pages, block and blob
//!   uploads, commits, deletes. Download bodies are retried by the reader, range by range.
//! - **How long to wait**: exponential backoff from 0.5 s, doubling up to 16 s, with
//!   jitter; a `Retry-After` (or `x-ms-retry-after-ms`) the service sends is honoured when
//!   longer.
//! - **How often**: up to `--max-retries` retries per request (default 10), whatever the
//!   time.
//! - **Timeouts**: a try may take `--try-timeout` (default 60 s) plus the time to send its
//!   body at [`Timeouts::min_rate`]; a connection that moves no byte for `--stall-timeout`
//!   (default 30 s) is abandoned. Either failure is retried like a reset.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use azure_core::http::headers::HeaderName;
use azure_core::http::policies::{Policy, PolicyResult, RetryHeaders, RetryPolicy};
use azure_core::http::{Context, Request, StatusCode};

/// The retry budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySettings {
    /// Retries of one request after its first try.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it.
    pub initial_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Response statuses that are retried.
    pub status_codes: Vec<u16>,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 10,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
            status_codes: vec![408, 429, 500, 502, 503, 504],
        }
    }
}

impl RetrySettings {
    /// The backoff before retry `n` (1-based): exponential with full jitter.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << n.saturating_sub(1).min(16))
            .min(self.max_delay);
        // Full jitter between half the step and the whole step: retries from many
        // transfers spread out instead of arriving together.
        let jitter = rand_fraction();
        exp.mul_f64(0.5 + 0.5 * jitter)
    }
}

/// A cheap random fraction in [0, 1) (backoff jitter needs no cryptographic quality).
fn rand_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Per-try time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// What a try may take besides sending its body.
    pub try_timeout: Duration,
    /// The slowest upload rate tolerated, in bytes per second: a try with a body gets its
    /// size at this rate on top of `try_timeout`.
    pub min_rate: u64,
    /// No byte moved on a connection for this long abandons the try.
    pub stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            try_timeout: Duration::from_secs(60),
            min_rate: 256 << 10,
            stall: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// The time one try with a body of `bytes` may take.
    pub fn for_body(&self, bytes: u64) -> Duration {
        self.try_timeout + Duration::from_secs_f64(bytes as f64 / self.min_rate.max(1) as f64)
    }
}

/// Retries made so far, across every client of a session.
#[derive(Debug, Default)]
pub struct RetryCounter(AtomicU64);

impl RetryCounter {
    /// Counts one retry.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Retries so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The retry policy of every Blob Storage client.
#[derive(Debug)]
pub(crate) struct Retry {
    settings: RetrySettings,
    codes: Vec<StatusCode>,
    headers: RetryHeaders,
    counter: Arc<RetryCounter>,
}

impl Retry {
    pub(crate) fn new(settings: RetrySettings, counter: Arc<RetryCounter>) -> Retry {
        let codes = settings
            .status_codes
            .iter()
            .map(|c| StatusCode::from(*c))
            .collect();
        Retry {
            settings,
            codes,
            headers: RetryHeaders {
                retry_headers: vec![
                    HeaderName::from_static("x-ms-retry-after-ms"),
                    HeaderName::from_static("retry-after-ms"),
                    azure_core::http::headers::RETRY_AFTER,
                ],
            },
            counter,
        }
    }
}

#[async_trait::async_trait]
impl RetryPolicy for Retry {
    fn is_expired(&self, _since_start: azure_core::time::Duration, retry_count: u32) -> bool {
        retry_count >= self.settings.max_retries
    }

    fn retry_headers(&self) -> Option<&RetryHeaders> {
        Some(&self.headers)
    }

    fn retry_status_codes(&self) -> &[StatusCode] {
        // An empty list would mean azure_core's defaults; a user who retries no status
        // gets a code no response has.
        if self.codes.is_empty() {
            const NONE: &[StatusCode] = &[StatusCode::Continue];
            NONE
        } else {
            &self.codes
        }
    }

    fn sleep_duration(&self, retry_count: u32) -> azure_core::time::Duration {
        azure_core::time::Duration::try_from(self.settings.backoff(retry_count))
            .unwrap_or(azure_core::time::Duration::ZERO)
    }

    async fn wait(&self, retry_count: u32, retry_after: Option<azure_core::time::Duration>) {
        self.counter.add();
        let backoff = self.settings.backoff(retry_count);
        let hinted = retry_after
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or_default();
        tracing::debug!(
            "retry {retry_count} in {:?}",
            backoff.max(hinted).min(Duration::from_secs(300))
        );
        tokio::time::sleep(backoff.max(hinted).min(Duration::from_secs(300))).await;
    }
}

/// Bounds each try: its size at the minimum rate plus the try timeout. A try that runs
/// out is a transport error, which the retry policy retries.
#[derive(Debug)]
pub(crate) struct TryTimeout(pub(crate) Timeouts);

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait is declared with an elided lifetime
impl Policy for TryTimeout {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        // A server-side copy's body is empty, but the service reads the source range.
        let bytes = request
            .body()
            .len()
            .unwrap_or(0)
            .max(source_range_len(request));
        let limit = self.0.for_body(bytes);
        match tokio::time::timeout(limit, next[0].send(ctx, request, &next[1..])).await {
            // The service refused data that did not match its checksum (damaged on the
            // way): a transport failure, retried like one.
            Ok(Ok(response)) if response.status() == StatusCode::BadRequest => {
                let code = response
                    .headers()
                    .get_optional_str(&HeaderName::from_static("x-ms-error-code"))
                    .unwrap_or_default();
                if matches!(code, "Md5Mismatch" | "Crc64Mismatch") {
                    Err(azure_core::Error::with_message(
                        azure_core::error::ErrorKind::Io,
                        format!(
                            "the service received data that does not match its checksum \
                             ({code}: damaged on the way); retrying"
                        ),
                    ))
                } else {
                    Ok(response)
                }
            }
            // A server-side copy the service cannot make: not retried, so that the copy
            // goes through blobsync instead (see [`copy_not_retried`]).
            Ok(Ok(response)) if response.status().is_server_error() => {
                let status = response.status();
                let code = response
                    .headers()
                    .get_optional_str(&HeaderName::from_static("x-ms-error-code"))
                    .map(str::to_string);
                match copy_not_retried(request, status, code.as_deref()) {
                    Some(message) => {
                        let raw = response.try_into_raw_response().await?;
                        Err(azure_core::Error::with_message(
                            azure_core::error::ErrorKind::HttpResponse {
                                status,
                                error_code: code,
                                raw_response: Some(Box::new(raw)),
                            },
                            message,
                        ))
                    }
                    None => Ok(response),
                }
            }
            Ok(result) => result,
            Err(_) => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Io,
                format!(
                    "no answer within {} s (the try timeout); retrying",
                    limit.as_secs()
                ),
            )),
        }
    }
}

/// Why a server error is not retried, when it answers a server-side copy the service
/// cannot make: it could not read the source (`CannotVerifyCopySource`, a 500 when
/// reading it timed out), or it answered a copy from a URL with no storage error code
/// (the service always names its own errors; the emulator answers so under an account
/// SAS) — retrying will not change either.
fn copy_not_retried(request: &Request, status: StatusCode, code: Option<&str>) -> Option<String> {
    match code {
        Some("CannotVerifyCopySource") => Some("the service cannot read the copy source".into()),
        None if is_copy_from_url(request) => Some(format!(
            "the service answered a copy from a URL with HTTP {} and no error code: it does \
             not make this kind of copy",
            u16::from(status)
        )),
        _ => None,
    }
}

/// Whether the service is to read a source URL itself (Put Block From URL, Copy Blob
/// From URL).
fn is_copy_from_url(request: &Request) -> bool {
    request
        .headers()
        .get_optional_str(&HeaderName::from_static("x-ms-copy-source"))
        .is_some()
}

/// The length of a Put Block From URL's `x-ms-source-range: bytes=A-B` (0 without one).
fn source_range_len(request: &Request) -> u64 {
    request
        .headers()
        .get_optional_str(&HeaderName::from_static("x-ms-source-range"))
        .and_then(|r| r.trim().strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
            b.checked_sub(a)?.checked_add(1)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let s = RetrySettings::default();
        for n in 1..20 {
            let step = (s.initial_delay * 2u32.pow((n - 1).min(16))).min(s.max_delay);
            let d = s.backoff(n);
            assert!(d >= step / 2 && d <= step, "retry {n}: {d:?} vs {step:?}");
        }
    }

    #[test]
    fn a_try_with_a_body_gets_time_for_it() {
        let t = Timeouts::default();
        assert_eq!(t.for_body(0), Duration::from_secs(60));
        assert_eq!(t.for_body(8 << 20), Duration::from_secs(60 + 32));
    }

    #[test]
    fn a_server_side_copy_gets_time_for_the_range_the_service_reads() {
        let url = azure_core::http::Url::parse("http://127.0.0.1:1/a/c/b?comp=block").unwrap();
        let mut request = Request::new(url, azure_core::http::Method::Put);
        assert_eq!(source_range_len(&request), 0);
        request.insert_header("x-ms-source-range", "bytes=8388608-16777215");
        assert_eq!(source_range_len(&request), 8 << 20);
        request.insert_header("x-ms-source-range", "bytes=9-3");
        assert_eq!(source_range_len(&request), 0);
    }
}
