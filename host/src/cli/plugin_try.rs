//! `blobsync plugin try PLUGIN DIR`: run a manifest's plugins (or one component) on a
//! local folder, without Azure, and print what each would do to each file: the filters'
//! exclusions, the comparator's decisions (against `--against DIR2`, or each file against
//! itself), the annotators' headers, tier, metadata and tags, the resolvers' rulings on
//! the files that differ from `--against`'s; hooks receive an upload event per included
//! file and a dry-run summary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::plugin_try_resolve::Ruling;
use crate::plugin::manifest::Manifest;
use crate::plugin::{
    Annotation, AnnotatorChain, DirectedEvent, EndpointKind, Entry, Event, EventAction,
    FilterChain, Grants, Outcome, Pair, PluginHost, PluginKind, PluginSet, PluginSource,
    PluginSpec, RunStatus, RunValues, Runtime, Side, Summary,
};

/// What `plugin try` was asked.
#[derive(Debug, Clone)]
pub struct TryRequest {
    /// A manifest (`.toml`) or a component (`.wasm`).
    pub plugin: PathBuf,
    /// The folder whose files are the source side.
    pub dir: PathBuf,
    /// For a component: its configuration (`KEY=VALUE`).
    pub config: Vec<String>,
    /// For a component: grant `read-content` with this many bytes.
    pub read_content: Option<u64>,
    /// A folder to compare with (the destination side).
    pub against: Option<PathBuf>,
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Where compiled plugins are cached.
    pub cache_dir: Option<PathBuf>,
}

/// The most entries `plugin try` reads from a folder.
const MAX_ENTRIES: usize = 100_000;
pub(super) const BATCH: usize = 1024;

/// Runs `blobsync plugin try`.
pub fn run_try(req: &TryRequest) -> ExitCode {
    match try_plugins(req) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}

/// The plugins to try: a manifest's, or the one component; without a comparator among
/// them, the built-in `mtime-compare`.
fn plugin_set(req: &TryRequest) -> Result<PluginSet, String> {
    let comparator = || {
        PluginSpec::builtin(
            PluginKind::Comparator,
            "mtime-compare",
            vec![],
            "plugin try",
        )
    };
    let mut set = PluginSet {
        filters: vec![],
        comparator: comparator(),
        annotators: vec![],
        resolvers: vec![],
        hooks: vec![],
    };
    if req.plugin.extension().is_some_and(|e| e == "toml") {
        if !req.config.is_empty() || req.read_content.is_some() {
            return Err(
                "--config and --read-content are for a component; a manifest says \
                        them itself"
                    .into(),
            );
        }
        let m = Manifest::load(&req.plugin).map_err(|e| e.to_string())?;
        set.filters = m.filters;
        set.annotators = m.annotators;
        set.hooks = m.hooks;
        set.resolvers = m.resolvers;
        if let Some(c) = m.comparator {
            set.comparator = c;
        }
    } else {
        let spec = component_spec(req)?;
        match spec.kind {
            PluginKind::Filter => set.filters.push(spec),
            PluginKind::Comparator => set.comparator = spec,
            PluginKind::Annotator => set.annotators.push(spec),
            PluginKind::Hook => set.hooks.push(spec),
            PluginKind::Resolver => set.resolvers.push(spec),
        }
    }
    if !set.resolvers.is_empty() && req.against.is_none() {
        return Err(
            "a resolver settles the conflicts between two folders: give PATH2's files with \
             `--against DIR2` (the files of DIR that differ from DIR2's are the conflicts)"
                .into(),
        );
    }
    Ok(set)
}

/// The spec of the component `req.plugin`, its kind read from the component, with the
/// configuration and `read-content` grant given on the command line.
fn component_spec(req: &TryRequest) -> Result<PluginSpec, String> {
    let bytes = std::fs::read(&req.plugin)
        .map_err(|e| format!("cannot read {}: {e}", req.plugin.display()))?;
    let info = crate::plugin::inspect::describe(&bytes)
        .map_err(|e| format!("{}: {e}", req.plugin.display()))?;
    let (kind, _) = crate::plugin::inspect::loadability(&info)
        .map_err(|e| format!("{}: {e}", req.plugin.display()))?;
    let config = req
        .config
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--config {kv:?} is not KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let name = req
        .plugin
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "plugin".into());
    Ok(PluginSpec {
        name,
        kind,
        source: PluginSource::File(req.plugin.clone()),
        sha256: None,
        failure: kind.default_failure(),
        limits: Default::default(),
        config,
        grants: Grants {
            read_content: req.read_content,
            ..Grants::default()
        },
        origin: "plugin try".into(),
    })
}

