//! Validating the flags for blob features: archive, snapshots, folder stubs, POSIX
//! properties, symbolic links, and what blob → blob syncs carry over (`--s2s-*`).

use super::args::SyncArgs;
use crate::endpoint::RehydratePriority;
use crate::sync::{ArchivedPolicy, BlobOptions, Direction, S2sOptions};

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

/// The blob options of a sync in `direction`; the error is a usage message.
pub(super) fn blob_options(args: &SyncArgs, direction: Direction) -> Result<BlobOptions, String> {
    if args.s2s_stream && direction != Direction::Copy {
        return Err("--s2s-stream applies to blob → blob syncs (both arguments blob URLs)".into());
    }
    Ok(BlobOptions {
        archived: archived(&args.archived)?,
        overwrite_archived: args.overwrite_archived,
        snapshots: args.delete_snapshots,
        directory_stubs: args.include_directory_stub,
        posix: args.preserve_posix_properties,
        symlinks: args.preserve_symlinks,
        guess_types: true,
        type_map: Default::default(),
        s2s: S2sOptions {
            preserve_tier: args.s2s_preserve_access_tier,
            preserve_tags: args.s2s_preserve_blob_tags,
            stream: args.s2s_stream,
        },
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
