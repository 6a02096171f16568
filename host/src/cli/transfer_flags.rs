//! How files move, from `blobsync sync` flags: the sizes of upload requests (blocks, and
//! the largest file sent in one request), how many files move at once, the bandwidth
//! cap and the memory for blocks in flight.

use super::args::{NetworkArgs, SyncArgs};
use super::sourced::Sourced;
use super::usage::{UsageError, usage};
use crate::sync::TransferOptions;

/// Files transferred at once unless told otherwise.
const DEFAULT_CONCURRENCY: usize = 32;

/// Files up to this size go up in one request unless the flags say otherwise.
const DEFAULT_PUT_BLOB_SIZE: u64 = 64 << 20;

/// The smallest block: smaller ones turn a file into needlessly many requests.
const MIN_BLOCK: u64 = 64 << 10;

/// How files move.
pub(super) struct Transfer {
    /// Block sizes and MD5 checks.
    pub(super) options: TransferOptions,
    /// Files transferred at once.
    pub(super) concurrency: usize,
    /// The bandwidth cap, in megabits per second.
    pub(super) cap_mbps: Option<f64>,
    /// Memory for blocks in flight.
    pub(super) buffer_bytes: u64,
}

/// How files move: request sizes, then concurrency, bandwidth cap and buffer memory.
pub(super) fn transfer(args: &SyncArgs) -> Result<Transfer, UsageError> {
    let options = transfer_options(args)?;
    let concurrency = concurrency(&args.network)?;
    let cap_mbps = cap_mbps(&args.network)?;
    let buffer_mb = buffer_mb(&args.network)?;
    Ok(Transfer {
        options,
        concurrency,
        cap_mbps,
        buffer_bytes: buffer_mb << 20,
    })
}

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

/// `--block-size-mb` and `--put-blob-size-mb` (the largest file sent in one request),
/// and whether MD5s are written and checked.
fn transfer_options(args: &SyncArgs) -> Result<TransferOptions, UsageError> {
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
    Ok(TransferOptions {
        block_size,
        put_blob_size,
        blocks_in_flight: 8,
        check_md5: args.check_md5,
        put_md5: args.put_md5,
    })
}

/// `--concurrency` (or `AZCOPY_CONCURRENCY_VALUE`): files transferred at once.
fn concurrency(args: &Sourced<NetworkArgs>) -> Result<usize, UsageError> {
    let concurrency = match args.concurrency.as_deref() {
        None => DEFAULT_CONCURRENCY,
        Some(v) if v.eq_ignore_ascii_case("auto") => DEFAULT_CONCURRENCY,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(usage(format!(
                    "{}: the concurrency must be a number from 1 to 1000, or AUTO",
                    args.origin("concurrency").label(v)
                )));
            }
        },
    };
    Ok(concurrency)
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
    let buffer_mb = match args.buffer_mb.as_deref() {
        None => 64,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if (8..=1 << 20).contains(&n) => n,
            _ => {
                return Err(usage(format!(
                    "{}: the buffer must be a number of MiB, at least 8",
                    args.origin("buffer_mb").label(v)
                )));
            }
        },
    };
    Ok(buffer_mb)
}
