//! Turning Azure errors into endpoint errors: the class decides the exit code and whether
//! a retry helps; the message names the URL (SAS redacted) and the service's reason.

use azure_core::http::StatusCode;

use super::location::redact;
use crate::endpoint::{EndpointError, ErrorClass};

/// The class of an Azure error.
pub(super) fn classify(e: &azure_core::Error) -> ErrorClass {
    match e.http_status() {
        Some(StatusCode::Unauthorized) | Some(StatusCode::Forbidden) => ErrorClass::Auth,
        Some(StatusCode::NotFound) => ErrorClass::NotFound,
        Some(StatusCode::PreconditionFailed) => ErrorClass::Changed,
        _ if matches!(e.kind(), azure_core::error::ErrorKind::Credential) => ErrorClass::Auth,
        _ => ErrorClass::Other,
    }
}

/// `what target: description` as an endpoint error.
pub(super) fn azure_error(what: &str, target: &str, e: azure_core::Error) -> EndpointError {
    let class = classify(&e);
    let detail = describe_error(&e);
    EndpointError::caused(class, what, target, &detail, e)
}

/// A one-line description of an Azure error: status, the service's error code and
/// message, or the transport's cause.
pub(super) fn describe_error(e: &azure_core::Error) -> String {
    use azure_core::error::ErrorKind;
    let text = match e.kind() {
        ErrorKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let mut text = format!("HTTP {}", u16::from(*status));
            if let Some(code) = error_code {
                text.push(' ');
                text.push_str(code);
            }
            let body = raw_response
                .as_ref()
                .map(|r| String::from_utf8_lossy(r.body()).to_string());
            if let Some(message) = body.as_deref().and_then(service_message) {
                text.push_str(" — ");
                text.push_str(&message);
            }
            text
        }
        _ => {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let next = s.to_string();
                if !cause.contains(&next) {
                    cause.push_str(": ");
                    cause.push_str(&next);
                }
                source = s.source();
            }
            cause
        }
    };
    redact(&text)
}

/// The first line of the `<Message>` in a Blob service error body.
fn service_message(body: &str) -> Option<String> {
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    body[start..end]
        .lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// The service's error code (`BlobArchived`, `ConditionNotMet`…), if the error has one.
pub(super) fn error_code(e: &azure_core::Error) -> Option<&str> {
    match e.kind() {
        azure_core::error::ErrorKind::HttpResponse { error_code, .. } => error_code.as_deref(),
        _ => None,
    }
}
