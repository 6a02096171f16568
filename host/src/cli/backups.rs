//! `blobsync backups list PATH` and `backups restore PATH --version N`: the versions runs
//! kept in a backup location (`--backup-dir`), from the job records or by scanning the
//! location, and putting one back — a local file copied into place beside its target and
//! renamed, a blob copied by the Blob service (or through blobsync).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use super::args::{AuthArgs, BackupsCommand, BackupsListArgs, BackupsRestoreArgs, OutputType};
use super::backup_access::{Failure, blob_endpoint, failed, list_items, usage};
use super::environment::Environment;
use super::sourced::Sourced;
use super::validate::{parse_location, url_context};
use crate::endpoint::Endpoint;
use crate::jobs::backups::{Kept, is_version_name, location_key, numbered, recorded};
use crate::sync::{EXIT_FAILED, Location};

/// Runs `blobsync backups …`.
pub fn run_backups(cmd: BackupsCommand, env: &Environment) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let result = match cmd {
        BackupsCommand::List(args) => runtime.block_on(list(&args, env)),
        BackupsCommand::Restore(args) => runtime.block_on(restore(&args, env)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

async fn list(args: &BackupsListArgs, env: &Environment) -> Result<(), Failure> {
    let versions = versions(
        &args.path,
        args.backup_dir.as_deref(),
        &args.credentials,
        env,
    )
    .await?;
    let mut out = std::io::stdout().lock();
    match args.output_type {
        OutputType::Json => {
            for v in &versions {
                let _ = writeln!(out, "{}", serde_json::to_string(v).unwrap_or_default());
            }
        }
        OutputType::Text if versions.is_empty() => {
            let _ = writeln!(out, "no kept versions of {}", location_key(&args.path));
        }
        OutputType::Text => {
            let _ = writeln!(
                out,
                "{:>3}  {:<24}  {:>10}  KEPT AS",
                "N", "KEPT AT", "SIZE"
            );
            for v in &versions {
                let _ = writeln!(
                    out,
                    "{:>3}  {:<24}  {:>10}  {}",
                    v.number,
                    blobsync_plugin::format_rfc3339_ns(v.time_ms.saturating_mul(1_000_000)),
                    indicatif::HumanBytes(v.size).to_string(),
                    crate::console::shown(&v.kept)
                );
            }
        }
    }
    Ok(())
}

/// The versions of `path`: scanned in `backup_dir`, or recorded.
async fn versions(
    path: &str,
    backup_dir: Option<&str>,
    credentials: &Sourced<AuthArgs>,
    env: &Environment,
) -> Result<Vec<Kept>, Failure> {
    let Some(dir) = backup_dir else {
        let db = env.database().ok_or_else(|| {
            usage("no data directory for the job records (set BLOBSYNC_DATA_DIR)")
        })?;
        if !db.exists() {
            return Ok(Vec::new());
        }
        let store = crate::store::Store::open(&db).map_err(failed)?;
        return recorded(&store, path).map_err(failed);
    };
    let file = path
        .split('?')
        .next()
        .unwrap_or(path)
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let urls = url_context(credentials, env).map_err(|e| usage(e.to_string()))?;
    let found = match parse_location(dir, &urls).map_err(|e| usage(e.to_string()))? {
        Location::Local(root) => scan_local(&root, &file),
        Location::Blob(location) => {
            let endpoint = blob_endpoint(&location, credentials, env)?;
            scan_blob(&*endpoint, &file).await?
        }
    };
    Ok(numbered(
        found
            .into_iter()
            .map(|k| Kept {
                original: location_key(path),
                ..k
            })
            .collect(),
    ))
}

/// The files below `root` whose names are versions of `file`.
fn scan_local(root: &Path, file: &str) -> Vec<Kept> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                folders.push(entry.path());
            } else if meta.is_file() && is_version_name(&entry.file_name().to_string_lossy(), file)
            {
                found.push(Kept {
                    number: 0,
                    original: String::new(),
                    kept: entry.path().display().to_string(),
                    time_ms: crate::endpoint::mtime_ns(&meta) / 1_000_000,
                    size: meta.len(),
                    job_id: String::new(),
                });
            }
        }
    }
    found
}

/// The blobs of `endpoint` whose names are versions of `file`.
async fn scan_blob(endpoint: &dyn Endpoint, file: &str) -> Result<Vec<Kept>, Failure> {
    let items = list_items(endpoint, Vec::new()).await?;
    Ok(items
        .into_iter()
        .filter(|item| is_version_name(item.path.rsplit('/').next().unwrap_or(""), file))
        .map(|item| Kept {
            number: 0,
            original: String::new(),
            kept: endpoint.describe_path(&item.path),
            time_ms: item.mtime_ns / 1_000_000,
            size: item.size,
            job_id: String::new(),
        })
        .collect())
}

