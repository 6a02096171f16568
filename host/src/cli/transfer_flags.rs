//! How files are written, from `blobsync sync` flags: the sizes of upload requests
//! (blocks, and the largest file sent in one request), and whether MD5s are written and
//! checked.

use super::args::TransferArgs;
use super::sourced::Sourced;
use super::usage::{UsageError, usage};
use crate::sync::TransferOptions;

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

/// `--block-size-mb` and `--put-blob-size-mb` (the largest file sent in one request),
/// and whether MD5s are written and checked.
pub(super) fn transfer_options(
    args: &Sourced<TransferArgs>,
) -> Result<TransferOptions, UsageError> {
    let block_size = mib(args.block_size_mb, "--block-size-mb", MIN_BLOCK)?;
    let put_blob_size = mib(args.put_blob_size_mb, "--put-blob-size-mb", 1)?;
    let put_blob_size = match (
        args.origin("put_blob_size_mb").given(),
        args.origin("block_size_mb").given(),
    ) {
        (true, _) => put_blob_size,
        // The block size given: azcopy's threshold.
        (false, true) => block_size,
        (false, false) => put_blob_size.max(block_size),
    };
    Ok(TransferOptions {
        block_size,
        put_blob_size,
        check_md5: args.check_md5,
        put_md5: args.put_md5,
        ..TransferOptions::default()
    })
}
