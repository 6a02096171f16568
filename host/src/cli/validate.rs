//! Validating `blobsync sync` and `blobsync check` flags, once, into [`Settings`]: the
//! [`SyncConfig`] a session runs, and how the run is printed and recorded. Nothing after
//! this reads raw flags.
//!
//! The configuration starts from [`SyncConfig::default`]; the flag groups `sync` and
//! `check` share are read first, by the same steps for both ([`shared`]), then `sync`'s
//! own groups (`write_flags`), then the plugins are resolved and the output settled
//! ([`finish`]). Each step is a function of its own, most of them beside this file:
//! `locations`, `network_flags`, `plugin_flags`, `blob_flags`, `write_flags` and the
//! other `*_flags` files.

use std::path::PathBuf;
use std::time::Duration;

use super::args::{CheckArgs, CompareHash, OutputArgs, OutputType, Shared, SyncArgs};
use super::derived::Derived;
use super::environment::Environment;
use super::locations::locations;
// `backups` reads locations through these paths.
pub(super) use super::locations::{parse_location, url_context};
use super::network_flags::{Network, auth_options, network};
use super::plugin_flags::{plugin_sources, resolve};
pub use super::usage::UsageError;
use crate::console::{OutputMode, Verbosity};
use crate::jobs::ItemRecords;
use crate::plugin::{PluginKind, PluginSources, PluginSpec};
use crate::sync::{CheckMode, DeleteMode, SyncConfig};

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
    let groups = args.shared();
    let mut run = shared(&groups, env)?;
    super::write_flags::apply(args, &mut run)?;
    finish(run, groups.output, env)
}

/// Validates `blobsync check`: a dry run that reports differences, with content compared
/// by hash (`--compare-hash=MD5`) or by reading it (`--download`). Deletes are planned,
/// to be reported as what is only at the destination, unless `--one-way`.
pub fn check_settings(args: &CheckArgs, env: &Environment) -> Result<Settings, UsageError> {
    let groups = args.shared();
    let mut run = shared(&groups, env)?;
    run.config.dry_run = true;
    run.config.delete = if args.one_way {
        DeleteMode::False
    } else {
        DeleteMode::True
    };
    run.config.check = Some(CheckMode {
        download: args.download,
    });
    let mut settings = finish(run, groups.output, env)?;
    let config = &mut settings.sync;
    if args.download
        && args.compare.compare_hash == CompareHash::None
        && config.plugins.comparator.name == "mtime-compare"
    {
        config.plugins.comparator = PluginSpec::builtin(
            PluginKind::Comparator,
            "md5-compare",
            Vec::new(),
            "--download",
        );
    }
    Ok(settings)
}

/// What `sync` and `check` read alike from the groups they share, in order: the
/// locations, the network flags, the paths, the credentials, the plugins' sources, the
/// listing flags and the shard.
pub(super) fn shared(args: &Shared<'_>, env: &Environment) -> Result<Derived, UsageError> {
    let places = locations(args.locations, args.credentials, env)?;
    let Network {
        concurrency,
        cap_mbps,
        buffer_bytes,
        list_parallelism,
        retry,
        timeouts,
    } = network(args.network, env)?;
    let scopes = super::scope_flags::scopes(
        args.filters.include_path.as_deref(),
        &args.filters.files_from,
    )
    .map_err(UsageError)?;
    let auth = auth_options(args.credentials, env)?;
    let sources = plugin_sources(args)?;
    let config = SyncConfig {
        source: places.source.clone(),
        destination: places.destination.clone(),
        direction: places.direction,
        auth,
        missing_md5: args.compare.missing_md5.map(Into::into).unwrap_or_default(),
        list_parallelism,
        concurrency,
        buffer_bytes,
        cap_mbps,
        follow_symlinks: args.listing.follow_symlinks,
        cache_dir: env.cache_dir().map(Into::into),
        retry,
        timeouts,
        blob: super::blob_flags::blob_options(args.listing, env).map_err(UsageError)?,
        shard: super::shard_flags::shard(
            args.shard.shard.as_deref(),
            args.shard.shards.as_deref(),
            env.job_completion_index(),
        )
        .map_err(UsageError)?,
        ..SyncConfig::default()
    };
    Ok(Derived {
        config,
        places,
        sources,
        scopes,
    })
}

