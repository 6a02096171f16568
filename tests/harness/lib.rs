//! Test harness: a real Azurite on a free loopback port ([`azurite`]), SAS tokens signed
//! without the Azure SDK ([`sas`]), an independent Blob REST client to check what
//! blobsync wrote ([`blob_client`], [`blob_props`]), local trees ([`tree`]), a runner for the `blobsync`
//! binary ([`cli`]) and its JSON output ([`outcome`]), plugin components ([`plugins`]), a fault-injecting reverse proxy and
//! a forward proxy ([`proxy`]), file systems of other kinds ([`mounts`]), the real azcopy
//! ([`azcopy`]), and the documentation as tests: its blocks ([`docs`]) run as a reader
//! would ([`doc_runner`]), cron files ([`cron`]), Kubernetes manifests ([`kube`]) and
//! links ([`links`]).

use std::path::{Path, PathBuf};

mod azcopy;
mod azurite;
mod blob_client;
mod blob_props;
mod cli;
pub mod cron;
pub mod doc_runner;
pub mod docs;
pub mod entra;
pub mod flag_reference;
pub mod kube;
mod languages;
pub mod links;
mod mounts;
mod outcome;
mod plugins;
mod proxy;
mod sas;
mod tree;

pub use azcopy::*;
pub use azurite::*;
pub use blob_client::*;
pub use cli::*;
pub use languages::*;
pub use mounts::*;
pub use outcome::*;
pub use plugins::*;
pub use proxy::*;
pub use sas::*;
pub use tree::*;

/// The emulator's public development account and key.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The emulator's well-known key.
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub(crate) const SAS_VERSION: &str = "2021-08-06";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}
