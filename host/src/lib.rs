//! blobsync keeps a local folder and an Azure Blob Storage container in sync, moving only
//! what differs: list → filter → pair → compare → transfer → delete, with filtering, the
//! comparison policy and post-transfer hooks delegated to sandboxed WebAssembly plugins.
//! `ARCHITECTURE.md` at the repository root maps the stages to the modules.
//!
//! The library is what the `blobsync` binary is built from: [`cli`] validates flags into
//! a [`sync::SyncConfig`], a [`sync::Session`] runs it and reports to observers
//! ([`console`], [`jobs::JobRecorder`], [`hooks::HookDispatcher`]), [`plugin`] hosts the
//! plugins and [`endpoint`] moves the bytes; [`localfs`] resolves local paths beneath the
//! synced folder without following links.

pub mod bisync;
pub mod cli;
pub mod console;
pub mod endpoint;
pub mod hooks;
pub mod jobs;
pub mod localfs;
pub mod logging;
pub mod metrics;
pub mod plugin;
pub mod progress;
pub mod store;
pub mod sync;
pub mod terminal_text;
pub mod units;