/// A listed entry, and why the filters excluded it (`None`: included).
type Verdict = (Entry, Option<String>);

/// Runs the plugins on the folder and prints what each did to each file.
fn try_plugins(req: &TryRequest) -> Result<(), String> {
    let set = plugin_set(req)?;
    let runtime = Runtime::shared(req.cache_dir.clone())
        .map_err(|e| format!("cannot start the plugin runtime: {e:#}"))?;
    let host = PluginHost::new(&runtime, &set).map_err(|e| e.to_string())?;
    let root = std::path::absolute(&req.dir).map_err(|e| e.to_string())?;
    let values = RunValues {
        started_ms: crate::sync::now_ms() as u64,
        job_id: "plugin-try".into(),
        local_root: Some(root.clone()),
        follow_links: false,
        time_precision_ns: 1,
    };
    // Both chains are kept to the end: dropping one writes its plugins' unfinished log
    // lines, which come after everything else.
    let mut filters = host.filter_chain_for(&values);
    let files = filter(&mut filters, &root)?;
    let kept: Vec<Entry> = files
        .iter()
        .filter(|(e, why)| why.is_none() && !e.is_dir)
        .map(|(e, _)| e.clone())
        .collect();

    // Decisions are shown when a comparator is being tried or there is something to
    // compare with; the default comparator against the files themselves says nothing.
    // With resolvers, `--against` is PATH2 rather than a destination to compare with.
    let default_comparator = set.comparator.source == PluginSource::Builtin("mtime-compare");
    let show_decisions = (req.against.is_some() && set.resolvers.is_empty()) || !default_comparator;
    let mut decisions = compare(&host, &values, req, &kept)?;
    if !show_decisions {
        decisions.iter_mut().for_each(|d| *d = None);
    }
    let mut annotators = host.annotator_chain_for(&values);
    let annotations = annotate(&mut annotators, &kept)?;
    let rulings = match &req.against {
        Some(against) if !set.resolvers.is_empty() => {
            super::plugin_try_resolve::rulings(&host, &values, &root, against, &kept)?
        }
        _ => Default::default(),
    };
    let kept_results = KeptResults {
        decisions,
        annotations,
        rulings,
    };
    print_verdicts(req, &host, &files, kept_results);
    hooks(&host, &values, req, &kept)
}

/// Lists the folder below `root` through the filters, sorted by path: each file with
/// its verdict, and each excluded folder.
fn filter(chain: &mut FilterChain, root: &Path) -> Result<Vec<Verdict>, String> {
    // Filters see each folder's entries as a batch, as in a sync, and an excluded
    // folder is not read.
    let mut files: Vec<Verdict> = Vec::new();
    let mut folders = vec![String::new()];
    let mut listed = 0usize;
    while let Some(folder) = folders.pop() {
        let entries = list(root, &folder)?;
        listed += entries.len();
        if listed > MAX_ENTRIES {
            return Err(format!(
                "{} holds more than {MAX_ENTRIES} entries; try the plugins on a smaller folder",
                root.display()
            ));
        }
        let mut verdicts = Vec::with_capacity(entries.len());
        for batch in entries.chunks(BATCH) {
            verdicts.extend(
                chain
                    .apply(Side::Source, batch)
                    .map_err(|e| e.to_string())?,
            );
        }
        for (entry, verdict) in entries.into_iter().zip(verdicts) {
            let why = verdict.map(|x| format!("excluded by {}: {}", x.plugin, x.reason));
            match (entry.is_dir, why) {
                (true, None) => folders.push(entry.path),
                (true, Some(why)) => files.push((entry, Some(why))),
                (false, why) => files.push((entry, why)),
            }
        }
    }
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok(files)
}

/// The annotators' annotation of each kept file.
fn annotate(chain: &mut AnnotatorChain, kept: &[Entry]) -> Result<Vec<Annotation>, String> {
    let mut annotations: Vec<Annotation> = Vec::new();
    for batch in kept.chunks(BATCH) {
        annotations.extend(chain.annotate(batch).map_err(|e| e.to_string())?);
    }
    Ok(annotations)
}

