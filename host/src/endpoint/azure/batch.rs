//! Deletes in batches: up to 256 Delete Blob sub-requests in one Blob Batch request (a
//! `POST ?restype=container&comp=batch`), each signed as it would be on its own (Shared
//! Key), carrying the same token, or the URL's SAS, and conditional on its listed ETag.
//!
//! A batch the service does not take as a whole (a SAS without the scope, an emulator
//! that has no batches, an outer failure) turns batches off for the session: the caller
//! deletes one by one. A sub-request that fails is deleted again on its own, where the
//! single delete's rules apply (a precondition failure told apart from a blob already
//! gone, snapshots, retries).

use std::sync::atomic::Ordering;

use azure_core::http::{Context, Method, Request, StatusCode};

use super::auth::{Auth, STORAGE_SCOPE};
use super::batch_wire::{self, Answer, SubRequest};
use super::shared_key::string_to_sign;
use super::{AzureEndpoint, SnapshotPolicy};
use crate::endpoint::DeleteTarget;

/// The most sub-requests in one batch.
pub(crate) const MAX_BATCH: usize = 256;

/// Deletes sent at once where a batch was not taken, or a sub-request failed.
const SINGLE_DELETES_IN_FLIGHT: usize = 16;

/// Why a batch was not taken.
pub(super) enum Refused {
    /// It may be taken another time (a server error, a lost connection).
    Transient(String),
    /// It will not be (the service or the credentials do not allow batches).
    Always(String),
}

impl AzureEndpoint {
    /// Whether deletes may go in batches (until one is refused).
    pub(super) fn batches(&self) -> bool {
        self.batches.load(Ordering::Relaxed) && !matches!(self.auth, Auth::Anonymous)
    }

    /// Deletes `targets` in one batch: each one's answer, in order. `None` when the batch
    /// was not taken; one the service refuses (rather than fails) turns batches off for
    /// the session.
    pub(super) async fn delete_in_batch(&self, targets: &[DeleteTarget]) -> Option<Vec<Answer>> {
        self.taken(self.send_batch(targets).await)
    }

    /// A batch's answers; `None` when it was not taken (batches are then off for the
    /// session if the service refused it rather than failed).
    pub(super) fn taken(&self, result: Result<Vec<Answer>, Refused>) -> Option<Vec<Answer>> {
        match result {
            Ok(answers) => Some(answers),
            Err(Refused::Transient(why)) => {
                tracing::debug!("a batch failed ({why}); its requests go one by one");
                None
            }
            Err(Refused::Always(why)) => {
                tracing::debug!("requests go one by one from now on: a batch was refused ({why})");
                self.batches.store(false, Ordering::Relaxed);
                None
            }
        }
    }

    /// The token each sub-request carries, with Entra ID.
    pub(super) async fn bearer(&self) -> Result<Option<String>, Refused> {
        match &self.auth {
            Auth::Token { credential, .. } => Ok(Some(
                credential
                    .get_token(&[STORAGE_SCOPE], None)
                    .await
                    .map_err(|e| Refused::Transient(format!("no token: {e}")))?
                    .token
                    .secret()
                    .to_string(),
            )),
            _ => Ok(None),
        }
    }

    async fn send_batch(&self, targets: &[DeleteTarget]) -> Result<Vec<Answer>, Refused> {
        let bearer = self.bearer().await?;
        let date = azure_core::time::to_rfc7231(&azure_core::time::OffsetDateTime::now_utc());
        let requests = targets
            .iter()
            .map(|t| self.delete_request(t, &date, bearer.as_deref()))
            .collect::<Result<Vec<_>, String>>()
            .map_err(Refused::Always)?;
        self.send(requests).await
    }

