//! Flag groups and values several subcommands share: how blob locations are reached
//! (`sync`, `check`, `backups`), name encoding, output type.

use clap::{Args, ValueEnum};

use crate::endpoint::azure::AuthMode;

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
    /// Storage account key (Shared Key) [env: AZURE_STORAGE_KEY].
    #[arg(long, value_name = "KEY")]
    pub account_key: Option<String>,
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