/// What the plugins said of the kept files: the comparator's decisions and the
/// annotations (one each, in order), the resolvers' rulings (by path, for conflicts).
struct KeptResults {
    decisions: Vec<Option<String>>,
    annotations: Vec<Annotation>,
    rulings: HashMap<String, Ruling>,
}

/// What is shown of one entry.
#[derive(Default)]
struct Shown<'a> {
    excluded: Option<&'a str>,
    decision: Option<&'a str>,
    annotation: Option<&'a Annotation>,
    ruling: Option<&'a Ruling>,
}

/// Prints a line for each entry: an excluded one with why, a kept one with its decision,
/// annotation and ruling.
fn print_verdicts(req: &TryRequest, host: &PluginHost, files: &[Verdict], kept: KeptResults) {
    let mut kept_results = kept.decisions.into_iter().zip(kept.annotations);
    for (entry, why) in files {
        if entry.is_dir {
            // An excluded folder, shown with a trailing `/`.
            let folder = Entry::dir(format!("{}/", entry.path), 0, EndpointKind::Local);
            let shown = Shown {
                excluded: why.as_deref(),
                ..Shown::default()
            };
            print_line(req.json, &folder, shown);
            continue;
        }
        let (decision, annotation) = match why {
            Some(_) => (None, None),
            None => match kept_results.next() {
                Some((d, a)) => (d, host.has_annotators().then_some(a)),
                None => (None, None),
            },
        };
        let shown = Shown {
            excluded: why.as_deref(),
            decision: decision.as_deref(),
            annotation: annotation.as_ref(),
            ruling: why
                .is_none()
                .then(|| kept.rulings.get(&entry.path))
                .flatten(),
        };
        print_line(req.json, entry, shown);
    }
}

/// The comparator's decision for each kept file.
fn compare(
    host: &PluginHost,
    values: &RunValues,
    req: &TryRequest,
    kept: &[Entry],
) -> Result<Vec<Option<String>>, String> {
    let others: Vec<Entry> = match &req.against {
        Some(dir) => walk(&std::path::absolute(dir).map_err(|e| e.to_string())?)?,
        None => kept.to_vec(),
    };
    let others: std::collections::HashMap<&str, &Entry> = others
        .iter()
        .filter(|o| !o.is_dir)
        .map(|o| (o.path.as_str(), o))
        .collect();
    let mut comparator = host.comparator_for(values);
    let mut out = Vec::with_capacity(kept.len());
    let mut pairs = Vec::new();
    let mut index = Vec::new();
    for e in kept {
        match others.get(e.path.as_str()) {
            Some(o) => {
                index.push(Some(pairs.len()));
                pairs.push(Pair {
                    source: e.clone(),
                    destination: (*o).clone(),
                });
            }
            None => index.push(None),
        }
    }
    let mut decisions = Vec::with_capacity(pairs.len());
    for batch in pairs.chunks(BATCH) {
        decisions.extend(comparator.compare(batch).map_err(|e| e.to_string())?);
    }
    for i in index {
        out.push(i.map(|i| {
            let d = &decisions[i];
            let action = match d.action {
                crate::plugin::Action::Transfer => "transfer",
                crate::plugin::Action::Skip => "skip",
            };
            format!("{action} ({}): {}", comparator.name(), d.reason)
        }));
    }
    Ok(out)
}

fn hooks(
    host: &PluginHost,
    values: &RunValues,
    req: &TryRequest,
    kept: &[Entry],
) -> Result<(), String> {
    let events: Vec<DirectedEvent> = kept
        .iter()
        .map(|e| DirectedEvent {
            event: Event {
                path: e.path.clone(),
                action: EventAction::Upload,
                bytes: e.size,
                outcome: Outcome::Success,
                reason: "plugin try".into(),
                error: None,
                md5: None,
                time_ms: values.started_ms,
            },
            direction: None,
        })
        .collect();
    let summary = Summary {
        job_id: values.job_id.clone(),
        source: req.dir.display().to_string(),
        destination: "(plugin try)".into(),
        dry_run: true,
        status: RunStatus::Completed,
        source_files: kept.len() as u64,
        destination_files: 0,
        copied: kept.len() as u64,
        skipped: 0,
        deleted: 0,
        failed: 0,
        bytes_transferred: kept.iter().map(|e| e.size).sum(),
        elapsed_ms: 0,
    };
    for mut hook in host.hooks_for(values) {
        for batch in events.chunks(256) {
            hook.on_events(batch).map_err(|e| e.to_string())?;
        }
        hook.on_complete(&summary).map_err(|e| e.to_string())?;
        if !req.json {
            println!(
                "hook {}: {} upload events and the summary delivered",
                hook.name(),
                events.len()
            );
        }
    }
    Ok(())
}

