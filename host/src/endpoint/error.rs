//! Endpoint failures: what happened, to which path or URL (SAS redacted), and why.

use std::fmt;
use std::sync::Arc;

/// The class of an endpoint failure; it decides the exit code and whether a retry helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The credentials were refused or lack a permission (exit code 3).
    Auth,
    /// The thing does not exist.
    NotFound,
    /// The entry changed since it was listed (or while it was read).
    Changed,
    /// A problem the user must fix (a bad path, a name collision).
    Usage,
    /// The data read does not match its stored checksum (a blob's Content-MD5).
    Corrupt,
    /// A server-side copy the destination's service cannot make: it cannot reach or read
    /// the source (another emulator instance, a network rule, a source authorisation it
    /// does not accept). The copy goes through the client instead.
    ServerCopyUnavailable,
    /// A symbolic link in the way at the destination (a folder of the path, or the entry
    /// itself): nothing is done through it, and the item is reported as skipped.
    Link,
    /// The destination holds the entry under another name it does not tell apart (a
    /// case-insensitive folder's `A.txt` for `a.txt`): the item is reported as not
    /// syncable, and nothing is overwritten.
    Collision,
    /// Anything else (I/O, network, service errors).
    Other,
}

/// A failure at an endpoint.
#[derive(Clone)]
pub struct EndpointError {
    class: ErrorClass,
    /// The path or URL it is about (SAS redacted); empty when it is about the endpoint.
    target: String,
    /// The whole message shown to the user (redacted).
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl EndpointError {
    /// A failure described by `message`, which should name what it is about.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        EndpointError {
            class,
            target: String::new(),
            message: super::azure::redact(&message.into()),
            source: None,
        }
    }

    /// `what target: source` — e.g. "cannot read /data/x: permission denied".
    pub fn with_source(
        class: ErrorClass,
        what: &str,
        target: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let detail = source.to_string();
        Self::caused(class, what, target, &detail, source)
    }

    /// `what target: detail`, keeping `source` as the cause.
    pub fn caused(
        class: ErrorClass,
        what: &str,
        target: impl fmt::Display,
        detail: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let target = super::azure::redact(&target.to_string());
        EndpointError {
            class,
            message: super::azure::redact(&format!("{what} {target}: {detail}")),
            target,
            source: Some(Arc::new(source)),
        }
    }

    /// An I/O failure on a local path; a missing file is [`ErrorClass::NotFound`].
    pub fn io(what: &str, path: &std::path::Path, error: std::io::Error) -> Self {
        let class = match error.kind() {
            std::io::ErrorKind::NotFound => ErrorClass::NotFound,
            _ => ErrorClass::Other,
        };
        Self::with_source(class, what, path.display(), error)
    }

    /// A [`crate::localfs::Refused`] as an error about the entry at `path`: a link in the
    /// way is [`ErrorClass::Link`], a file in the way [`ErrorClass::Usage`].
    pub fn refused(
        what: &str,
        root: &std::path::Path,
        path: &str,
        refused: crate::localfs::Refused,
    ) -> Self {
        use crate::localfs::Refused;
        let full = root.join(std::ffi::OsStr::new(path));
        match refused {
            Refused::Io(e) => Self::io(what, &full, e),
            Refused::Link(at) => EndpointError::new(
                ErrorClass::Link,
                format!(
                    "{}: {} is a symbolic link at the destination; nothing is written, moved or \
                     deleted through it",
                    full.display(),
                    root.join(&at).display()
                ),
            )
            .at(full.display()),
            Refused::NotAFolder(at) => EndpointError::new(
                ErrorClass::Usage,
                format!(
                    "{what} {}: {} is a file, where a folder of that name is needed",
                    full.display(),
                    root.join(&at).display()
                ),
            )
            .at(full.display()),
        }
    }

    /// Records the path or URL the error is about.
    pub fn at(mut self, target: impl fmt::Display) -> Self {
        self.target = super::azure::redact(&target.to_string());
        self
    }

    /// The same error in another class.
    pub fn reclassify(mut self, class: ErrorClass) -> Self {
        self.class = class;
        self
    }

    /// The same error with more said after it (what to do).
    pub fn explain(mut self, more: &str) -> Self {
        self.message.push_str(more);
        self.message = super::azure::redact(&self.message);
        self
    }

    /// The class.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// The path or URL the error is about (SAS redacted), if known.
    pub fn target(&self) -> Option<&str> {
        (!self.target.is_empty()).then_some(self.target.as_str())
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointError")
            .field("class", &self.class)
            .field("target", &self.target)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EndpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
