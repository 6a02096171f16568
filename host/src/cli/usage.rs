//! The error a command line that cannot run gets.

/// A command line that cannot be run; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub(super) fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}
