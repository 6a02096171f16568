//! Validating `blobsync sync` flags, once, into [`Settings`]: the [`SyncConfig`] a session
//! runs, and how the run is printed and recorded. Nothing after this reads raw flags.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{AuthArgs, CompareHash, NameEncoding, OutputType, SyncArgs};
use super::network_flags::{auth_options, given, retry_settings, timeouts};
pub use super::usage::UsageError;
use super::usage::usage;
use crate::console::{OutputMode, Verbosity};
use crate::endpoint::azure::{Addressing, BlobLocation, ConnectionString, is_url};
use crate::jobs::ItemRecords;
use crate::plugin::{PluginKind, PluginSources, PluginSpec};
use crate::sync::{DeleteMode, Direction, Location, SyncConfig, TransferOptions, WatchOptions};
use crate::units::ByteSize;

/// Files transferred at once unless told otherwise.
const DEFAULT_CONCURRENCY: usize = 32;
/// The shortest `--watch-rescan`.
const MIN_RESCAN: Duration = Duration::from_secs(10);

/// Everything `blobsync sync` was asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sync.
    pub sync: SyncConfig,
    /// Text or JSON.
    pub output: OutputMode,
    /// How much is printed.
    pub verbosity: Verbosity,
    /// Show the live progress display (stderr is a terminal).
    pub progress: bool,
    /// A status line on stderr this often, when it is not a terminal (`--stats`).
    pub stats: Option<Duration>,
    /// Where each run's metrics go (`--metrics-file`).
    pub metrics_file: Option<PathBuf>,
    /// Which items job records keep.
    pub job_items: ItemRecords,
    /// The database (MD5 cache, job records); `None` runs without one.
    pub database: Option<PathBuf>,
    /// Only these relative paths (`--include-path`, `--files-from`); empty: everything.
    pub scopes: Vec<String>,
    /// How the flags and the manifest made `sync.plugins` (watch mode reloads them).
    pub plugin_sources: PluginSources,
}

/// Files up to this size go up in one request unless the flags say otherwise.
const DEFAULT_PUT_BLOB_SIZE: u64 = 64 << 20;

/// The smallest block: smaller ones turn a file into needlessly many requests.
const MIN_BLOCK: u64 = 64 << 10;

/// A size given in MiB (a fraction allowed, as azcopy allows), as bytes: a whole number
/// of them, more than 0 and at most 4000 MiB, and at least `min` bytes.
fn mib(value: f64, flag: &str, min: u64) -> Result<u64, UsageError> {
    if !(value > 0.0 && value <= 4000.0) {
        return Err(usage(format!(
            "{flag} {value}: it must be more than 0 and at most 4000 (MiB)"
        )));
    }
    let bytes = value * 1024.0 * 1024.0;
    if bytes.fract() != 0.0 {
        return Err(usage(format!(
            "{flag} {value}: that is {bytes} bytes; it must come to a whole number of bytes \
             (e.g. 0.5 for 512 KiB)"
        )));
    }
    let bytes = bytes as u64;
    if bytes < min {
        return Err(usage(format!(
            "{flag} {value}: that is {bytes} bytes; it must be at least {} ({min} bytes)",
            min as f64 / (1024.0 * 1024.0)
        )));
    }
    Ok(bytes)
}

pub(super) fn parse_location(arg: &str, context: &UrlContext) -> Result<Location, UsageError> {
    if !is_url(arg) {
        return Ok(Location::Local(PathBuf::from(arg)));
    }
    let mut location =
        BlobLocation::parse_with(arg, &context.addressing).map_err(|e| usage(e.to_string()))?;
    // A connection string's SAS authorises a URL that carries none, in its account.
    let account_matches = context
        .account
        .as_ref()
        .is_none_or(|a| *a == location.account);
    if location.sas.is_none() && account_matches {
        location.sas.clone_from(&context.sas);
    }
    location.encode_names = context.encode_names;
    Ok(Location::Blob(location))
}

/// What reading blob URLs needs from flags and the connection string.
pub(super) struct UrlContext {
    addressing: Addressing,
    sas: Option<String>,
    /// The account the connection string names, if it does.
    account: Option<String>,
    encode_names: bool,
}

