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
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::time::Instant;

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

/// What the debouncer sends: the paths that changed.
type Changes = tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>;

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
    let (_debouncer, mut rx) = match notifications(&root, options.debounce) {
        Ok(watching) => watching,
        Err(message) => {
            observer.notice(&message);
            return EXIT_USAGE;
        }
    };
    tracing::info!(
        "watching {} (debounce {} ms, full sync every {} s)",
        root.display(),
        options.debounce.as_millis(),
        options.rescan.as_secs()
    );

    let mut schedule = Schedule::new(options.rescan);
    loop {
        if let Some(work) = schedule.take_due(Instant::now()) {
            let mut failed: Option<Work> = None;
            if !stop.is_stopped() {
                match sync_once(session, work, stop, &plugins, &observer, &job_id).await {
                    ControlFlow::Continue(retry) => failed = retry,
                    ControlFlow::Break(code) => return code,
                }
            }
            schedule.ran(failed, &*observer);
        }
        tokio::select! {
            paths = rx.recv() => {
                let Some(paths) = paths else { return EXIT_FAILED };
                let work = if paths.is_empty() { Work::Full } else { relative_paths(&root, &paths) };
                if work != Work::Paths(BTreeSet::new()) {
                    schedule.add(work);
                }
            }
            _ = tokio::time::sleep_until(schedule.wake()) => {
                schedule.timers_due(&mut plugins, session, &*observer).await;
            }
            _ = stop.stopped() => return if stop.is_interrupted() { EXIT_OK } else { EXIT_FAILED },
        }
    }
}

