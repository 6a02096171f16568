//! The HTTP transport and client options shared by every Azure client of a session.

use std::sync::Arc;
use std::time::Duration;

use azure_core::http::Transport;

use super::errors::describe_error;
use super::retry::{Retry, RetryCounter, RetrySettings, Timeouts, TryTimeout};
use crate::endpoint::{EndpointError, ErrorClass};

/// HTTP settings shared by every client of a session.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Requests that may be in flight at once (sizes the connection pool).
    pub concurrency: usize,
    /// How requests are retried.
    pub retry: RetrySettings,
    /// How long a try may take.
    pub timeouts: Timeouts,
}

/// The HTTP client every Blob Storage client of a session is built on, with the retry
/// policy and timeouts, and the count of retries made.
#[derive(Debug, Clone)]
pub struct Http {
    pub(crate) transport: Transport,
    pub(crate) settings: HttpSettings,
    pub(crate) retries: Arc<RetryCounter>,
}

impl Http {
    /// Retries made so far by every client built on this.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }
}

/// Builds the HTTP client: reqwest on rustls with *ring*, no automatic decompression
/// (ranged downloads must see the stored bytes), the stall timeout on every read, and
/// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` honoured.
pub fn transport(settings: &HttpSettings) -> Result<Http, EndpointError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency.max(8) * 2)
        .tcp_nodelay(true)
        .connect_timeout(settings.timeouts.stall.min(Duration::from_secs(30)))
        .read_timeout(settings.timeouts.stall);
    // Certificates to trust besides the system's (a TLS-inspecting proxy, a private
    // cloud, the emulator over HTTPS), by the usual variable.
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        let path = std::path::PathBuf::from(&file);
        let fail = |why: String| {
            EndpointError::new(
                ErrorClass::Usage,
                format!("SSL_CERT_FILE {}: {why}", path.display()),
            )
            .at(path.display())
        };
        let pem = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no PEM certificates in it".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .build()
        .map_err(|e| EndpointError::with_source(ErrorClass::Other, "cannot set up", "HTTP", e))?;
    Ok(Http {
        transport: Transport::new(Arc::new(client)),
        settings: settings.clone(),
        retries: Arc::default(),
    })
}

/// Client options for every pipeline of a session (blob clients and token credentials):
/// our transport, our retry policy and try timeout, and certificate and name-resolution
/// failures reported at once instead of being retried as if they were transient.
pub fn client_options(http: &Http) -> azure_core::http::ClientOptions {
    azure_core::http::ClientOptions {
        transport: Some(http.transport.clone()),
        retry: azure_core::http::RetryOptions::custom(Arc::new(Retry::new(
            http.settings.retry.clone(),
            http.retries.clone(),
        ))),
        per_try_policies: vec![
            Arc::new(PermanentTransportErrors),
            Arc::new(TryTimeout(http.settings.timeouts)),
        ],
        ..Default::default()
    }
}

/// Turns transport errors that a retry cannot fix (an untrusted certificate, an unknown
/// host) into non-transport errors, which the retry policy does not retry.
#[derive(Debug)]
struct PermanentTransportErrors;

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait is declared with an elided lifetime
impl azure_core::http::policies::Policy for PermanentTransportErrors {
    async fn send(
        &self,
        ctx: &azure_core::http::Context,
        request: &mut azure_core::http::Request,
        next: &[Arc<dyn azure_core::http::policies::Policy>],
    ) -> azure_core::http::policies::PolicyResult {
        use azure_core::error::ErrorKind;
        let result = next[0].send(ctx, request, &next[1..]).await;
        match result {
            Err(e) if matches!(e.kind(), ErrorKind::Io | ErrorKind::Connection) => {
                let text = describe_error(&e).to_ascii_lowercase();
                let permanent = [
                    "certificate",
                    "dns error",
                    "failed to lookup address",
                    "name or service not known",
                ]
                .iter()
                .any(|needle| text.contains(needle));
                if permanent {
                    let hint = if text.contains("certificate") {
                        " (if the server uses a private CA, point SSL_CERT_FILE at its certificate)"
                    } else {
                        " (check the account name in the URL)"
                    };
                    Err(azure_core::Error::with_message(
                        ErrorKind::Other,
                        format!("{}{hint}", describe_error(&e)),
                    ))
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }
}

/// The API version of the requests the blob clients have no call for (the clients' own).
pub(super) const API_VERSION: &str = "2026-04-06";

/// The pipelines for the requests the blob clients have no call for, with the session's
/// policies (`options`, and a bearer token where there is a credential): one for the
/// delimiter listing, and one that tries once, for batches (where a batch fails, its
/// entries are sent one by one, each with its retries).
pub(super) fn raw_pipelines(
    options: &azure_core::http::ClientOptions,
    credential: Option<&Arc<dyn azure_core::credentials::TokenCredential>>,
) -> (azure_core::http::Pipeline, azure_core::http::Pipeline) {
    let mut per_try: Vec<Arc<dyn azure_core::http::policies::Policy>> = Vec::new();
    if let Some(credential) = credential {
        per_try.push(Arc::new(
            azure_core::http::policies::auth::BearerTokenAuthorizationPolicy::new(
                credential.clone(),
                vec![super::auth::STORAGE_SCOPE],
            ),
        ));
    }
    let pipeline = |options: azure_core::http::ClientOptions| {
        azure_core::http::Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options,
            Vec::new(),
            per_try.clone(),
            None,
        )
    };
    let mut once = options.clone();
    once.retry = azure_core::http::RetryOptions::none();
    (pipeline(options.clone()), pipeline(once))
}