pub(super) fn url_context(args: &AuthArgs) -> Result<UrlContext, UsageError> {
    let cs = match std::env::var("AZURE_STORAGE_CONNECTION_STRING") {
        Ok(text) if !text.trim().is_empty() => ConnectionString::parse(&text)
            .map_err(|e| usage(format!("AZURE_STORAGE_CONNECTION_STRING: {e}")))?,
        _ => ConnectionString::default(),
    };
    let endpoint = match (&args.blob_endpoint, &cs.blob_endpoint) {
        (Some(flag), _) => Some((flag.as_str(), "--blob-endpoint")),
        (None, Some(cs)) => Some((cs.as_str(), "the connection string's BlobEndpoint")),
        (None, None) => None,
    };
    let blob_endpoint = endpoint
        .map(|(text, from)| {
            url::Url::parse(text.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    usage(format!(
                        "{from} {text:?} is not an http(s) URL such as \
                         https://files.example.com or http://azurite:10000/devstoreaccount1"
                    ))
                })
        })
        .transpose()?;
    Ok(UrlContext {
        addressing: Addressing {
            blob_endpoint,
            account: cs.account_name.clone(),
        },
        sas: cs.sas.clone(),
        account: cs.account_name.clone(),
        encode_names: args.name_encoding == NameEncoding::Rclone,
    })
}

