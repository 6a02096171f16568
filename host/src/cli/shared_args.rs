//! Flag groups and values several subcommands share: how blob locations are reached
//! (`sync`, `check`, `backups`), how requests go (`sync`, `check`), name encoding, output
//! type.

use clap::{Args, ValueEnum};

use crate::endpoint::azure::AuthMode;
use crate::units::Span;

/// The variable that gives the account key when `--account-key` does not.
pub(super) const ACCOUNT_KEY_VARIABLE: &str = "AZURE_STORAGE_KEY";

/// How blob locations are reached and authorised: flags shared by `sync`, `check` and
/// `backups`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// How to authenticate to the blob side.
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthMode,
    /// Use the managed identity of the Azure resource blobsync runs on.
    #[arg(long)]
    pub identity: bool,
    /// A user-assigned managed identity, by client id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["identity_object_id", "identity_resource_id"])]
    pub identity_client_id: Option<String>,
    /// A user-assigned managed identity, by object id.
    #[arg(long, value_name = "ID", conflicts_with = "identity_resource_id")]
    pub identity_object_id: Option<String>,
    /// A user-assigned managed identity, by resource id.
    #[arg(long, value_name = "ID")]
    pub identity_resource_id: Option<String>,
    /// More host suffixes that may receive Entra ID tokens (`;`-separated), besides Azure
    /// Storage's own and loopback.
    #[arg(long, value_name = "SUFFIXES")]
    pub trusted_microsoft_suffixes: Option<String>,
    /// The account's blob endpoint, for a custom domain, a private endpoint or an emulator
    /// reached by another name (URLs must be below it); also a connection string's
    /// `BlobEndpoint=`.
    #[arg(long, value_name = "URL")]
    pub blob_endpoint: Option<String>,
    /// How names the service would rewrite are stored: `rclone` (`\` as `＼`, a trailing
    /// `.` as `．`, control characters as `␁`…, as rclone stores them) or `none` (such
    /// names are reported as not syncable).
    #[arg(long, value_enum, default_value = "rclone", ignore_case = true)]
    pub name_encoding: NameEncoding,
    /// Storage account key (Shared Key).
    #[arg(long, value_name = "KEY", env = ACCOUNT_KEY_VARIABLE, hide_env_values = true)]
    pub account_key: Option<String>,
}

/// How requests go: how many at once, retries, timeouts, memory and bandwidth. Flags
/// shared by `sync` and `check`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Files transferred at once (default 32; `AUTO` for the default, as azcopy).
    #[arg(long, value_name = "N", env = "AZCOPY_CONCURRENCY_VALUE")]
    pub concurrency: Option<String>,
    /// Container listings split into up to N ranges listed at once, one per top-level
    /// folder (default 1: one flat listing).
    #[arg(long, default_value = "1", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub list_parallelism: u16,
    /// Memory for blocks in flight, in MiB (default 64).
    #[arg(long, value_name = "MIB", env = "BLOBSYNC_BUFFER_MB")]
    pub buffer_mb: Option<String>,

    /// Retries of a failed request (or download range) before it fails; 0 turns retries
    /// off.
    #[arg(long, default_value = "10", value_name = "N")]
    pub max_retries: u32,
    /// HTTP statuses that are retried (`;`-separated), as azcopy's hidden flag.
    #[arg(long, value_name = "CODES", default_value = "408;429;500;502;503;504")]
    pub retry_status_codes: String,
    /// How long one try of a request may take besides sending its body, e.g. `60s`
    /// [env: AZCOPY_REQUEST_TRY_TIMEOUT, in minutes].
    #[arg(long, value_name = "DURATION")]
    pub try_timeout: Option<Span>,
    /// Abandon (and retry) a request whose connection moves no byte for this long.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub stall_timeout: Span,

    /// Limit the bandwidth of all transfers together, in megabits per second.
    #[arg(long, value_name = "MBPS")]
    pub cap_mbps: Option<f64>,
}

/// `--name-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameEncoding {
    /// rclone's encoding for Azure Blob Storage.
    Rclone,
    /// Names stored as they are.
    None,
}

/// `--output-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}
