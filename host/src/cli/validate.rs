//! Validating `blobsync sync` flags, once, into [`Settings`]: the [`SyncConfig`] a session
//! runs, and how the run is printed and recorded. Nothing after this reads raw flags.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{CompareHash, OutputType, SyncArgs};
use crate::console::{OutputMode, Verbosity};
use crate::endpoint::azure::{AuthMode, AuthOptions, BlobLocation, EntraOptions, is_url};
use crate::jobs::ItemRecords;
use crate::plugin::{PluginKind, PluginSources, PluginSpec};
use crate::sync::{DeleteMode, Direction, Location, SyncConfig, TransferOptions, WatchOptions};

/// A command line that cannot be run; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// Everything `blobsync sync` was asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sync.
    pub sync: SyncConfig,
    /// Text or JSON.
    pub output: OutputMode,
    /// How much is printed.
    pub verbosity: Verbosity,
    /// Show a progress line (text output to a terminal).
    pub progress: bool,
    /// Which items job records keep.
    pub job_items: ItemRecords,
    /// The database (MD5 cache, job records); `None` runs without one.
    pub database: Option<PathBuf>,
}

fn mib(value: f64, flag: &str) -> Result<u64, UsageError> {
    if !(value > 0.0 && value <= 4000.0) {
        return Err(usage(format!(
            "{flag} must be more than 0 and at most 4000 (MiB)"
        )));
    }
    Ok((value * 1024.0 * 1024.0) as u64)
}

fn parse_location(arg: &str) -> Result<Location, UsageError> {
    if is_url(arg) {
        BlobLocation::parse(arg)
            .map(Location::Blob)
            .map_err(|e| usage(e.to_string()))
    } else {
        Ok(Location::Local(PathBuf::from(arg)))
    }
}