/// Where the plugins of a run come from: the built-ins configured by flags, and the
/// manifest (read by [`PluginSources::resolve`], again on changes in watch mode).
pub(crate) fn plugin_sources(args: &SyncArgs) -> Result<PluginSources, UsageError> {
    let mut filters = Vec::new();
    let mut flag_config: Vec<(String, String)> = [
        ("include-pattern", &args.include_pattern),
        ("exclude-pattern", &args.exclude_pattern),
        ("exclude-path", &args.exclude_path),
        ("include-regex", &args.include_regex),
        ("exclude-regex", &args.exclude_regex),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
    .collect();
    flag_config.extend(args.selection.filter_config());
    if !flag_config.is_empty() {
        filters.push(PluginSpec::builtin(
            PluginKind::Filter,
            "glob-filter",
            flag_config,
            "command-line flags",
        ));
    }
    let switches = args.selection.switches();
    let mut config: Vec<(String, String)> = switches
        .iter()
        .map(|(key, _)| (key.to_string(), "true".to_string()))
        .collect();
    let mut flags: Vec<String> = switches.iter().map(|(_, f)| f.to_string()).collect();
    let missing = args.selection.missing_md5;
    let name = match args.compare_hash {
        CompareHash::Md5 => {
            if let Some((_, flag)) = switches
                .iter()
                .find(|(key, _)| matches!(*key, "size-only" | "mirror-mode"))
            {
                return Err(usage(format!(
                    "{flag} cannot be combined with --compare-hash=MD5, which compares content"
                )));
            }
            flags.insert(0, "--compare-hash=MD5".into());
            if let Some(missing) = missing {
                config.push(("missing-md5".into(), missing.config_value().to_string()));
                flags.push("--missing-md5".into());
            }
            "md5-compare"
        }
        CompareHash::None => {
            if missing.is_some() {
                return Err(usage(
                    "--missing-md5 applies with --compare-hash=MD5 (without it, sizes and \
                     times are compared)",
                ));
            }
            "mtime-compare"
        }
    };
    // Both comparators take it (md5-compare when an MD5 is missing and
    // --missing-md5=size-time).
    if let Some(window) = args.modify_window {
        // The comparators read whole nanoseconds.
        config.push((
            "modify-window".into(),
            format!("{}ns", window.duration().as_nanos()),
        ));
        flags.push("--modify-window".into());
    }
    let comparator_flag = (!flags.is_empty()).then(|| flags.join(", "));
    let comparator = PluginSpec::builtin(
        PluginKind::Comparator,
        name,
        config,
        comparator_flag.as_deref().unwrap_or("command-line flags"),
    );
    Ok(PluginSources {
        filters,
        comparator,
        comparator_flag,
        annotators: Vec::new(),
        manifest: args.plugins.clone(),
    })
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
    let rescan = args.watch_rescan.duration();
    if rescan < MIN_RESCAN {
        return Err(usage(format!(
            "--watch-rescan {}: a full sync at most every {} s (notifications catch changes in \
             between)",
            args.watch_rescan,
            MIN_RESCAN.as_secs()
        )));
    }
    Ok(Some(WatchOptions {
        debounce: Duration::from_millis(args.watch_debounce_ms),
        rescan,
    }))
}

/// Validates `blobsync sync` flags.
pub fn settings(args: &SyncArgs) -> Result<Settings, UsageError> {
    let urls = url_context(&args.credentials)?;
    let source = parse_location(&args.source, &urls)?;
    let destination = parse_location(&args.destination, &urls)?;
    let backup_location = args
        .backup_dir
        .as_deref()
        .map(|b| parse_location(b, &urls))
        .transpose()
        .map_err(|e| usage(format!("--backup-dir: {e}")))?;
    let backup = super::backup_flags::backup(
        backup_location,
        args.suffix.as_deref(),
        args.suffix_keep_extension,
        &destination,
    )
    .map_err(UsageError)?;
    let direction = Direction::between(&source, &destination).map_err(usage)?;
    if let Some(given) = args.from_to {
        let inferred = match direction {
            Direction::Upload => super::args::FromTo::LocalBlob,
            Direction::Download => super::args::FromTo::BlobLocal,
            Direction::Copy => super::args::FromTo::BlobBlob,
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
    let block_size = mib(
        args.block_size_mb.unwrap_or(8.0),
        "--block-size-mb",
        MIN_BLOCK,
    )?;
    let put_blob_size = match (args.put_blob_size_mb, args.block_size_mb) {
        (Some(v), _) => mib(v, "--put-blob-size-mb", 1)?,
        // The block size given: azcopy's threshold.
        (None, Some(_)) => block_size,
        // One request moves a file up to 64 MiB faster than staged blocks do (one write at
        // the service instead of blocks and a commit); larger files stay resumable.
        (None, None) => DEFAULT_PUT_BLOB_SIZE.max(block_size),
    };
    let concurrency = match given(
        args.concurrency.as_deref(),
        "--concurrency",
        "AZCOPY_CONCURRENCY_VALUE",
    ) {
        None => DEFAULT_CONCURRENCY,
        Some(g) if g.value.eq_ignore_ascii_case("auto") => DEFAULT_CONCURRENCY,
        Some(g) => match g.value.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(usage(format!(
                    "{}: the concurrency must be a number from 1 to 1000, or AUTO",
                    g.label()
                )));
            }
        },
    };
    if args.cap_mbps.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
        return Err(usage(
            "--cap-mbps must be a positive number of megabits per second",
        ));
    }
    let buffer_mb = match given(
        args.buffer_mb.as_deref(),
        "--buffer-mb",
        "BLOBSYNC_BUFFER_MB",
    ) {
        None => 64,
        Some(g) => match g.value.trim().parse::<u64>() {
            Ok(n) if (8..=1 << 20).contains(&n) => n,
            _ => {
                return Err(usage(format!(
                    "{}: the buffer must be a number of MiB, at least 8",
                    g.label()
                )));
            }
        },
    };
    let max_delete = match args.max_delete {
        Some(n) if n < 0 => {
            return Err(usage(format!(
                "--max-delete {n}: it must be 0 or more (the most entries one run may delete)"
            )));
        }
        other => other.map(|n| n as u64),
    };
    let scopes = super::scope_flags::scopes(args.include_path.as_deref(), &args.files_from)
        .map_err(UsageError)?;
    if scopes.is_some() && args.watch {
        return Err(usage(
            "--include-path and --files-from cannot be combined with --watch, which syncs what changes",
        ));
    }
    let watch = watch_options(args, direction)?;
    let auth = auth_options(&args.credentials)?;
    let mut sources = plugin_sources(args)?;
    sources
        .annotators
        .extend(super::content_flags::annotator(args, direction).map_err(UsageError)?);
    let plugins = sources
        .clone()
        .resolve()
        .map_err(|e| usage(e.to_string()))?;
    let sync = SyncConfig {
        source,
        destination,
        direction,
        auth,
        plugins,
        delete: args.delete_destination,
        max_delete,
        max_changes: args
            .max_changes
            .as_deref()
            .map(super::limit_flags::max_changes)
            .transpose()
            .map_err(UsageError)?,
        max_transfer: args.max_transfer.map(ByteSize::bytes),
        max_duration: super::limit_flags::positive("--max-duration", args.max_duration)
            .map_err(UsageError)?,
        dry_run: args.dry_run,
        allow_empty_source: args.allow_empty_source,
        check: None,
        missing_md5: args
            .selection
            .missing_md5
            .map(Into::into)
            .unwrap_or_default(),
        list_parallelism: args.list_parallelism.into(),
        backup,
        transfer: TransferOptions {
            block_size,
            put_blob_size,
            blocks_in_flight: 8,
            check_md5: args.check_md5,
            put_md5: args.put_md5,
        },
        concurrency,
        buffer_bytes: buffer_mb << 20,
        cap_mbps: args.cap_mbps,
        follow_symlinks: args.follow_symlinks,
        cache_dir: cache_dir(),
        hash_workers: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2),
        watch,
        retry: retry_settings(args)?,
        timeouts: timeouts(args)?,
        blob: super::blob_flags::blob_options(args, direction).map_err(UsageError)?,
        shard: super::shard_flags::shard(
            args.shard.as_deref(),
            args.shards.as_deref(),
            std::env::var(super::shard_flags::INDEX_VARIABLE)
                .ok()
                .as_deref(),
        )
        .map_err(UsageError)?,
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
        metrics_file: args.metrics_file.clone(),
        stats: super::limit_flags::positive("--stats", args.stats).map_err(UsageError)?,
        job_items: args.job_items,
        database: crate::store::default_path(),
        scopes: scopes.unwrap_or_default(),
        plugin_sources: sources,
        sync,
    })
}