/// The file-system notifications below `root`, debounced: each message names the paths
/// that changed (none: something was lost, sync everything). The debouncer watches as
/// long as it is kept. The error is the notice to give.
fn notifications(
    root: &Path,
    debounce: Duration,
) -> Result<(Debouncer<RecommendedWatcher, RecommendedCache>, Changes), String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| {
        match result {
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
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
    if let Err(e) = debouncer.watch(root, RecursiveMode::Recursive) {
        return Err(format!(
            "cannot watch {}: {e} (raise fs.inotify.max_user_watches for very large trees)",
            root.display()
        ));
    }
    Ok((debouncer, rx))
}

/// Runs one sync of `work`. Continues with the work to retry, if any (a run that could
/// not finish: everything; failed items: the same paths); breaks with the exit code when
/// the watch ends (a signal, a usage error).
async fn sync_once(
    session: &Session,
    work: Work,
    stop: &Stop,
    plugins: &WatchedPlugins,
    observer: &Arc<dyn Observer>,
    job_id: &impl Fn() -> String,
) -> ControlFlow<u8, Option<Work>> {
    let request = RunRequest {
        job_id: job_id(),
        scopes: work.scopes(),
    };
    let outcome = session.run(request, stop, plugins.observer(observer)).await;
    // A signal is how a watch is stopped: a clean exit (a run it cut short is
    // recorded as Cancelled, and the next start catches up).
    if stop.is_interrupted() {
        return ControlFlow::Break(EXIT_OK);
    }
    ControlFlow::Continue(match &outcome.error {
        Some(e) if e.exit_code() == EXIT_USAGE => {
            observer.notice(&format!("{e}; stopping"));
            return ControlFlow::Break(EXIT_USAGE);
        }
        // The run could not finish (an outage): the retry is a full sync, which
        // also catches whatever changed at either side meanwhile.
        Some(_) => Some(Work::Full),
        // Items failed: those paths again.
        None if outcome.totals.failed > 0 => Some(work),
        None => None,
    })
}

/// When the loop syncs, and what: the work waiting, the retry of a failed run (with
/// exponential backoff), the next full rescan and the next check of the plugin files.
struct Schedule {
    pending: Option<Work>,
    backoff: Duration,
    retry_at: Option<Instant>,
    rescan: Duration,
    next_rescan: Instant,
    next_plugin_check: Instant,
}

impl Schedule {
    /// A full sync first; a full rescan every `rescan`.
    fn new(rescan: Duration) -> Schedule {
        Schedule {
            pending: Some(Work::Full),
            backoff: Duration::from_secs(1),
            retry_at: None,
            rescan,
            next_rescan: Instant::now() + rescan,
            next_plugin_check: Instant::now() + PLUGIN_CHECK,
        }
    }

    /// Adds `work` to what is waiting.
    fn add(&mut self, work: Work) {
        match &mut self.pending {
            Some(p) => p.add(work),
            None => self.pending = Some(work),
        }
    }

    /// The work to run now: none while a failed run waits for its retry — the work stays
    /// pending until then, gathering the changes noticed meanwhile.
    fn take_due(&mut self, now: Instant) -> Option<Work> {
        if self.retry_at.is_some_and(|t| now < t) {
            return None;
        }
        let work = self.pending.take()?;
        self.retry_at = None;
        Some(work)
    }

    /// After a run: the work that `failed` is retried after the backoff, which doubles
    /// (up to [`MAX_BACKOFF`]); a run that did not fail resets it.
    fn ran(&mut self, failed: Option<Work>, observer: &dyn Observer) {
        match failed {
            Some(work) => {
                observer.notice(&format!("will retry in {} s", self.backoff.as_secs()));
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                self.pending = Some(work);
            }
            None => self.backoff = Duration::from_secs(1),
        }
    }

    /// When the loop wakes without a notification: the retry, the rescan or the plugin
    /// check, whichever comes first.
    fn wake(&self) -> Instant {
        match self.retry_at {
            Some(t) => t.min(self.next_rescan),
            None => self.next_rescan,
        }
        .min(self.next_plugin_check)
    }

    /// Does what is due at a wake: checks the plugin files (everything is synced again
    /// with reloaded ones) and, every rescan, adds a full sync.
    async fn timers_due(
        &mut self,
        plugins: &mut WatchedPlugins,
        session: &mut Session,
        observer: &dyn Observer,
    ) {
        if Instant::now() >= self.next_plugin_check {
            self.next_plugin_check = Instant::now() + PLUGIN_CHECK;
            match plugins.reload(session).await {
                Reload::Unchanged => {}
                Reload::Reloaded(description) => {
                    observer.notice(&format!(
                        "plugins reloaded ({description}); syncing everything with them"
                    ));
                    self.pending = Some(Work::Full);
                }
                Reload::Kept(why) => observer.notice(&format!(
                    "plugins not reloaded, the running ones stay: {why}"
                )),
            }
        }
        if Instant::now() >= self.next_rescan {
            self.next_rescan = Instant::now() + self.rescan;
            self.add(Work::Full);
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

    /// A failed run's work waits for its retry without being lost, and what changes
    /// meanwhile joins it.
    #[test]
    fn work_waiting_for_its_retry_is_kept_and_gathers_changes() {
        struct Quiet;
        impl Observer for Quiet {
            fn event(&self, _event: &crate::sync::Event<'_>) {}
        }
        let mut schedule = Schedule::new(Duration::from_secs(3600));
        let now = Instant::now();
        assert_eq!(
            schedule.take_due(now),
            Some(Work::Full),
            "the first full sync"
        );
        let failed = Work::Paths(BTreeSet::from(["a.txt".to_string()]));
        schedule.ran(Some(failed), &Quiet);
        let retry_at = schedule.retry_at.expect("a retry is planned");
        assert_eq!(
            schedule.take_due(Instant::now()),
            None,
            "not before the retry"
        );
        assert_eq!(
            schedule.take_due(Instant::now()),
            None,
            "and not lost by waiting"
        );
        schedule.add(Work::Paths(BTreeSet::from(["b.txt".to_string()])));
        assert_eq!(
            schedule.take_due(retry_at),
            Some(Work::Paths(BTreeSet::from([
                "a.txt".to_string(),
                "b.txt".to_string()
            ])))
        );
        assert_eq!(schedule.retry_at, None);
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
