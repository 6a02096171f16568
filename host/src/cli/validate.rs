//! Validating `blobsync sync` flags, once, into [`Settings`]: the [`SyncConfig`] a session
//! runs, and how the run is printed and recorded. Nothing after this reads raw flags.
//!
//! Each part of the configuration is read by a step of its own, most of them beside this
//! file: `locations`, `transfer_flags`, `watch_flags`, `plugin_flags` and the other
//! `*_flags` files.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{CompareHash, OutputType, SyncArgs};
use super::environment::Environment;
use super::locations::{Locations, locations};
// `backups` reads locations through these paths.
pub(super) use super::locations::{parse_location, url_context};
use super::network_flags::{auth_options, retry_settings, timeouts};
use super::plugin_flags::plugins;
use super::transfer_flags::{Transfer, transfer};
pub use super::usage::UsageError;
use super::usage::usage;
use super::watch_flags::watch_options;
use crate::console::{OutputMode, Verbosity};
use crate::jobs::ItemRecords;
use crate::plugin::{PluginKind, PluginSources, PluginSpec};
use crate::sync::{ChangeLimit, DeleteMode, Shard, SyncConfig};
use crate::units::ByteSize;

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

/// Validates `blobsync sync` flags. The steps read the flags in a fixed order, and the
/// first that refuses one ends the validation: of two mistakes, the same one is always
/// reported.
pub fn settings(args: &SyncArgs, env: &Environment) -> Result<Settings, UsageError> {
    let Locations {
        source,
        destination,
        backup,
        direction,
    } = locations(args, env)?;
    refuse_unworkable(args)?;
    let Transfer {
        options: transfer,
        concurrency,
        cap_mbps,
        buffer_bytes,
    } = transfer(args)?;
    let max_delete = max_delete(args)?;
    let scopes = scopes(args)?;
    let watch = watch_options(args, direction)?;
    let auth = auth_options(&args.credentials, env)?;
    let (plugin_sources, plugins) = plugins(args, direction)?;
    let RunLimits {
        max_changes,
        max_transfer,
        max_duration,
    } = run_limits(args)?;
    let sync = SyncConfig {
        source,
        destination,
        direction,
        auth,
        plugins,
        delete: args.delete_destination,
        max_delete,
        max_changes,
        max_transfer,
        max_duration,
        dry_run: args.dry_run,
        allow_empty_source: args.allow_empty_source,
        check: None,
        missing_md5: args
            .selection
            .missing_md5
            .map(Into::into)
            .unwrap_or_default(),
        list_parallelism: args.network.list_parallelism.into(),
        backup,
        transfer,
        concurrency,
        buffer_bytes,
        cap_mbps,
        follow_symlinks: args.follow_symlinks,
        cache_dir: env.cache_dir().map(Into::into),
        hash_workers: hash_workers(),
        watch,
        retry: retry_settings(&args.network)?,
        timeouts: timeouts(&args.network, env)?,
        blob: super::blob_flags::blob_options(args, direction, env).map_err(UsageError)?,
        shard: shard(args, env)?,
    };
    output_settings(args, env, sync, scopes, plugin_sources)
}

/// Refuses flags that cannot work as given: comparing MD5s that are not written, and
/// asking before deleting with no terminal to ask on.
fn refuse_unworkable(args: &SyncArgs) -> Result<(), UsageError> {
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
    Ok(())
}

/// `--max-delete`: the most entries one run may delete.
fn max_delete(args: &SyncArgs) -> Result<Option<u64>, UsageError> {
    match args.max_delete {
        Some(n) if n < 0 => Err(usage(format!(
            "--max-delete {n}: it must be 0 or more (the most entries one run may delete)"
        ))),
        other => Ok(other.map(|n| n as u64)),
    }
}

/// `--include-path` and `--files-from`: the only paths synced (`None`: everything). Watch
/// mode syncs what changes, so it takes neither.
fn scopes(args: &SyncArgs) -> Result<Option<Vec<String>>, UsageError> {
    let scopes = super::scope_flags::scopes(args.include_path.as_deref(), &args.files_from)
        .map_err(UsageError)?;
    if scopes.is_some() && args.watch {
        return Err(usage(
            "--include-path and --files-from cannot be combined with --watch, which syncs what changes",
        ));
    }
    Ok(scopes)
}

