//! `--state-in-container`: a two-way sync's state kept in the container itself, for
//! runs without a lasting disk (a pod without a persistent volume). The state blob —
//! `.blobsync/state/NAME`, below the reserved prefix, never listed as data — is read into
//! the database once the pair's lock is held, replacing what the database had of the
//! pair; the run goes on against the database as usual; and the state is written back
//! after each phase that changed it, conditional on the version read. A run cut short
//! leaves the last version written: an older state, from which the next run converges
//! as from any other (what was done since is found the same on both sides).
//!
//! The blob holds one JSON object per path ([`Known`]), in the order the state is read:
//! it is streamed through a local temporary file, never held in memory whole.

use std::io::{BufRead as _, BufWriter, Write as _};
use std::sync::{Arc, Mutex};

use super::RunError;
use crate::endpoint::{Endpoint, EndpointError, ListOrder};
use crate::store::{Known, Store};

/// Where a pair's state is kept in a container, and the version last read or written.
pub(crate) struct ContainerState {
    endpoint: Arc<dyn Endpoint>,
    /// The blob's name below the reserved prefix.
    name: String,
    tag: Mutex<Option<String>>,
}

impl ContainerState {
    /// The state of the pair whose locks are named `lock`, kept in `endpoint`'s container.
    pub(crate) fn new(endpoint: Arc<dyn Endpoint>, lock: &str) -> ContainerState {
        ContainerState {
            endpoint,
            name: format!("state/{lock}.jsonl"),
            tag: Mutex::new(None),
        }
    }

    /// Replaces the database's state of `pair` with the container's (none there: no
    /// state, a first run); with `adopt`, only the version there is noted (`--resync`:
    /// the trees are adopted afresh). Returns the number of paths read.
    pub(crate) async fn load(
        &self,
        store: &Arc<Store>,
        pair: i64,
        order: ListOrder,
        adopt: bool,
    ) -> Result<u64, RunError> {
        let scratch = scratch()?;
        let file = scratch.path().join("state.jsonl");
        let tag = self
            .endpoint
            .read_own(&self.name, &file)
            .await
            .map_err(|e| {
                RunError::from(e.explain("; the state kept in the container could not be read"))
            })?;
        let read = match (&tag, adopt) {
            (Some(_), false) => {
                let (store, where_) = (store.clone(), self.endpoint.describe());
                tokio::task::spawn_blocking(move || import(&store, pair, order, &file, &where_))
                    .await
                    .map_err(|e| RunError::Internal(format!("reading the state failed: {e}")))??
            }
            _ => {
                store
                    .bisync_clear(pair)
                    .map_err(|e| RunError::Internal(format!("{e}")))?;
                0
            }
        };
        *self.tag.lock().unwrap_or_else(|e| e.into_inner()) = tag;
        Ok(read)
    }

    /// Writes the database's state of `pair` to the container, if it is still the
    /// version this run read or wrote.
    pub(crate) async fn save(&self, store: &Arc<Store>, pair: i64) -> Result<(), RunError> {
        let scratch = scratch()?;
        let file = scratch.path().join("state.jsonl");
        let (from, to) = (store.clone(), file.clone());
        tokio::task::spawn_blocking(move || export(&from, pair, &to))
            .await
            .map_err(|e| RunError::Internal(format!("writing the state failed: {e}")))??;
        let tag = self.tag.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let written = self
            .endpoint
            .write_own(&self.name, &file, tag.as_deref())
            .await
            .map_err(|e: EndpointError| {
                RunError::from(e.explain("; the state kept in the container was not updated"))
            })?;
        *self.tag.lock().unwrap_or_else(|e| e.into_inner()) = Some(written);
        Ok(())
    }
}

/// Replaces the state of `pair` with the rows of `file`.
fn import(
    store: &Store,
    pair: i64,
    order: ListOrder,
    file: &std::path::Path,
    container: &str,
) -> Result<u64, RunError> {
    store
        .bisync_clear(pair)
        .map_err(|e| RunError::Internal(format!("{e}")))?;
    let cannot =
        |e: std::io::Error| RunError::Internal(format!("cannot read {}: {e}", file.display()));
    let input = std::io::BufReader::new(std::fs::File::open(file).map_err(cannot)?);
    let mut read = 0;
    for line in input.lines() {
        let line = line.map_err(cannot)?;
        let known: Known = serde_json::from_str(&line).map_err(|e| {
            RunError::Internal(format!(
                "the state kept in {container} is damaged: {e}; run with --resync to adopt \
                 both sides afresh"
            ))
        })?;
        store.bisync_record(pair, order.sort_key(&known.path), &known);
        read += 1;
    }
    store.flush();
    Ok(read)
}

/// Writes the state of `pair` to `file`, a path a line.
fn export(store: &Store, pair: i64, file: &std::path::Path) -> Result<(), RunError> {
    store.flush();
    let cannot =
        |e: std::io::Error| RunError::Internal(format!("cannot write {}: {e}", file.display()));
    let mut out = BufWriter::new(std::fs::File::create(file).map_err(cannot)?);
    for known in store.bisync_known(pair) {
        let known = known.map_err(|e| RunError::Internal(format!("{e}")))?;
        let line = serde_json::to_string(&known)
            .map_err(|e| RunError::Internal(format!("cannot encode the state: {e}")))?;
        writeln!(out, "{line}").map_err(cannot)?;
    }
    out.flush().map_err(cannot)
}

fn scratch() -> Result<tempfile::TempDir, RunError> {
    tempfile::tempdir()
        .map_err(|e| RunError::Internal(format!("cannot make a temporary folder: {e}")))
}
