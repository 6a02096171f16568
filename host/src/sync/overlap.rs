//! A sync never writes to or deletes from its own source. Two blob locations overlap when
//! they are in the same container of the same account and one's folder contains the
//! other's, by whole path segments (`c/sub` and `c` overlap; `c/sub` and `c/sub2` do not):
//! `sync c/sub c --delete-destination` would copy `sub/a.txt` to `a.txt` and then delete
//! `sub/a.txt`, and `sync c c/sub` would nest one level deeper on every run. Such a pair is
//! refused before anything is listed — unless the filters exclude the nested folder on
//! both sides, as rclone allows ("exclude the destination with a filter rule").
//!
//! The account is identified by its name, not by how the host is spelled (`localhost` or
//! `127.0.0.1`, the `dfs` host, `--blob-endpoint`); emulator accounts on different ports
//! are different services.

use super::config::Location;
use super::{RunError, Side};
use crate::endpoint::azure::BlobLocation;
use crate::plugin::{EndpointKind, Entry, PluginHost, RunValues};

/// How two locations overlap: the one that contains the other, and the nested one's
/// folder relative to it (empty: the same location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlap {
    pub(crate) outer: Side,
    pub(crate) nested: String,
}

/// Refuses a sync whose source and destination overlap, unless the filters exclude the
/// nested part on both sides.
pub(crate) fn check(
    source: &Location,
    destination: &Location,
    plugins: &PluginHost,
) -> Result<(), RunError> {
    let (Location::Blob(a), Location::Blob(b)) = (source, destination) else {
        return Ok(());
    };
    let Some(overlap) = overlap(a, b) else {
        return Ok(());
    };
    if !overlap.nested.is_empty() && excluded_on_both_sides(&overlap.nested, plugins) {
        tracing::info!(
            "{a} and {b} overlap, but the filters exclude {}/ on both sides",
            overlap.nested
        );
        return Ok(());
    }
    let how = match (&overlap.outer, overlap.nested.is_empty()) {
        (_, true) => "they are the same location".to_string(),
        (Side::Source, false) => {
            format!("the destination is the source's folder {}/", overlap.nested)
        }
        (Side::Destination, false) => {
            format!("the source is the destination's folder {}/", overlap.nested)
        }
    };
    let fix = if overlap.nested.is_empty() {
        String::new()
    } else {
        format!(
            ", or exclude that folder on both sides (--exclude-path {})",
            overlap.nested
        )
    };
    Err(RunError::Usage(format!(
        "{a} and {b} overlap: {how}, so the sync would write into or delete from its own \
         source; nothing was listed or changed. Choose locations that do not contain each \
         other{fix}"
    )))
}

/// How `a` and `b` overlap, if they do.
pub(crate) fn overlap(a: &BlobLocation, b: &BlobLocation) -> Option<Overlap> {
    if !same_account(a, b) || a.container != b.container {
        return None;
    }
    let below = |inner: &str, outer: &str| -> Option<String> {
        if outer.is_empty() {
            Some(inner.to_string())
        } else if inner == outer {
            Some(String::new())
        } else {
            inner
                .strip_prefix(outer)
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_string)
        }
    };
    if let Some(nested) = below(&b.prefix, &a.prefix) {
        return Some(Overlap {
            outer: Side::Source,
            nested,
        });
    }
    below(&a.prefix, &b.prefix).map(|nested| Overlap {
        outer: Side::Destination,
        nested,
    })
}

/// True when `a` and `b` are one account: the same name, and for emulator-style
/// (path-style) URLs on both sides the same port.
fn same_account(a: &BlobLocation, b: &BlobLocation) -> bool {
    if !a.account.eq_ignore_ascii_case(&b.account) {
        return false;
    }
    if a.path_style && b.path_style {
        return a.endpoint.port_or_known_default() == b.endpoint.port_or_known_default();
    }
    true
}

/// True when the filters exclude the folder `nested` (or one above it) on both sides.
fn excluded_on_both_sides(nested: &str, plugins: &PluginHost) -> bool {
    if !plugins.has_filters() {
        return false;
    }
    let mut chain = plugins.filter_chain_for(&RunValues::probe());
    let folders: Vec<Entry> = nested
        .match_indices('/')
        .map(|(i, _)| &nested[..i])
        .chain(std::iter::once(nested))
        .map(|dir| Entry::dir(dir.to_string(), 0, EndpointKind::AzureBlob))
        .collect();
    [Side::Source, Side::Destination].into_iter().all(|side| {
        chain
            .apply(super::entries::plugin_side(side), &folders)
            .is_ok_and(|verdicts| verdicts.iter().any(Option::is_some))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> BlobLocation {
        BlobLocation::parse(url).unwrap()
    }

    #[test]
    fn nested_folders_of_one_container_overlap_by_whole_segments() {
        let c = at("https://acct.blob.core.windows.net/cont");
        let sub = at("https://acct.blob.core.windows.net/cont/sub");
        assert_eq!(
            overlap(&sub, &c),
            Some(Overlap {
                outer: Side::Destination,
                nested: "sub".into()
            })
        );
        assert_eq!(
            overlap(&c, &sub),
            Some(Overlap {
                outer: Side::Source,
                nested: "sub".into()
            })
        );
        assert_eq!(overlap(&sub, &sub).map(|o| o.nested), Some(String::new()));
        let sub2 = at("https://acct.blob.core.windows.net/cont/sub2");
        assert_eq!(overlap(&sub, &sub2), None, "sub and sub2 are apart");
        let deep = at("https://acct.blob.core.windows.net/cont/sub/deeper/x");
        assert_eq!(
            overlap(&sub, &deep).map(|o| o.nested),
            Some("deeper/x".into())
        );
        assert_eq!(
            overlap(&c, &at("https://acct.blob.core.windows.net/data")),
            None
        );
        assert_eq!(
            overlap(&c, &at("https://other.blob.core.windows.net/cont")),
            None
        );
    }

    #[test]
    fn the_account_is_its_name_however_the_host_is_spelled() {
        let a = at("http://127.0.0.1:10000/devstoreaccount1/cont/sub");
        let b = at("http://localhost:10000/devstoreaccount1/cont");
        assert!(overlap(&a, &b).is_some());
        let other_port = at("http://127.0.0.1:10001/devstoreaccount1/cont");
        assert_eq!(overlap(&a, &other_port), None, "another emulator");
        let dfs = at("https://acct.dfs.core.windows.net/cont");
        let blob = at("https://ACCT.blob.core.windows.net/cont/x");
        assert!(overlap(&dfs, &blob).is_some());
    }
}