/// The limits a run refuses its plan at or stops at.
struct RunLimits {
    /// `--max-changes`.
    max_changes: Option<ChangeLimit>,
    /// `--max-transfer`, in bytes.
    max_transfer: Option<u64>,
    /// `--max-duration`.
    max_duration: Option<Duration>,
}

/// `--max-changes`, `--max-transfer` and `--max-duration`.
fn run_limits(args: &SyncArgs) -> Result<RunLimits, UsageError> {
    Ok(RunLimits {
        max_changes: args
            .max_changes
            .as_deref()
            .map(super::limit_flags::max_changes)
            .transpose()
            .map_err(UsageError)?,
        max_transfer: args.max_transfer.map(ByteSize::bytes),
        max_duration: super::limit_flags::positive("--max-duration", args.max_duration)
            .map_err(UsageError)?,
    })
}

/// Threads hashing local files: one per CPU, and at least two.
fn hash_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// `--shard K/N`, or `--shards N` with the index from the environment.
fn shard(args: &SyncArgs, env: &Environment) -> Result<Option<Shard>, UsageError> {
    super::shard_flags::shard(
        args.shard.as_deref(),
        args.shards.as_deref(),
        env.job_completion_index(),
    )
    .map_err(UsageError)
}

/// How the run is printed and recorded, around its `sync` configuration.
fn output_settings(
    args: &SyncArgs,
    env: &Environment,
    sync: SyncConfig,
    scopes: Option<Vec<String>>,
    plugin_sources: PluginSources,
) -> Result<Settings, UsageError> {
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
        database: env.database(),
        scopes: scopes.unwrap_or_default(),
        plugin_sources,
        sync,
    })
}

/// Validates `blobsync check`: a dry run that reports differences, with content compared
/// by hash (`--compare-hash=MD5`) or by reading it (`--download`).
pub fn check_settings(
    args: &super::args::CheckArgs,
    env: &Environment,
) -> Result<Settings, UsageError> {
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
        (sync.backup_dir.is_some(), "--backup-dir"),
        (sync.suffix.is_some(), "--suffix"),
        (sync.block_size_mb.is_some(), "--block-size-mb"),
        (sync.put_blob_size_mb.is_some(), "--put-blob-size-mb"),
        (sync.allow_empty_source, "--allow-empty-source"),
    ] {
        if given {
            return Err(usage(format!(
                "{flag} does not apply to `blobsync check`, which changes nothing"
            )));
        }
    }
    let mut settings = settings(sync, env)?;
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::check_settings;

    /// Flags that only shape what a sync writes or deletes are refused by `check`, which
    /// changes nothing, naming the flag.
    #[test]
    fn check_refuses_every_flag_about_writing() {
        for flag in [
            &["--delete-destination=true"][..],
            &["--dry-run"],
            &["--max-changes", "5"],
            &["--max-delete", "5"],
            &["--max-transfer", "1G"],
            &["--max-duration", "1h"],
            &["--overwrite-archived"],
            &["--content-type", "text/plain"],
            &["--cache-control", "no-cache"],
            &["--metadata", "a=b"],
            &["--blob-tags", "a=b"],
            &["--block-blob-tier", "Cool"],
            &["--backup-dir", "/tmp/kept"],
            &["--suffix=.old"],
            &["--block-size-mb", "8"],
            &["--put-blob-size-mb", "8"],
            &["--allow-empty-source"],
        ] {
            let mut argv = vec![
                "blobsync",
                "check",
                "/tmp",
                "http://127.0.0.1:1/devstoreaccount1/c0ntainer",
            ];
            argv.extend(flag);
            let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{flag:?}: {e}"));
            let Command::Check(args) = cli.command else {
                panic!("not a check")
            };
            let error = check_settings(&args, &super::Environment::capture())
                .err()
                .map(|e| e.to_string());
            let name = flag[0].split('=').next().unwrap();
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains(name) && e.contains("changes nothing")),
                "{flag:?}: {error:?}"
            );
        }
    }
}
