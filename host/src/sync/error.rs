//! Why a run could not start or stopped early; one error decides the exit code.

use crate::endpoint::{EndpointError, ErrorClass};
use crate::plugin::PluginError;

/// Exit code: everything succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: some items failed, or a plugin failed during the run.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: authentication or authorisation failed.
pub const EXIT_AUTH: u8 = 3;
/// Exit code: a guard refused the run (`--max-changes`, `--max-delete`, an empty source
/// with deletes): what it would have changed was not, and a person should look.
pub const EXIT_REFUSED: u8 = 7;
/// Exit code: `--max-transfer` was reached (rclone's code); the next run continues.
pub const EXIT_MAX_TRANSFER: u8 = 8;
/// Exit code: `--max-duration` was reached (rclone's code); the next run continues.
pub const EXIT_MAX_DURATION: u8 = 10;
/// Exit code: interrupted.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Another run holds the lock (`EX_TEMPFAIL`: try again later).
pub const EXIT_BUSY: u8 = 75;

/// Which cut-off ended a run early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOff {
    /// `--max-transfer`.
    Transfer,
    /// `--max-duration`.
    Duration,
}

/// A run's fatal error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The command line, a path or a setting cannot work; the user must change it.
    #[error("{0}")]
    Usage(String),
    /// The credentials were refused or lack a permission.
    #[error("{0}")]
    Authentication(EndpointError),
    /// A plugin failed to load, rejected its configuration, or failed (fail-closed).
    #[error("{0}")]
    Plugin(PluginError),
    /// An endpoint failed in a way that stops the run.
    #[error("{0}")]
    Endpoint(EndpointError),
    /// A cut-off stopped new transfers (`--max-transfer`, `--max-duration`); the next run
    /// continues where this one stopped.
    #[error("{1}")]
    CutOff(CutOff, String),
    /// A guard refused what the run would have done (`--max-changes` before anything is
    /// written, `--max-delete` and an empty source before any delete).
    #[error("{0}")]
    Refused(String),
    /// Another run holds the lock: who, and what to do.
    #[error("{0}")]
    Busy(String),
    /// A bug in blobsync.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) => EXIT_USAGE,
            RunError::Authentication(_) => EXIT_AUTH,
            RunError::Plugin(PluginError::Load { .. } | PluginError::ConfigRejected { .. }) => {
                EXIT_USAGE
            }
            RunError::Plugin(_) => EXIT_FAILED,
            RunError::Endpoint(e) => match e.class() {
                ErrorClass::Usage => EXIT_USAGE,
                ErrorClass::Auth => EXIT_AUTH,
                _ => EXIT_FAILED,
            },
            RunError::CutOff(CutOff::Transfer, _) => EXIT_MAX_TRANSFER,
            RunError::CutOff(CutOff::Duration, _) => EXIT_MAX_DURATION,
            RunError::Refused(_) => EXIT_REFUSED,
            RunError::Busy(_) => EXIT_BUSY,
            RunError::Internal(_) => EXIT_FAILED,
        }
    }
}

impl From<EndpointError> for RunError {
    fn from(e: EndpointError) -> Self {
        match e.class() {
            ErrorClass::Auth => RunError::Authentication(e),
            _ => RunError::Endpoint(e),
        }
    }
}

impl From<PluginError> for RunError {
    fn from(e: PluginError) -> Self {
        RunError::Plugin(e)
    }
}
