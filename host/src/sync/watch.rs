//! `blobsync sync --watch`: keep a container in step with a local folder.
//!
//! A full sync runs first. Then file-system notifications (inotify), debounced, name the
//! paths that changed; one run syncs them all (a scoped run lists only those paths and
//! what is below it, on both sides). A full sync also runs every `--watch-rescan` as a
//! safety net for missed notifications. A run that fails — a network outage, throttling —
//! is retried with exponential backoff, and items that failed are retried the same way;
//! a signal stops the loop cleanly. Each run is recorded as a job. A changed plugin
//! manifest or plugin file is loaded between runs ([`WatchedPlugins`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

use std::sync::Arc;

use super::error::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::observer::Observer;
use super::session::{RunRequest, Session};
use super::watch_plugins::{Reload, WatchedPlugins};
use super::{Location, Stop};

/// How often plugin files are checked for changes (a few `stat` calls).
const PLUGIN_CHECK: Duration = Duration::from_secs(2);
/// More changed paths than this in one batch are synced as one full run.
const MAX_SCOPES: usize = 64;
/// The longest wait between retries of a failed run.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What to sync next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Work {
    /// Everything.
    Full,
    /// These relative paths (each with what is below it).
    Paths(BTreeSet<String>),
}

impl Work {
    fn add(&mut self, other: Work) {
        match (&mut *self, other) {
            (Work::Full, _) => {}
            (_, Work::Full) => *self = Work::Full,
            (Work::Paths(a), Work::Paths(b)) => {
                a.extend(b);
                if a.len() > MAX_SCOPES {
                    *self = Work::Full;
                }
            }
        }
    }

    /// The scopes of the one run that does this work: paths with anything below another
    /// listed path removed (empty: everything).
    fn scopes(&self) -> Vec<String> {
        match self {
            Work::Full => Vec::new(),
            Work::Paths(paths) => {
                let mut out: Vec<String> = Vec::new();
                for p in paths {
                    let covered = out
                        .iter()
                        .any(|q| p == q || p.starts_with(&format!("{q}/")));
                    if !covered {
                        out.push(p.clone());
                    }
                }
                out
            }
        }
    }
}

/// Relative paths, under `root`, of the paths a notification named.
fn relative_paths(root: &Path, paths: &[PathBuf]) -> Work {
    let mut set = BTreeSet::new();
    for path in paths {
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        use std::os::unix::ffi::OsStrExt;
        let rel = crate::localfs::raw_names::from_os(rel.as_os_str().as_bytes());
        if rel.is_empty() {
            return Work::Full;
        }
        // blobsync's temporary downloads are never data.
        if rel
            .split('/')
            .any(|segment| segment == crate::endpoint::local::PARTIAL_DIR)
        {
            continue;
        }
        set.insert(rel.into_owned());
    }
    Work::Paths(set)
}

/// True for events that change content, names or metadata. Opening, reading and closing a
/// file without writing (what every sync does to the tree, hashing and uploading) and
/// access-time updates do not.
fn changes_something(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::{MetadataKind, ModifyKind};
    match kind {
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
    }
}