fn print_line(json: bool, e: &Entry, shown: Shown<'_>) {
    let Shown {
        excluded,
        decision,
        annotation,
        ruling,
    } = shown;
    if json {
        let a = annotation.map(|a| {
            serde_json::json!({
                "content-type": a.headers.content_type,
                "cache-control": a.headers.cache_control,
                "content-encoding": a.headers.content_encoding,
                "content-disposition": a.headers.content_disposition,
                "content-language": a.headers.content_language,
                "access-tier": a.access_tier.map(tier_name),
                "metadata": a.metadata.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                "tags": a.tags.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            })
        });
        println!(
            "{}",
            serde_json::json!({
                "path": e.path,
                "excluded": excluded,
                "decision": decision,
                "annotation": a,
                "resolution": ruling.map(|r| serde_json::json!({
                    "choice": r.choice, "reason": r.reason,
                })),
            })
        );
        return;
    }
    let mut parts = Vec::new();
    match excluded {
        Some(why) => parts.push(why.to_string()),
        None => parts.push("included".into()),
    }
    if let Some(d) = decision {
        parts.push(d.to_string());
    }
    if let Some(a) = annotation {
        parts.push(describe(a));
    }
    if let Some(r) = ruling {
        parts.push(r.describe());
    }
    println!("{:<40} {}", e.path, parts.join("; "));
}

fn describe(a: &Annotation) -> String {
    let h = &a.headers;
    let mut out: Vec<String> = [
        ("content-type", &h.content_type),
        ("cache-control", &h.cache_control),
        ("content-encoding", &h.content_encoding),
        ("content-disposition", &h.content_disposition),
        ("content-language", &h.content_language),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v:?}")))
    .collect();
    if let Some(t) = a.access_tier {
        out.push(format!("tier={}", tier_name(t)));
    }
    for (k, v) in &a.metadata {
        out.push(format!("metadata {k}={v:?}"));
    }
    for (k, v) in &a.tags {
        out.push(format!("tag {k}={v:?}"));
    }
    if out.is_empty() {
        "no annotation".into()
    } else {
        out.join(", ")
    }
}

fn tier_name(t: crate::plugin::AccessTier) -> &'static str {
    match t {
        crate::plugin::AccessTier::Hot => "hot",
        crate::plugin::AccessTier::Cool => "cool",
        crate::plugin::AccessTier::Cold => "cold",
        crate::plugin::AccessTier::Archive => "archive",
    }
}

/// The entries of one folder (`folder` relative to `root`), sorted.
fn list(root: &Path, folder: &str) -> Result<Vec<Entry>, String> {
    let dir = root.join(folder);
    let read = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for item in read.flatten() {
        let Ok(meta) = item.metadata() else { continue };
        let Some(name) = item.file_name().to_str().map(String::from) else {
            continue;
        };
        let path = if folder.is_empty() {
            name
        } else {
            format!("{folder}/{name}")
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        if meta.is_dir() {
            out.push(Entry::dir(path, mtime, EndpointKind::Local));
        } else if meta.is_file() {
            out.push(Entry::file(
                path,
                meta.len(),
                mtime,
                None,
                EndpointKind::Local,
                vec![],
            ));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Every file and folder below `root`.
pub(super) fn walk(root: &Path) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut folders = vec![String::new()];
    while let Some(folder) = folders.pop() {
        for e in list(root, &folder)? {
            if e.is_dir {
                folders.push(e.path.clone());
            }
            out.push(e);
            if out.len() > MAX_ENTRIES {
                return Err(format!(
                    "{} holds more than {MAX_ENTRIES} entries",
                    root.display()
                ));
            }
        }
    }
    Ok(out)
}