/// Where the plugins of a run come from: the built-ins configured by flags, and the
/// manifest (read by [`PluginSources::resolve`], again on changes in watch mode).
pub(crate) fn plugin_sources(args: &SyncArgs) -> PluginSources {
    let mut filters = Vec::new();
    let flag_config: Vec<(String, String)> = [
        ("include-pattern", &args.include_pattern),
        ("exclude-pattern", &args.exclude_pattern),
        ("exclude-path", &args.exclude_path),
        ("include-regex", &args.include_regex),
        ("exclude-regex", &args.exclude_regex),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
    .collect();
    if !flag_config.is_empty() {
        filters.push(PluginSpec::builtin(
            PluginKind::Filter,
            "glob-filter",
            flag_config,
            "command-line flags",
        ));
    }
    let (comparator, comparator_flag) = match args.compare_hash {
        CompareHash::Md5 => (
            PluginSpec::builtin(
                PluginKind::Comparator,
                "md5-compare",
                Vec::new(),
                "--compare-hash=MD5",
            ),
            Some("--compare-hash=MD5".to_string()),
        ),
        CompareHash::None => {
            let config = args
                .modify_window
                .iter()
                .map(|w| ("modify-window".to_string(), w.clone()))
                .collect();
            (
                PluginSpec::builtin(
                    PluginKind::Comparator,
                    "mtime-compare",
                    config,
                    "command-line flags",
                ),
                args.modify_window
                    .as_ref()
                    .map(|_| "--modify-window".to_string()),
            )
        }
    };
    PluginSources {
        filters,
        comparator,
        comparator_flag,
        annotators: Vec::new(),
        manifest: args.plugins.clone(),
    }
}

/// Watch settings, validated.
fn watch_options(
    args: &SyncArgs,
    direction: Direction,
) -> Result<Option<WatchOptions>, UsageError> {
    if !args.watch {
        return Ok(None);
    }
    if direction != Direction::Upload {
        return Err(usage(
            "--watch syncs a local folder to a container; the source must be the local folder",
        ));
    }
    if args.dry_run {
        return Err(usage("--watch and --dry-run cannot be combined"));
    }
    if args.delete_destination == DeleteMode::Prompt {
        return Err(usage(
            "--watch cannot ask before deleting; use --delete-destination=true with --max-delete",
        ));
    }
    let rescan = crate::jobs::parse_age(&args.watch_rescan)
        .map_err(|e| usage(format!("--watch-rescan: {e}")))?;
    Ok(Some(WatchOptions {
        debounce: Duration::from_millis(args.watch_debounce_ms),
        rescan,
    }))
}

/// Credentials from flags and the environment.
fn auth_options(args: &SyncArgs) -> AuthOptions {
    let connection_string = std::env::var("AZURE_STORAGE_CONNECTION_STRING")
        .ok()
        .filter(|s| !s.is_empty());
    let mut entra = EntraOptions::from_env();
    entra.managed_identity |= args.identity;
    if let Some(id) = &args.identity_client_id {
        entra.identity = Some(azure_identity::UserAssignedId::ClientId(id.clone()));
    } else if let Some(id) = &args.identity_object_id {
        entra.identity = Some(azure_identity::UserAssignedId::ObjectId(id.clone()));
    } else if let Some(id) = &args.identity_resource_id {
        entra.identity = Some(azure_identity::UserAssignedId::ResourceId(id.clone()));
    }
    if let Some(suffixes) = &args.trusted_microsoft_suffixes {
        entra.trusted_suffixes = suffixes
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(String::from)
            .collect();
    }
    let mode = if args.identity && args.auth == AuthMode::Auto {
        AuthMode::ManagedIdentity
    } else {
        args.auth
    };
    AuthOptions {
        mode,
        account_key: args.account_key.clone().filter(|k| !k.is_empty()),
        connection_string,
        entra,
    }
}

/// Validates `blobsync sync` flags.
pub fn settings(args: &SyncArgs) -> Result<Settings, UsageError> {
    let source = parse_location(&args.source)?;
    let destination = parse_location(&args.destination)?;
    let direction = Direction::between(&source, &destination).map_err(usage)?;
    if let Some(given) = args.from_to {
        let inferred = match direction {
            Direction::Upload => super::args::FromTo::LocalBlob,
            Direction::Download => super::args::FromTo::BlobLocal,
        };
        if given != inferred {
            return Err(usage(format!(
                "--from-to {given:?} does not match the arguments, which are {inferred:?}"
            )));
        }
    }
    if !args.put_md5 && args.compare_hash == CompareHash::Md5 {
        return Err(usage(
            "--compare-hash=MD5 needs --put-md5 (it cannot be false)",
        ));
    }
    if args.delete_destination == DeleteMode::Prompt {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "--delete-destination=prompt needs a terminal to ask on, and stdin is not one; \
                 use --delete-destination=true (with --max-delete) for unattended runs",
            ));
        }
    }
    let block_size = mib(args.block_size_mb, "--block-size-mb")?;
    let put_blob_size = match args.put_blob_size_mb {
        Some(v) => mib(v, "--put-blob-size-mb")?,
        None => block_size,
    };
    let concurrency = args.concurrency.unwrap_or(32);
    if !(1..=1000).contains(&concurrency) {
        return Err(usage("--concurrency must be between 1 and 1000"));
    }
    if args.cap_mbps.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
        return Err(usage(
            "--cap-mbps must be a positive number of megabits per second",
        ));
    }
    if args.buffer_mb < 8 {
        return Err(usage("--buffer-mb must be at least 8"));
    }
    let watch = watch_options(args, direction)?;
    let plugins = plugin_sources(args)
        .resolve()
        .map_err(|e| usage(e.to_string()))?;
    let sync = SyncConfig {
        source,
        destination,
        direction,
        auth: auth_options(args),
        plugins,
        delete: args.delete_destination,
        max_delete: args.max_delete,
        dry_run: args.dry_run,
        transfer: TransferOptions {
            block_size,
            put_blob_size,
            blocks_in_flight: 8,
            check_md5: args.check_md5,
            put_md5: args.put_md5,
        },
        concurrency,
        buffer_bytes: args.buffer_mb << 20,
        cap_mbps: args.cap_mbps,
        follow_symlinks: args.follow_symlinks,
        cache_dir: cache_dir(),
        hash_workers: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2),
        watch,
    };
    Ok(Settings {
        output: match args.output_type {
            OutputType::Text => OutputMode::Text,
            OutputType::Json => OutputMode::Json,
        },
        verbosity: if args.quiet {
            Verbosity::Quiet
        } else if args.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
        progress: {
            use std::io::IsTerminal;
            std::io::stderr().is_terminal() && !args.watch
        },
        job_items: args.job_items,
        database: crate::store::default_path(),
        sync,
    })
}

/// Where compiled plugins are cached: `BLOBSYNC_CACHE_DIR`, else the user's cache dir.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("BLOBSYNC_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("wasm")),
        _ => dirs::cache_dir().map(|d| d.join("blobsync").join("wasm")),
    }
}