async fn restore(args: &BackupsRestoreArgs, env: &Environment) -> Result<(), Failure> {
    let versions = versions(
        &args.path,
        args.backup_dir.as_deref(),
        &args.credentials,
        env,
    )
    .await?;
    let version = versions
        .iter()
        .find(|v| v.number == args.version)
        .ok_or_else(|| {
            usage(format!(
                "{} has no kept version {} ({} known; see `blobsync backups list {}`)",
                location_key(&args.path),
                args.version,
                versions.len(),
                args.path
            ))
        })?;
    let to = args.to.clone().unwrap_or_else(|| args.path.clone());
    let urls = url_context(&args.credentials, env).map_err(|e| usage(e.to_string()))?;
    let parse = |text: &str| parse_location(text, &urls).map_err(|e| usage(e.to_string()));
    // The kept version's URL carries no SAS: it borrows one given for the same account.
    let mut given = vec![parse(&args.path)?];
    if let Some(dir) = &args.backup_dir {
        given.push(parse(dir)?);
    }
    let kept = with_sas_of(parse(&version.kept)?, &given);
    let dest = with_sas_of(parse(&to)?, &given);
    // With a backup location, what the restore replaces is kept there first, beside the
    // version restored.
    let keep_first = args
        .backup_dir
        .is_some()
        .then(|| replaced_name(&kept, &dest));
    let replaced = match (kept, dest, keep_first) {
        (Location::Local(from), Location::Local(to), keep) => {
            let keep = keep.and_then(|k| match k {
                Location::Local(p) => Some(p),
                Location::Blob(_) => None,
            });
            restore_file(&from, &to, keep.as_deref(), args.force)?
        }
        (Location::Blob(from), Location::Blob(to), keep) => {
            let keep = keep.and_then(|k| match k {
                Location::Blob(b) => Some(b),
                Location::Local(_) => None,
            });
            let restore = super::backup_restore::Restore {
                credentials: &args.credentials,
                env,
                force: args.force,
            };
            restore.blob(&from, &to, keep.as_ref()).await?
        }
        _ => {
            return Err(usage(
                "a kept version is restored to the kind of place it was kept from: a local \
                 file to a local path, a blob to a blob URL",
            ));
        }
    };
    if let Some(replaced) = replaced {
        println!("kept the version that was at {to} as {replaced}");
    }
    println!("restored {} to {to}", version.kept);
    Ok(())
}

/// `location` with the SAS of one of `given` for the same account, if it has none.
fn with_sas_of(location: Location, given: &[Location]) -> Location {
    match location {
        Location::Blob(mut blob) if blob.sas.is_none() => {
            blob.sas = given.iter().find_map(|g| match g {
                Location::Blob(other) if other.endpoint == blob.endpoint => other.sas.clone(),
                _ => None,
            });
            Location::Blob(blob)
        }
        other => other,
    }
}

/// Where a restore keeps what it replaces: beside the kept version `kept`, under the
/// destination's name and `-replaced-` with the time (`notes.txt-replaced-20261206T224450Z`).
fn replaced_name(kept: &Location, dest: &Location) -> Location {
    let now = blobsync_plugin::format_rfc3339_ns(crate::sync::now_ms().saturating_mul(1_000_000));
    let stamp: String = now
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .chain(['Z'])
        .collect();
    let file_of = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    let name = match dest {
        Location::Local(p) => p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Location::Blob(b) => file_of(&b.prefix),
    };
    let name = format!("{name}-replaced-{stamp}");
    match kept {
        Location::Local(p) => Location::Local(p.with_file_name(name)),
        Location::Blob(b) => {
            let mut b = b.clone();
            b.prefix = match b.prefix.rsplit_once('/') {
                Some((folder, _)) => format!("{folder}/{name}"),
                None => name,
            };
            Location::Blob(b)
        }
    }
}

/// Copies `from` to `to` through a temporary file beside it, keeping its time; what is at
/// `to` is first copied to `keep`, if given, else replaced only with `force`. Returns
/// where it was kept.
fn restore_file(
    from: &Path,
    to: &Path,
    keep: Option<&Path>,
    force: bool,
) -> Result<Option<String>, Failure> {
    let mut kept = None;
    if to.symlink_metadata().is_ok() {
        match keep {
            Some(keep) if to.is_file() => {
                copy_file(to, keep)?;
                kept = Some(keep.display().to_string());
            }
            _ if force => {}
            _ => {
                return Err(usage(format!(
                    "{} exists; add --force to replace it, or --backup-dir to keep it there \
                     first",
                    to.display()
                )));
            }
        }
    }
    copy_file(from, to)?;
    Ok(kept)
}

/// Copies a file through a temporary file beside `to`, keeping its modification time.
fn copy_file(from: &Path, to: &Path) -> Result<(), Failure> {
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix(".blobsync-restore-")
        .tempfile_in(parent)
        .map_err(|e| failed(format!("cannot write in {}: {e}", parent.display())))?;
    std::fs::copy(from, tmp.path())
        .map_err(|e| failed(format!("cannot read {}: {e}", from.display())))?;
    if let Ok(modified) = std::fs::metadata(from).and_then(|m| m.modified()) {
        let _ = tmp
            .as_file()
            .set_times(std::fs::FileTimes::new().set_modified(modified));
    }
    tmp.persist(to)
        .map_err(|e| failed(format!("cannot put {} in place: {}", to.display(), e.error)))?;
    Ok(())
}
