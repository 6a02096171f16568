//! Validating how blobsync reaches the service: credentials; how many transfers at once,
//! the bandwidth cap and the memory for blocks in flight; retries and timeouts — values a
//! flag or an azcopy environment variable may give.

use std::time::Duration;

use super::args::{AuthArgs, NetworkArgs};
use super::environment::Environment;
use super::shared_args::ACCOUNT_KEY_VARIABLE;
use super::sourced::Sourced;
use super::usage::{UsageError, usage};
use crate::endpoint::azure::{AuthMode, AuthOptions, EntraOptions, RetrySettings, Timeouts};
use crate::sync::SyncConfig;

/// Credentials from flags and the environment; two that choose different credentials are
/// a usage error.
pub(super) fn auth_options(
    args: &Sourced<AuthArgs>,
    env: &Environment,
) -> Result<AuthOptions, UsageError> {
    let connection_string = env.connection_string().map_err(usage)?.cloned();
    // `--account-key`, else `AZURE_STORAGE_KEY` (clap reads it); empty is none.
    let key = args.account_key.as_deref().filter(|k| !k.is_empty());
    let key_origin = args.origin("account_key");
    let identity_flag = identity_flag(args);
    if let (Some(_), Some(identity)) = (key, identity_flag) {
        return Err(usage(format!(
            "{identity} and {} choose different credentials (a managed identity and an account \
             key); give one of them",
            key_origin.label_without_value()
        )));
    }
    let implied = match (key, identity_flag) {
        (Some(_), _) => Some((AuthMode::Key, key_origin.label_without_value())),
        (None, Some(flag)) => Some((AuthMode::ManagedIdentity, flag.to_string())),
        (None, None) => None,
    };
    // A key in the environment does not contradict `--auth sas`: it is simply not used.
    let key_from_env = key.is_some() && key_origin.by_variable();
    if let Some((mode, from)) = &implied
        && args.auth != AuthMode::Auto
        && args.auth != *mode
        && !(args.auth == AuthMode::Sas && key_from_env)
    {
        return Err(usage(format!(
            "--auth {} and {from} choose different credentials; give one of them",
            clap::ValueEnum::to_possible_value(&args.auth)
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        )));
    }
    let mode = if identity_flag.is_some() && args.auth == AuthMode::Auto {
        AuthMode::ManagedIdentity
    } else {
        args.auth
    };
    Ok(AuthOptions {
        mode,
        account_key_from: if key_from_env {
            ACCOUNT_KEY_VARIABLE
        } else {
            "--account-key"
        },
        account_key: key.map(String::from),
        connection_string,
        entra: entra_options(args, env),
    })
}

/// The first managed identity flag given, if any.
fn identity_flag(args: &AuthArgs) -> Option<&'static str> {
    [
        (args.identity, "--identity"),
        (args.identity_client_id.is_some(), "--identity-client-id"),
        (args.identity_object_id.is_some(), "--identity-object-id"),
        (
            args.identity_resource_id.is_some(),
            "--identity-resource-id",
        ),
    ]
    .into_iter()
    .find_map(|(set, name)| set.then_some(name))
}

/// The environment's Entra ID settings with the flags' identity and trusted suffixes.
fn entra_options(args: &AuthArgs, env: &Environment) -> EntraOptions {
    let mut entra = env.entra().clone();
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
    entra
}

/// How requests go, from the network flags.
pub(super) struct Network {
    /// Files transferred at once.
    pub(super) concurrency: usize,
    /// The bandwidth cap, in megabits per second.
    pub(super) cap_mbps: Option<f64>,
    /// Memory for blocks in flight.
    pub(super) buffer_bytes: u64,
    /// Container listing ranges listed at once.
    pub(super) list_parallelism: usize,
    /// How requests are retried.
    pub(super) retry: RetrySettings,
    /// How long a request may take.
    pub(super) timeouts: Timeouts,
}

/// The network flags (and the variables standing in for them), in order: concurrency,
/// bandwidth cap, buffer, retries, timeouts.
pub(super) fn network(
    args: &Sourced<NetworkArgs>,
    env: &Environment,
) -> Result<Network, UsageError> {
    Ok(Network {
        concurrency: concurrency(args)?,
        cap_mbps: cap_mbps(args)?,
        buffer_bytes: buffer_mb(args)? << 20,
        list_parallelism: args.list_parallelism.into(),
        retry: retry_settings(args)?,
        timeouts: timeouts(args, env)?,
    })
}

/// `--concurrency` (or `AZCOPY_CONCURRENCY_VALUE`): files transferred at once.
fn concurrency(args: &Sourced<NetworkArgs>) -> Result<usize, UsageError> {
    let v = args.concurrency.as_str();
    if v.eq_ignore_ascii_case("auto") {
        return Ok(SyncConfig::DEFAULT_CONCURRENCY);
    }
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(usage(format!(
            "{}: the concurrency must be a number from 1 to 1000, or AUTO",
            args.origin("concurrency").label(v)
        ))),
    }
}

/// `--cap-mbps`: a bandwidth cap, in megabits per second.
fn cap_mbps(args: &NetworkArgs) -> Result<Option<f64>, UsageError> {
    if args.cap_mbps.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
        return Err(usage(
            "--cap-mbps must be a positive number of megabits per second",
        ));
    }
    Ok(args.cap_mbps)
}

/// `--buffer-mb` (or `BLOBSYNC_BUFFER_MB`): MiB of memory for blocks in flight.
fn buffer_mb(args: &Sourced<NetworkArgs>) -> Result<u64, UsageError> {
    let v = args.buffer_mb.as_str();
    match v.trim().parse::<u64>() {
        Ok(n) if (8..=1 << 20).contains(&n) => Ok(n),
        _ => Err(usage(format!(
            "{}: the buffer must be a number of MiB, at least 8",
            args.origin("buffer_mb").label(v)
        ))),
    }
}

/// The retry budget from the flags.
fn retry_settings(args: &NetworkArgs) -> Result<RetrySettings, UsageError> {
    let status_codes = args
        .retry_status_codes
        .split([';', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c.parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(usage(format!(
                "--retry-status-codes: {c:?} is not an HTTP status code (100–599)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.max_retries > 100 {
        return Err(usage("--max-retries must be at most 100"));
    }
    Ok(RetrySettings {
        max_retries: args.max_retries,
        status_codes,
        ..RetrySettings::default()
    })
}

/// The try and stall timeouts from the flags and azcopy's variable.
fn timeouts(args: &NetworkArgs, env: &Environment) -> Result<Timeouts, UsageError> {
    let mut t = Timeouts::default();
    match (&args.try_timeout, env.try_timeout_minutes()) {
        (Some(flag), _) => {
            t.try_timeout = flag.duration();
        }
        (None, Some(minutes)) if !minutes.trim().is_empty() => {
            t.try_timeout = match minutes.trim().parse::<u64>() {
                Ok(m) if m > 0 => Duration::from_secs(m * 60),
                _ => {
                    return Err(usage(format!(
                        "AZCOPY_REQUEST_TRY_TIMEOUT={minutes}: it is a whole number of minutes \
                         (as azcopy reads it), more than 0"
                    )));
                }
            }
        }
        _ => {}
    }
    t.stall = args.stall_timeout.duration();
    if t.stall < Duration::from_secs(1) || t.try_timeout < Duration::from_secs(1) {
        return Err(usage(
            "--try-timeout and --stall-timeout must be at least 1s",
        ));
    }
    Ok(t)
}