/// The run's settings: the plugins resolved (the manifest read), and how the run is
/// printed and recorded around its configuration.
pub(super) fn finish(
    run: Derived,
    args: &OutputArgs,
    env: &Environment,
) -> Result<Settings, UsageError> {
    let mut sync = run.config;
    sync.plugins = resolve(&run.sources)?;
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
            std::io::stderr().is_terminal() && sync.watch.is_none()
        },
        metrics_file: args.metrics_file.clone(),
        stats: super::limit_flags::positive("--stats", args.stats).map_err(UsageError)?,
        job_items: args.job_items,
        database: env.database(),
        scopes: run.scopes.unwrap_or_default(),
        plugin_sources: run.sources,
        sync,
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::super::{Cli, Command, Environment};
    use super::{check_settings, settings};

    /// The flags that only shape what a sync writes or deletes.
    const WRITE_FLAGS: &[&str] = &[
        "delete-destination",
        "max-delete",
        "allow-empty-source",
        "delete-snapshots",
        "max-changes",
        "max-transfer",
        "max-duration",
        "dry-run",
        "backup-dir",
        "suffix",
        "suffix-keep-extension",
        "put-md5",
        "check-md5",
        "block-size-mb",
        "put-blob-size-mb",
        "content-type",
        "cache-control",
        "content-encoding",
        "content-disposition",
        "content-language",
        "cache-control-preset",
        "block-blob-tier",
        "metadata",
        "blob-tags",
        "no-guess-mime-type",
        "overwrite-archived",
        "s2s-preserve-access-tier",
        "s2s-preserve-blob-tags",
        "s2s-stream",
        "watch",
        "watch-debounce-ms",
        "watch-rescan",
    ];

    fn longs(subcommand: &str) -> Vec<String> {
        let cli = Cli::command();
        let cmd = cli.find_subcommand(subcommand).unwrap();
        cmd.get_arguments()
            .filter_map(|a| a.get_long().map(String::from))
            .collect()
    }

    /// `check` changes nothing: its command has none of the flags that shape writes (so
    /// clap refuses them as unknown), while `sync` has every one.
    #[test]
    fn check_has_none_of_the_flags_about_writing() {
        let check = longs("check");
        let sync = longs("sync");
        for flag in WRITE_FLAGS {
            assert!(!check.contains(&flag.to_string()), "check has --{flag}");
            assert!(sync.contains(&flag.to_string()), "sync lacks --{flag}");
        }
        // Everything else `sync` has, `check` has too.
        for flag in &sync {
            assert!(
                check.contains(flag) || WRITE_FLAGS.contains(&flag.as_str()),
                "check lacks --{flag}, which changes nothing"
            );
        }
    }

    #[test]
    fn a_write_flag_given_to_check_is_an_unknown_argument() {
        let argv = [
            "blobsync",
            "check",
            "/tmp",
            "http://127.0.0.1:1/devstoreaccount1/c0ntainer",
            "--delete-destination",
            "true",
        ];
        let e = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument, "{e}");
    }

    #[test]
    fn check_is_a_dry_run_that_plans_deletes_unless_one_way() {
        let env = Environment::from_lookup(|_| None);
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "blobsync",
                "check",
                "/tmp",
                "http://127.0.0.1:1/devstoreaccount1/c0ntainer",
            ];
            argv.extend(extra);
            match Cli::try_parse_from(&argv).unwrap().command {
                Command::Check(args) => check_settings(&args, &env).unwrap().sync,
                _ => unreachable!(),
            }
        };
        let both = parse(&["--download"]);
        assert!(both.dry_run && both.check.is_some_and(|c| c.download));
        assert_eq!(both.delete, crate::sync::DeleteMode::True);
        assert_eq!(both.plugins.comparator.name, "md5-compare");
        assert_eq!(parse(&["--one-way"]).delete, crate::sync::DeleteMode::False);
    }

    /// A sync with no flags is `SyncConfig::default()` apart from what the arguments and
    /// the environment give.
    #[test]
    fn a_sync_without_flags_has_the_default_configuration() {
        let env = Environment::from_lookup(|_| None);
        let cli = Cli::try_parse_from([
            "blobsync",
            "sync",
            "/tmp",
            "http://127.0.0.1:1/devstoreaccount1/c0ntainer",
        ])
        .unwrap();
        let Command::Sync(args) = cli.command else {
            unreachable!()
        };
        let config = settings(&args, &env).unwrap().sync;
        let default = crate::sync::SyncConfig::default();
        assert_eq!(config.concurrency, default.concurrency);
        assert_eq!(config.buffer_bytes, default.buffer_bytes);
        assert_eq!(config.list_parallelism, default.list_parallelism);
        assert_eq!(config.transfer.block_size, default.transfer.block_size);
        assert_eq!(
            config.transfer.put_blob_size,
            default.transfer.put_blob_size
        );
        assert_eq!(
            config.transfer.blocks_in_flight,
            default.transfer.blocks_in_flight
        );
        assert_eq!(config.transfer.put_md5, default.transfer.put_md5);
        assert_eq!(config.transfer.check_md5, default.transfer.check_md5);
        assert_eq!(config.retry.max_retries, default.retry.max_retries);
        assert_eq!(config.retry.status_codes, default.retry.status_codes);
        assert_eq!(config.timeouts.stall, default.timeouts.stall);
        assert_eq!(config.timeouts.try_timeout, default.timeouts.try_timeout);
        assert_eq!(config.blob.guess_types, default.blob.guess_types);
        assert_eq!(config.blob.s2s, default.blob.s2s);
        assert_eq!(config.blob.archived, default.blob.archived);
        assert_eq!(config.blob.snapshots, default.blob.snapshots);
        assert_eq!(config.delete, default.delete);
        assert_eq!(config.plugins.comparator.name, "mtime-compare");
        assert!(config.watch.is_none() && !config.dry_run);
    }
}
