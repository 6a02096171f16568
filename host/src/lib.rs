//! blobsync keeps a local folder and an Azure Blob Storage container in sync, moving only
//! what differs. It lists both sides, filters, compares, transfers and reports, and
//! delegates filtering, the comparison policy and post-transfer hooks to sandboxed
//! WebAssembly plugins.
//!
//! The library is what the `blobsync` binary is built from: [`cli`] validates flags into a
//! [`sync::SyncConfig`], [`sync::run`] runs it, [`plugin`] hosts the plugins and
//! [`endpoint`] talks to the file system and to Blob Storage.

pub mod auth;
pub mod cli;
pub mod endpoint;
pub mod jobs;
pub mod logging;
pub mod plugin;
pub mod store;
pub mod sync;
