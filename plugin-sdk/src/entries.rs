//! Entries as a plugin sees them: a batch arrives as columns ([`Entries`], one list per
//! field), and [`Entries::iter`] walks it as [`Entry`] views that borrow from the batch
//! (no copy, no allocation).
//!
//! Only the optional columns the plugin asked for in `configure` ([`EntryFields`]) are
//! filled: reading an optional field that was not asked for gives its empty value
//! (`""`, `None`, no metadata).

use crate::bindings::blobsync::plugin::types::{
    AccessTier, ArchiveStatus, ContentHeaders, EndpointKind, Entries, EntryFields,
};

/// Attribute bit: a directory (or blob prefix).
pub const ATTR_DIRECTORY: u8 = 1;
/// Attribute bit: the entry's MD5 is in `md5s`.
pub const ATTR_MD5: u8 = 2;
/// Attribute bit: the entry's stored modification time is in `stored_mtimes_ns`.
pub const ATTR_STORED_MTIME: u8 = 4;

/// One entry of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Path relative to the sync root, `/`-separated (empty unless `path` was asked for).
    pub path: &'a str,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification time in ns since the Unix epoch: a local file's own, or a blob's
    /// Last-Modified (1 s precision). See [`Entry::stored_mtime_ns`].
    pub mtime_ns: i64,
    /// True for directories and virtual directories (blob prefixes).
    pub is_dir: bool,
    /// Where the entry was listed from.
    pub endpoint: EndpointKind,
    batch: &'a Entries,
    index: usize,
}

impl<'a> Entry<'a> {
    /// The entry's position in its batch.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The last path segment: the file or directory name.
    pub fn name(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    fn has(&self, bit: u8) -> bool {
        self.batch
            .attributes
            .get(self.index)
            .is_some_and(|a| a & bit != 0)
    }

    /// The content MD5, when known (asked for with `md5`).
    pub fn md5(&self) -> Option<[u8; 16]> {
        if !self.has(ATTR_MD5) {
            return None;
        }
        let bytes = self.batch.md5s.get(self.index * 16..self.index * 16 + 16)?;
        <[u8; 16]>::try_from(bytes).ok()
    }

    /// The content MD5 as lower-case hex, when known.
    pub fn md5_hex(&self) -> Option<String> {
        self.md5()
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// For blobs written by blobsync (or rclone): the source file's own modification time,
    /// which they store in the blob's metadata (asked for with `stored-mtime`).
    pub fn stored_mtime_ns(&self) -> Option<i64> {
        if !self.has(ATTR_STORED_MTIME) {
            return None;
        }
        self.batch.stored_mtimes_ns.get(self.index).copied()
    }

    /// Blob metadata, keys lower-case (asked for with `metadata`; empty for local files).
    pub fn metadata(&self) -> &'a [(String, String)] {
        self.batch
            .metadata
            .get(self.index)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The value of a metadata key.
    pub fn metadata_value(&self, key: &str) -> Option<&'a str> {
        self.metadata()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A blob's access tier (asked for with `tier`).
    pub fn access_tier(&self) -> Option<AccessTier> {
        self.batch.access_tiers.get(self.index).copied().flatten()
    }

    /// A blob being rehydrated from the archive tier (asked for with `tier`).
    pub fn archive_status(&self) -> Option<ArchiveStatus> {
        self.batch
            .archive_statuses
            .get(self.index)
            .copied()
            .flatten()
    }

    /// A blob's content headers (asked for with `content-headers`).
    pub fn content_headers(&self) -> Option<&'a ContentHeaders> {
        self.batch.content_headers.get(self.index)
    }
}

impl Entries {
    /// How many entries the batch holds.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True for an empty batch (the host never sends one).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries, in order.
    pub fn iter(&self) -> EntryIter<'_> {
        EntryIter {
            batch: self,
            index: 0,
            paths: (!self.paths.is_empty()).then(|| self.paths.split('\0')),
        }
    }

    /// A batch built from entries, with every column filled: for a plugin's unit tests.
    pub fn of(endpoint: EndpointKind, entries: &[TestEntry]) -> Entries {
        let mut md5s = Vec::new();
        let mut attributes = Vec::new();
        let mut stored = Vec::new();
        for e in entries {
            let mut flags = 0u8;
            if e.is_dir {
                flags |= ATTR_DIRECTORY;
            }
            if e.md5.is_some() {
                flags |= ATTR_MD5;
            }
            md5s.extend_from_slice(&e.md5.unwrap_or([0; 16]));
            if let Some(ns) = e.stored_mtime_ns {
                flags |= ATTR_STORED_MTIME;
                stored.push(ns);
            } else {
                stored.push(0);
            }
            attributes.push(flags);
        }
        Entries {
            endpoint,
            count: entries.len() as u32,
            paths: entries
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>()
                .join("\0"),
            attributes,
            sizes: entries.iter().map(|e| e.size).collect(),
            mtimes_ns: entries.iter().map(|e| e.mtime_ns).collect(),
            stored_mtimes_ns: stored,
            md5s,
            metadata: entries.iter().map(|e| e.metadata.clone()).collect(),
            access_tiers: entries.iter().map(|e| e.access_tier).collect(),
            archive_statuses: entries.iter().map(|e| e.archive_status).collect(),
            content_headers: entries
                .iter()
                .map(|e| e.content_headers.clone().unwrap_or_else(no_headers))
                .collect(),
        }
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = Entry<'a>;
    type IntoIter = EntryIter<'a>;
    fn into_iter(self) -> EntryIter<'a> {
        self.iter()
    }
}