/// Validates `blobsync check`: a dry run that reports differences, with content compared
/// by hash (`--compare-hash=MD5`) or by reading it (`--download`).
pub fn check_settings(args: &super::args::CheckArgs) -> Result<Settings, UsageError> {
    let sync = &args.sync;
    for (given, flag) in [
        (
            sync.delete_destination != DeleteMode::False,
            "--delete-destination",
        ),
        (sync.dry_run, "--dry-run"),
        (sync.watch, "--watch"),
        (sync.max_changes.is_some(), "--max-changes"),
        (sync.max_delete.is_some(), "--max-delete"),
        (sync.max_transfer.is_some(), "--max-transfer"),
        (sync.max_duration.is_some(), "--max-duration"),
        (sync.overwrite_archived, "--overwrite-archived"),
        (sync.content_type.is_some(), "--content-type"),
        (sync.cache_control.is_some(), "--cache-control"),
        (sync.content_encoding.is_some(), "--content-encoding"),
        (sync.content_disposition.is_some(), "--content-disposition"),
        (sync.content_language.is_some(), "--content-language"),
        (
            sync.cache_control_preset.is_some(),
            "--cache-control-preset",
        ),
        (sync.block_blob_tier.is_some(), "--block-blob-tier"),
        (sync.metadata.is_some(), "--metadata"),
        (sync.blob_tags.is_some(), "--blob-tags"),
    ] {
        if given {
            return Err(usage(format!(
                "{flag} does not apply to `blobsync check`, which changes nothing"
            )));
        }
    }
    let mut settings = settings(sync)?;
    let config = &mut settings.sync;
    config.dry_run = true;
    config.delete = if args.one_way {
        DeleteMode::False
    } else {
        DeleteMode::True
    };
    if args.download
        && sync.compare_hash == CompareHash::None
        && config.plugins.comparator.name == "mtime-compare"
    {
        config.plugins.comparator = PluginSpec::builtin(
            PluginKind::Comparator,
            "md5-compare",
            Vec::new(),
            "--download",
        );
    }
    config.check = Some(crate::sync::CheckMode {
        download: args.download,
    });
    Ok(settings)
}

/// Where compiled plugins are cached: `BLOBSYNC_CACHE_DIR`, else the user's cache dir.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("BLOBSYNC_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("wasm")),
        _ => dirs::cache_dir().map(|d| d.join("blobsync").join("wasm")),
    }
}
