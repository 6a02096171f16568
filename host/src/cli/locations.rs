//! Where a sync reads and writes: the source and destination arguments (and
//! `--backup-dir`) read as local paths or blob URLs, with what the flags and the connection
//! string say about blob URLs, and the direction between them.

use std::path::PathBuf;

use super::args::{AuthArgs, BackupArgs, FromTo, LocationArgs, NameEncoding};
use super::environment::Environment;
use super::usage::{UsageError, usage};
use crate::endpoint::azure::{Addressing, BlobLocation, ConnectionString, is_url};
use crate::sync::{BackupConfig, Direction, Location};

/// Where a sync reads and writes, and which way it goes.
pub(super) struct Locations {
    /// What is read.
    pub(super) source: Location,
    /// What is written.
    pub(super) destination: Location,
    /// Upload, download or blob → blob.
    pub(super) direction: Direction,
    /// How other blob URLs of the run are read (`--backup-dir`).
    pub(super) urls: UrlContext,
}

/// The source and the destination, and the direction between them, which `--from-to`
/// (when given) must name.
pub(super) fn locations(
    args: &LocationArgs,
    credentials: &AuthArgs,
    env: &Environment,
) -> Result<Locations, UsageError> {
    let urls = url_context(credentials, env)?;
    let source = parse_location(&args.source, &urls)?;
    let destination = parse_location(&args.destination, &urls)?;
    let direction = Direction::between(&source, &destination).map_err(usage)?;
    check_from_to(args.from_to, direction)?;
    Ok(Locations {
        source,
        destination,
        direction,
        urls,
    })
}

/// `bisync`'s `--backup-dir1` and `--backup-dir2` (read as the arguments are), each
/// checked against its side, with `--suffix` and `--suffix-keep-extension`.
pub(super) fn two_way_backups(
    dirs: [Option<&str>; 2],
    args: &BackupArgs,
    places: &Locations,
) -> Result<[Option<BackupConfig>; 2], UsageError> {
    let sides = [
        (dirs[0], &places.source, "--backup-dir1", "path1"),
        (dirs[1], &places.destination, "--backup-dir2", "path2"),
    ];
    let mut backups = [None, None];
    for (i, (dir, side, flag, name)) in sides.into_iter().enumerate() {
        let location = dir
            .map(|b| parse_location(b, &places.urls))
            .transpose()
            .map_err(|e| usage(format!("{flag}: {e}")))?;
        if location.is_none() && dirs.iter().any(Option::is_some) {
            continue;
        }
        backups[i] = super::backup_flags::backup_of(
            location,
            args.suffix.as_deref(),
            args.suffix_keep_extension,
            side,
            super::backup_flags::Of { flag, side: name },
        )
        .map_err(UsageError)?;
    }
    Ok(backups)
}

/// `--backup-dir` (read as the arguments are), `--suffix` and `--suffix-keep-extension`.
pub(super) fn backup(
    args: &BackupArgs,
    places: &Locations,
) -> Result<Option<BackupConfig>, UsageError> {
    let location = args
        .backup_dir
        .as_deref()
        .map(|b| parse_location(b, &places.urls))
        .transpose()
        .map_err(|e| usage(format!("--backup-dir: {e}")))?;
    super::backup_flags::backup(
        location,
        args.suffix.as_deref(),
        args.suffix_keep_extension,
        &places.destination,
    )
    .map_err(UsageError)
}

/// `--from-to` is accepted for azcopy's sake; given, it must be the direction the
/// arguments make.
fn check_from_to(given: Option<FromTo>, direction: Direction) -> Result<(), UsageError> {
    if let Some(given) = given {
        let inferred = match direction {
            Direction::Upload => FromTo::LocalBlob,
            Direction::Download => FromTo::BlobLocal,
            Direction::Copy => FromTo::BlobBlob,
        };
        if given != inferred {
            return Err(usage(format!(
                "--from-to {given:?} does not match the arguments, which are {inferred:?}"
            )));
        }
    }
    Ok(())
}

/// An argument as a location: a local path, or a blob URL read as `context` says.
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

/// What `--blob-endpoint`, `--name-encoding` and `AZURE_STORAGE_CONNECTION_STRING` say
/// about reading blob URLs.
pub(super) fn url_context(args: &AuthArgs, env: &Environment) -> Result<UrlContext, UsageError> {
    let no_string = ConnectionString::default();
    let cs = env
        .connection_string()
        .map_err(usage)?
        .unwrap_or(&no_string);
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
