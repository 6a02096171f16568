//! The `read-content` capability: a filter or annotator granted
//! `read-content = { max-bytes = N }` may read the first N bytes of the local source files
//! of the batch it is processing, and nothing else.
//!
//! The host resolves a path only if it is one of the batch's local source files (an exact
//! match of the relative path the plugin was given), below the run's local root; `..`,
//! absolute paths, other batches' paths, directories and blob entries are refused.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use super::bindings::types::{EndpointKind, Side};
use super::entry::Entry;
use crate::localfs::{Beneath, Listed, open_listed};

/// One plugin instance's view of the files it may read.
#[derive(Debug, Default)]
pub(crate) struct ContentAccess {
    /// The granted maximum, or `None` when the manifest grants nothing.
    max_bytes: Option<u64>,
    /// The local folder, resolved beneath without following links.
    root: Option<Beneath>,
    /// Links were followed when listing, so they are followed here too.
    follow_links: bool,
    /// The readable paths of the call in progress, with what the listing said of each.
    current: HashMap<String, Listed>,
}

impl ContentAccess {
    pub(crate) fn new(max_bytes: Option<u64>, root: Option<PathBuf>, follow_links: bool) -> Self {
        ContentAccess {
            max_bytes,
            root: root.map(Beneath::new),
            follow_links,
            current: HashMap::new(),
        }
    }

    /// Makes the local source files of a batch readable until [`ContentAccess::end`]. A
    /// no-op (and free) for plugins without the grant.
    pub(crate) fn begin<'a>(&mut self, side: Side, entries: impl Iterator<Item = &'a Entry>) {
        if self.max_bytes.is_none() || side != Side::Source {
            return;
        }
        self.current.clear();
        self.current.extend(
            entries
                .filter(|e| e.endpoint == EndpointKind::Local && !e.is_dir)
                .map(|e| {
                    let listed = Listed {
                        size: e.size,
                        mtime_ns: e.mtime_ns,
                        identity: e.identity,
                    };
                    (e.path.clone(), listed)
                }),
        );
    }

    /// Ends the call: nothing is readable between calls.
    pub(crate) fn end(&mut self) {
        if !self.current.is_empty() {
            self.current.clear();
        }
    }

    /// Reads up to `max` bytes (capped by the grant) of `path`: the listed file only,
    /// opened beneath the folder without following links and checked to be the one
    /// listed (device, inode, size, time), as an upload checks it.
    pub(crate) fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        let Some(granted) = self.max_bytes else {
            return Err(
                "this plugin may not read file contents: its manifest entry needs \
                        `read-content = { max-bytes = N }`"
                    .into(),
            );
        };
        let Some(listed) = self.current.get(path) else {
            return Err(format!(
                "{path:?} is not a local source file of the batch being processed; only those \
                 can be read"
            ));
        };
        let Some(root) = &self.root else {
            return Err("this run has no local folder to read from".into());
        };
        let file = open_listed(root, path, listed, self.follow_links)
            .map_err(|e| format!("cannot read {path:?}: {e}"))?;
        let limit = max.min(granted);
        let mut buf = Vec::with_capacity(limit.min(listed.size).min(1 << 20) as usize);
        file.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {path:?}: {e}"))?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(root: &std::path::Path, path: &str) -> Entry {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(root.join(path)).unwrap();
        let mut e = Entry::file(
            path.into(),
            meta.len(),
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            None,
            EndpointKind::Local,
            vec![],
        );
        e.identity = Some((meta.dev(), meta.ino()));
        e
    }

    #[test]
    fn only_the_batch_files_and_only_n_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x.txt"), b"0123456789").unwrap();
        std::fs::write(dir.path().join("other.txt"), b"secret").unwrap();
        let mut access = ContentAccess::new(Some(4), Some(dir.path().to_path_buf()), false);
        let batch = [local(dir.path(), "a/x.txt")];
        access.begin(Side::Source, batch.iter());
        assert_eq!(access.read("a/x.txt", 100).unwrap(), b"0123");
        assert_eq!(access.read("a/x.txt", 2).unwrap(), b"01");
        for refused in [
            "other.txt",
            "../../etc/passwd",
            "/etc/passwd",
            "a/../other.txt",
        ] {
            let err = access.read(refused, 10).unwrap_err();
            assert!(err.contains("not a local source file"), "{refused}: {err}");
        }
        access.end();
        assert!(
            access.read("a/x.txt", 1).is_err(),
            "nothing is readable between calls"
        );
        access.begin(Side::Destination, batch.iter());
        assert!(
            access.read("a/x.txt", 1).is_err(),
            "destination entries are not readable"
        );
    }

    #[test]
    fn a_file_swapped_for_a_link_after_listing_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), b"outside the batch").unwrap();
        std::fs::write(dir.path().join("x.txt"), b"0123456789").unwrap();
        let mut access = ContentAccess::new(Some(100), Some(dir.path().to_path_buf()), false);
        let batch = [local(dir.path(), "x.txt")];
        access.begin(Side::Source, batch.iter());
        std::fs::remove_file(dir.path().join("x.txt")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("x.txt")).unwrap();
        let err = access.read("x.txt", 100).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        // Another file of the same size and time under the name: not the listed file.
        std::fs::remove_file(dir.path().join("x.txt")).unwrap();
        std::fs::write(dir.path().join("x.txt"), b"9876543210").unwrap();
        let err = access.read("x.txt", 100).unwrap_err();
        assert!(err.contains("changed"), "{err}");
    }

    #[test]
    fn without_the_grant_nothing_is_readable() {
        let mut access = ContentAccess::new(None, Some(PathBuf::from("/")), false);
        access.begin(
            Side::Source,
            [local(std::path::Path::new("/"), "etc/passwd")].iter(),
        );
        let err = access.read("etc/passwd", 10).unwrap_err();
        assert!(err.contains("read-content"), "{err}");
    }
}