/// Iterates a batch's entries.
#[derive(Debug, Clone)]
pub struct EntryIter<'a> {
    batch: &'a Entries,
    index: usize,
    paths: Option<std::str::Split<'a, char>>,
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let i = self.index;
        if i >= self.batch.len() {
            return None;
        }
        self.index += 1;
        let b = self.batch;
        Some(Entry {
            path: self.paths.as_mut().and_then(Iterator::next).unwrap_or(""),
            size: b.sizes.get(i).copied().unwrap_or(0),
            mtime_ns: b.mtimes_ns.get(i).copied().unwrap_or(0),
            is_dir: b.attributes.get(i).is_some_and(|a| a & ATTR_DIRECTORY != 0),
            endpoint: b.endpoint,
            batch: b,
            index: i,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batch.len() - self.index.min(self.batch.len());
        (left, Some(left))
    }
}

impl ExactSizeIterator for EntryIter<'_> {}

/// Content headers with nothing set.
pub fn no_headers() -> ContentHeaders {
    ContentHeaders {
        content_type: None,
        cache_control: None,
        content_encoding: None,
        content_disposition: None,
        content_language: None,
    }
}

/// An entry to build a test batch from ([`Entries::of`]).
#[derive(Debug, Clone, Default)]
pub struct TestEntry {
    /// The path.
    pub path: String,
    /// The size.
    pub size: u64,
    /// The modification time (ns).
    pub mtime_ns: i64,
    /// A directory.
    pub is_dir: bool,
    /// The content MD5.
    pub md5: Option<[u8; 16]>,
    /// The stored modification time (blobs).
    pub stored_mtime_ns: Option<i64>,
    /// Metadata.
    pub metadata: Vec<(String, String)>,
    /// Access tier.
    pub access_tier: Option<AccessTier>,
    /// Archive status.
    pub archive_status: Option<ArchiveStatus>,
    /// Content headers.
    pub content_headers: Option<ContentHeaders>,
}

impl TestEntry {
    /// A file.
    pub fn file(path: &str, size: u64) -> TestEntry {
        TestEntry {
            path: path.into(),
            size,
            ..TestEntry::default()
        }
    }

    /// A directory.
    pub fn dir(path: &str) -> TestEntry {
        TestEntry {
            path: path.into(),
            is_dir: true,
            ..TestEntry::default()
        }
    }

    /// With a modification time.
    pub fn mtime(mut self, ns: i64) -> TestEntry {
        self.mtime_ns = ns;
        self
    }

    /// With a stored modification time.
    pub fn stored_mtime(mut self, ns: i64) -> TestEntry {
        self.stored_mtime_ns = Some(ns);
        self
    }

    /// With a content MD5.
    pub fn md5(mut self, md5: [u8; 16]) -> TestEntry {
        self.md5 = Some(md5);
        self
    }

    /// With a metadata pair.
    pub fn meta(mut self, key: &str, value: &str) -> TestEntry {
        self.metadata.push((key.into(), value.into()));
        self
    }
}

/// Every optional field.
pub fn all_fields() -> EntryFields {
    EntryFields::all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reads_back_entry_by_entry() {
        let batch = Entries::of(
            EndpointKind::AzureBlob,
            &[
                TestEntry::file("a/b.txt", 3)
                    .md5([7; 16])
                    .meta("Owner", "x"),
                TestEntry::dir("c").stored_mtime(5),
            ],
        );
        let v: Vec<Entry<'_>> = batch.iter().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, "a/b.txt");
        assert_eq!(v[0].name(), "b.txt");
        assert_eq!(v[0].md5(), Some([7; 16]));
        assert_eq!(v[0].metadata_value("owner"), Some("x"));
        assert_eq!(v[0].stored_mtime_ns(), None);
        assert!(v[1].is_dir && v[1].md5().is_none());
        assert_eq!(v[1].stored_mtime_ns(), Some(5));
    }

    #[test]
    fn unrequested_paths_read_as_empty() {
        let mut batch = Entries::of(EndpointKind::Local, &vec![TestEntry::file("x", 1); 3]);
        batch.paths.clear();
        assert!(batch.iter().all(|e| e.path.is_empty()));
        assert_eq!(batch.iter().len(), 3);
    }
}