/// Runs the watch loop until a signal; returns the exit code. `job_id` names each run.
pub async fn watch(
    session: &mut Session,
    mut plugins: WatchedPlugins,
    stop: &Stop,
    observer: Arc<dyn Observer>,
    job_id: impl Fn() -> String,
) -> u8 {
    let config = session.config();
    let (Location::Local(root), Some(options)) = (&config.source, config.watch) else {
        observer.notice("--watch needs a local source folder");
        return EXIT_USAGE;
    };
    let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
    if !root.is_dir() {
        observer.notice(&format!(
            "the source folder {} cannot be read; nothing was copied",
            root.display()
        ));
        return EXIT_USAGE;
    }
    // Watch before the first sync, so that nothing changed during it is missed.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = match new_debouncer(
        options.debounce,
        None,
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                let paths: Vec<PathBuf> = events
                    .into_iter()
                    .filter(|e| changes_something(&e.event.kind))
                    .flat_map(|e| e.event.paths)
                    .collect();
                if !paths.is_empty() {
                    let _ = tx.send(paths);
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!("file-system notification error: {e}");
                }
                // A lost notification (queue overflow) is made good by a full sync.
                let _ = tx.send(Vec::new());
            }
        },
    ) {
        Ok(d) => d,
        Err(e) => {
            observer.notice(&format!("cannot watch {}: {e}", root.display()));
            return EXIT_USAGE;
        }
    };
    if let Err(e) = debouncer.watch(&root, RecursiveMode::Recursive) {
        observer.notice(&format!(
            "cannot watch {}: {e} (raise fs.inotify.max_user_watches for very large trees)",
            root.display()
        ));
        return EXIT_USAGE;
    }
    tracing::info!(
        "watching {} (debounce {} ms, full sync every {} s)",
        root.display(),
        options.debounce.as_millis(),
        options.rescan.as_secs()
    );

    let mut pending: Option<Work> = Some(Work::Full);
    let mut backoff = Duration::from_secs(1);
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut next_rescan = tokio::time::Instant::now() + options.rescan;
    let mut next_plugin_check = tokio::time::Instant::now() + PLUGIN_CHECK;
    loop {
        let due = retry_at.is_none_or(|t| tokio::time::Instant::now() >= t);
        if let (Some(work), true) = (pending.take(), due) {
            retry_at = None;
            let mut failed: Option<Work> = None;
            if !stop.is_stopped() {
                let request = RunRequest {
                    job_id: job_id(),
                    scopes: work.scopes(),
                };
                let outcome = session
                    .run(request, stop, plugins.observer(&observer))
                    .await;
                // A signal is how a watch is stopped: a clean exit (a run it cut short is
                // recorded as Cancelled, and the next start catches up).
                if stop.is_interrupted() {
                    return EXIT_OK;
                }
                failed = match &outcome.error {
                    Some(e) if e.exit_code() == EXIT_USAGE => {
                        observer.notice(&format!("{e}; stopping"));
                        return EXIT_USAGE;
                    }
                    // The run could not finish (an outage): the retry is a full sync, which
                    // also catches whatever changed at either side meanwhile.
                    Some(_) => Some(Work::Full),
                    // Items failed: those paths again.
                    None if outcome.totals.failed > 0 => Some(work),
                    None => None,
                };
            }
            match failed {
                Some(work) => {
                    observer.notice(&format!("will retry in {} s", backoff.as_secs()));
                    retry_at = Some(tokio::time::Instant::now() + backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    pending = Some(work);
                }
                None => backoff = Duration::from_secs(1),
            }
        } else if let Some(work) = pending.take() {
            pending = Some(work);
        }
        let wake = match retry_at {
            Some(t) => t.min(next_rescan),
            None => next_rescan,
        }
        .min(next_plugin_check);
        tokio::select! {
            paths = rx.recv() => {
                let Some(paths) = paths else { return EXIT_FAILED };
                let work = if paths.is_empty() { Work::Full } else { relative_paths(&root, &paths) };
                if work != Work::Paths(BTreeSet::new()) {
                    match &mut pending {
                        Some(p) => p.add(work),
                        None => pending = Some(work),
                    }
                }
            }
            _ = tokio::time::sleep_until(wake) => {
                if tokio::time::Instant::now() >= next_plugin_check {
                    next_plugin_check = tokio::time::Instant::now() + PLUGIN_CHECK;
                    match plugins.reload(session).await {
                        Reload::Unchanged => {}
                        Reload::Reloaded(description) => {
                            observer.notice(&format!(
                                "plugins reloaded ({description}); syncing everything with them"
                            ));
                            pending = Some(Work::Full);
                        }
                        Reload::Kept(why) => observer.notice(&format!(
                            "plugins not reloaded, the running ones stay: {why}"
                        )),
                    }
                }
                if tokio::time::Instant::now() >= next_rescan {
                    next_rescan = tokio::time::Instant::now() + options.rescan;
                    match &mut pending {
                        Some(p) => p.add(Work::Full),
                        None => pending = Some(Work::Full),
                    }
                }
            }
            _ = stop.stopped() => return if stop.is_interrupted() { EXIT_OK } else { EXIT_FAILED },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_collapse_and_overflow_to_full() {
        let mut w = Work::Paths(BTreeSet::from([
            "a/b".to_string(),
            "a".to_string(),
            "ab".to_string(),
        ]));
        assert_eq!(w.scopes(), vec!["a".to_string(), "ab".to_string()]);
        for i in 0..=MAX_SCOPES {
            w.add(Work::Paths(BTreeSet::from([format!("x{i}")])));
        }
        assert_eq!(w, Work::Full);
        assert!(w.scopes().is_empty(), "everything");
    }

    #[test]
    fn reads_and_access_times_start_no_run() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, MetadataKind, ModifyKind};
        assert!(!changes_something(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes_something(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes_something(&EventKind::Modify(
            ModifyKind::Metadata(MetadataKind::AccessTime)
        )));
        assert!(changes_something(&EventKind::Create(CreateKind::File)));
        assert!(changes_something(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::WriteTime
        ))));
        // A write shows as Modify(Data) first; the close that follows adds nothing.
        assert!(!changes_something(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
    }

    #[test]
    fn notifications_become_relative_paths() {
        let root = Path::new("/data/site");
        let w = relative_paths(
            root,
            &[
                root.join("a/b.txt"),
                root.join(".blobsync-partial/0123456789abcdef.123-0"),
                "/elsewhere".into(),
            ],
        );
        assert_eq!(w, Work::Paths(BTreeSet::from(["a/b.txt".to_string()])));
        assert_eq!(relative_paths(root, &[root.to_path_buf()]), Work::Full);
    }
}
