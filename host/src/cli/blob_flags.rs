//! Validating the flags for blob features: archive, snapshots, folder stubs, POSIX
//! properties, symbolic links, and what blob → blob syncs carry over (`--s2s-*`).

use super::args::{ListingArgs, SyncArgs};
use super::environment::Environment;
use std::collections::HashMap;
use std::path::Path;

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

/// Reads the extra extension → Content-Type map named by `AZCOPY_CONTENT_TYPE_MAP`: a
/// JSON file `{"MIMETypeMapping": {".foo": "application/x-foo"}}`. Keys lose their dot
/// and are matched case-insensitively.
fn type_map(path: &Path) -> Result<HashMap<String, String>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(rename = "MIMETypeMapping")]
        mapping: HashMap<String, String>,
    }
    let fail = |why: String| {
        format!(
            "AZCOPY_CONTENT_TYPE_MAP: {}: {why} (expected JSON like \
             {{\"MIMETypeMapping\": {{\".foo\": \"application/x-foo\"}}}})",
            path.display()
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let file: File = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let mut out = HashMap::new();
    for (ext, content_type) in file.mapping {
        let ext = ext.trim().trim_start_matches('.').to_ascii_lowercase();
        if ext.is_empty() || ext.contains('/') {
            return Err(fail(format!("{ext:?} is not a file extension")));
        }
        if content_type.trim().is_empty() || content_type.chars().any(char::is_control) {
            return Err(fail(format!("{content_type:?} is not a Content-Type")));
        }
        out.insert(ext, content_type);
    }
    Ok(out)
}

/// How entries are listed and read, from the listing flags and `AZCOPY_CONTENT_TYPE_MAP`;
/// the rest at its defaults. The error is a usage message.
pub(super) fn blob_options(args: &ListingArgs, env: &Environment) -> Result<BlobOptions, String> {
    Ok(BlobOptions {
        archived: archived(&args.archived)?,
        directory_stubs: args.include_directory_stub || args.create_empty_src_dirs,
        posix: args.preserve_posix_properties,
        symlinks: args.preserve_symlinks,
        type_map: match env.content_type_map() {
            Some(path) => type_map(path)?,
            None => Default::default(),
        },
        ..BlobOptions::default()
    })
}

/// What copies to a container of a sync in `direction` carry and how they are made
/// (`--overwrite-archived`, `--s2s-*`, `--no-guess-mime-type`, `--delete-snapshots`),
/// into `blob`. The error is a usage message.
pub(super) fn copy_options(
    args: &SyncArgs,
    direction: Direction,
    blob: &mut BlobOptions,
) -> Result<(), String> {
    let copies = &args.copies;
    if copies.s2s_stream && direction != Direction::Copy {
        return Err("--s2s-stream applies to blob → blob syncs (both arguments blob URLs)".into());
    }
    blob.overwrite_archived = copies.overwrite_archived;
    blob.snapshots = args.deletes.delete_snapshots;
    blob.guess_types = !args.content.no_guess_mime_type;
    blob.s2s = S2sOptions {
        preserve_tier: copies.s2s_preserve_access_tier,
        preserve_tags: copies.s2s_preserve_blob_tags,
        stream: copies.s2s_stream,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_map_is_read_or_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("map.json");
        std::fs::write(
            &good,
            r#"{"MIMETypeMapping": {".MD": "text/markdown", "wasm": "application/wasm"}}"#,
        )
        .unwrap();
        let map = type_map(&good).unwrap();
        assert_eq!(map["md"], "text/markdown");
        assert_eq!(map["wasm"], "application/wasm");
        let e = type_map(&dir.path().join("missing.json")).unwrap_err();
        assert!(
            e.starts_with("AZCOPY_CONTENT_TYPE_MAP:") && e.contains("missing.json"),
            "{e}"
        );
        std::fs::write(&good, "{not json").unwrap();
        assert!(type_map(&good).unwrap_err().contains("MIMETypeMapping"));
    }

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