    /// Sends `requests` as one batch: each one's answer, in order.
    pub(super) async fn send(&self, requests: Vec<SubRequest>) -> Result<Vec<Answer>, Refused> {
        let count = requests.len();
        let boundary = format!("batch_{}", uuid::Uuid::new_v4());
        let mut url = self.location.container_url();
        url.query_pairs_mut()
            .append_pair("restype", "container")
            .append_pair("comp", "batch");
        let mut request = Request::new(url, Method::Post);
        request.insert_header("x-ms-version", super::transport::API_VERSION);
        request.insert_header(
            "content-type",
            format!("multipart/mixed; boundary={boundary}"),
        );
        request.set_body(batch_wire::body(&boundary, &requests));
        let response = match self
            .batch_pipeline
            .send(&Context::new(), &mut request, None)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                let why = super::errors::describe_error(&e);
                return Err(match e.http_status() {
                    Some(s) if s.is_client_error() => Refused::Always(why),
                    _ => Refused::Transient(why),
                });
            }
        };
        let (status, headers, body) = response.deconstruct();
        if status.is_client_error() {
            return Err(Refused::Always(format!("the service answered {status}")));
        }
        if status != StatusCode::Accepted {
            return Err(Refused::Transient(format!("the service answered {status}")));
        }
        let content_type = headers
            .get_optional_str(&azure_core::http::headers::CONTENT_TYPE)
            .unwrap_or_default();
        batch_wire::answers(content_type, body.as_ref(), count)
            .ok_or_else(|| Refused::Always("the batch was refused as a whole".into()))
    }

    /// Deletes `targets`: in one batch where it is taken, else one by one; a sub-request
    /// that failed is deleted again on its own, where the single delete's rules decide.
    pub(super) async fn delete_all(
        &self,
        targets: &[DeleteTarget],
    ) -> Vec<Result<(), crate::endpoint::EndpointError>> {
        use futures::StreamExt;
        let answers = match targets.len() > 1 && self.batches() {
            true => self.delete_in_batch(targets).await,
            false => None,
        };
        let answers = &answers;
        let one_by_one = |i: usize| async move {
            let done = answers
                .as_ref()
                .is_some_and(|a| a[i].status == 202 || a[i].status == 404);
            if done {
                Ok(())
            } else {
                crate::endpoint::Endpoint::delete(self, &targets[i]).await
            }
        };
        futures::stream::iter(0..targets.len())
            .map(one_by_one)
            .buffered(SINGLE_DELETES_IN_FLIGHT)
            .collect()
            .await
    }

    /// The sub-request deleting `target`, as a single delete would send it.
    fn delete_request(
        &self,
        target: &DeleteTarget,
        date: &str,
        bearer: Option<&str>,
    ) -> Result<SubRequest, String> {
        let mut headers: Vec<(String, String)> = Vec::new();
        match self.snapshots {
            SnapshotPolicy::Include => {
                headers.push(("x-ms-delete-snapshots".into(), "include".into()))
            }
            SnapshotPolicy::Only => headers.push(("x-ms-delete-snapshots".into(), "only".into())),
            SnapshotPolicy::Fail => {}
        }
        if let Some(etag) = &target.version.etag {
            headers.push(("If-Match".into(), etag.to_string()));
        }
        let name = self
            .location
            .blob_name_as(&target.path, target.version.listed_as.as_deref());
        self.sub_request(Method::Delete, &name, None, headers, date, bearer)
    }

    /// A sub-request on the blob `name` (`query` added to its URL), with `headers`, dated
    /// and authorised as a request on its own would be.
    pub(super) fn sub_request(
        &self,
        method: Method,
        name: &str,
        query: Option<(&str, &str)>,
        extra: Vec<(String, String)>,
        date: &str,
        bearer: Option<&str>,
    ) -> Result<SubRequest, String> {
        let mut url = self.container.blob_client(name).url().clone();
        if let Some((key, value)) = query {
            url.query_pairs_mut().append_pair(key, value);
        }
        let mut headers: Vec<(String, String)> = vec![("x-ms-date".into(), date.into())];
        headers.extend(extra);
        match (&self.auth, bearer) {
            (Auth::SharedKey { account, key, .. }, _) => {
                let mut signed = Request::new(url.clone(), method);
                for (name, value) in &headers {
                    signed.insert_header(name.to_ascii_lowercase(), value.clone());
                }
                let to_sign = string_to_sign(&signed, account);
                let signature = azure_core::hmac::hmac_sha256(&to_sign, key)
                    .map_err(|e| format!("cannot sign: {e}"))?;
                headers.push((
                    "Authorization".into(),
                    format!("SharedKey {account}:{signature}"),
                ));
            }
            (_, Some(token)) => headers.push(("Authorization".into(), format!("Bearer {token}"))),
            // A SAS is in the URL's query, which the request line keeps.
            _ => {}
        }
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        Ok(SubRequest {
            method,
            target,
            headers,
        })
    }
}
