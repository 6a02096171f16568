//! Validating the flags for blob features: archive, snapshots, folder stubs, POSIX
//! properties and symbolic links.

use super::args::SyncArgs;
use crate::endpoint::RehydratePriority;
use crate::sync::{ArchivedPolicy, BlobOptions};

/// Parses `--archived`.
fn archived(text: &str) -> Result<ArchivedPolicy, String> {
    let (policy, priority) = match text.split_once(':') {
        Some((p, q)) => (p.trim(), Some(q.trim())),
        None => (text.trim(), None),
    };
    let bad = || {
        format!(
            "--archived {text:?}: use skip, fail, rehydrate, rehydrate:Standard or \
             rehydrate:High"
        )
    };
    match (policy.to_ascii_lowercase().as_str(), priority) {
        ("skip", None) => Ok(ArchivedPolicy::Skip),
        ("fail", None) => Ok(ArchivedPolicy::Fail),
        ("rehydrate", None) => Ok(ArchivedPolicy::Rehydrate(RehydratePriority::Standard)),
        ("rehydrate", Some(p)) if p.eq_ignore_ascii_case("standard") => {
            Ok(ArchivedPolicy::Rehydrate(RehydratePriority::Standard))
        }
        ("rehydrate", Some(p)) if p.eq_ignore_ascii_case("high") => {
            Ok(ArchivedPolicy::Rehydrate(RehydratePriority::High))
        }
        _ => Err(bad()),
    }
}

/// The blob options of a sync; the error is a usage message.
pub(super) fn blob_options(args: &SyncArgs) -> Result<BlobOptions, String> {
    Ok(BlobOptions {
        archived: archived(&args.archived)?,
        overwrite_archived: args.overwrite_archived,
        snapshots: args.delete_snapshots,
        directory_stubs: args.include_directory_stub,
        posix: args.preserve_posix_properties,
        symlinks: args.preserve_symlinks,
        guess_types: true,
        type_map: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archived_policies_parse_with_a_priority_only_for_rehydrate() {
        assert_eq!(archived("skip").unwrap(), ArchivedPolicy::Skip);
        assert_eq!(archived("FAIL").unwrap(), ArchivedPolicy::Fail);
        assert_eq!(
            archived("rehydrate").unwrap(),
            ArchivedPolicy::Rehydrate(RehydratePriority::Standard)
        );
        assert_eq!(
            archived("rehydrate:high").unwrap(),
            ArchivedPolicy::Rehydrate(RehydratePriority::High)
        );
        for bad in ["", "skip:High", "rehydrate:Urgent", "delete"] {
            let e = archived(bad).unwrap_err();
            assert!(
                e.contains("--archived") && e.contains("rehydrate:High"),
                "{e}"
            );
        }
    }
}
