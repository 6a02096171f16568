//! The host's view of a listed entry, and how a batch of them is packed into the column
//! record (`entries`) a 0.2 plugin receives.
//!
//! Why columns: wasmtime copies a `list<u64>` with one allocation and a memory copy, but a
//! `list<record>` field by field, and every string or list inside a record with a call
//! into the guest's allocator. Columns, paths joined into one string, and only the fields
//! a plugin asked for keep the default chain at tens of nanoseconds per entry.

use super::bindings::types::{
    AccessTier, ArchiveStatus, ContentHeaders, EndpointKind, Entries, EntryFields,
};

/// Attribute bits of an entry (`entries.attributes`, see the WIT).
pub(crate) const ATTR_DIRECTORY: u8 = 1;
pub(crate) const ATTR_MD5: u8 = 2;
pub(crate) const ATTR_STORED_MTIME: u8 = 4;

/// One listed file, directory or blob, as the pipeline hands it to plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the sync root, `/`-separated.
    pub path: String,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification time in ns since the Unix epoch (a blob's Last-Modified for blobs).
    pub mtime_ns: i64,
    /// The content MD5, when known.
    pub md5: Option<[u8; 16]>,
    /// True for directories and virtual directories.
    pub is_dir: bool,
    /// Where the entry was listed from.
    pub endpoint: EndpointKind,
    /// Blob metadata (keys lower-case).
    pub metadata: Vec<(String, String)>,
    /// The source file's modification time stored in the blob's metadata, if the lister
    /// parsed it; when `None`, it is parsed from `metadata` for plugins that ask for it.
    pub stored_mtime_ns: Option<i64>,
    /// A blob's access tier, when the listing said.
    pub access_tier: Option<AccessTier>,
    /// A blob being rehydrated from the archive tier.
    pub archive_status: Option<ArchiveStatus>,
    /// A blob's content headers, when listed.
    pub content_headers: Option<ContentHeaders>,
    /// A local file's device and inode as listed: `read-content` reads only that file.
    pub identity: Option<(u64, u64)>,
}

impl Entry {
    /// A file (or blob) entry.
    pub fn file(
        path: String,
        size: u64,
        mtime_ns: i64,
        md5: Option<[u8; 16]>,
        endpoint: EndpointKind,
        metadata: Vec<(String, String)>,
    ) -> Entry {
        Entry {
            path,
            size,
            mtime_ns,
            md5,
            is_dir: false,
            endpoint,
            metadata,
            stored_mtime_ns: None,
            access_tier: None,
            archive_status: None,
            content_headers: None,
            identity: None,
        }
    }

    /// A directory (or blob prefix) entry.
    pub fn dir(path: String, mtime_ns: i64, endpoint: EndpointKind) -> Entry {
        Entry {
            is_dir: true,
            ..Entry::file(path, 0, mtime_ns, None, endpoint, Vec::new())
        }
    }

    /// The stored modification time: the lister's, or parsed from the `mtime` metadata
    /// key blobsync (and rclone) write.
    pub fn stored_mtime(&self) -> Option<i64> {
        if self.stored_mtime_ns.is_some() || self.endpoint != EndpointKind::AzureBlob {
            return self.stored_mtime_ns;
        }
        self.metadata
            .iter()
            .find(|(k, _)| k == blobsync_plugin::MTIME_METADATA_KEY)
            .and_then(|(_, v)| blobsync_plugin::parse_rfc3339_ns(v))
    }
}

/// An entry present on both sides under the same path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The source entry.
    pub source: Entry,
    /// The destination entry.
    pub destination: Entry,
}

/// Why a batch could not be packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackError {
    pub(crate) path: String,
}

/// Reusable column buffers: packing a batch allocates nothing once they have grown.
pub(crate) struct Packer {
    columns: Entries,
}

impl Default for Packer {
    fn default() -> Self {
        Packer {
            columns: Entries {
                endpoint: EndpointKind::Local,
                count: 0,
                paths: String::new(),
                attributes: Vec::new(),
                sizes: Vec::new(),
                mtimes_ns: Vec::new(),
                stored_mtimes_ns: Vec::new(),
                md5s: Vec::new(),
                metadata: Vec::new(),
                access_tiers: Vec::new(),
                archive_statuses: Vec::new(),
                content_headers: Vec::new(),
            },
        }
    }
}

impl Packer {
    /// Fills the columns for `entries` with the always-sent fields and those in `fields`.
    /// A path containing NUL cannot be packed (NUL separates the paths).
    pub(crate) fn pack<'a>(
        &mut self,
        entries: impl ExactSizeIterator<Item = &'a Entry>,
        fields: EntryFields,
    ) -> Result<&Entries, PackError> {
        let c = &mut self.columns;
        let n = entries.len();
        c.count = u32::try_from(n).unwrap_or(u32::MAX);
        c.paths.clear();
        c.attributes.clear();
        c.sizes.clear();
        c.mtimes_ns.clear();
        c.stored_mtimes_ns.clear();
        c.md5s.clear();
        c.metadata.clear();
        c.access_tiers.clear();
        c.archive_statuses.clear();
        c.content_headers.clear();
        c.attributes.reserve(n);
        c.sizes.reserve(n);
        c.mtimes_ns.reserve(n);
        let path = fields.contains(EntryFields::PATH);
        let md5 = fields.contains(EntryFields::MD5);
        let stored = fields.contains(EntryFields::STORED_MTIME);
        let metadata = fields.contains(EntryFields::METADATA);
        let tier = fields.contains(EntryFields::TIER);
        let headers = fields.contains(EntryFields::CONTENT_HEADERS);
        for (i, e) in entries.enumerate() {
            if i == 0 {
                c.endpoint = e.endpoint;
            }
            let mut flags = if e.is_dir { ATTR_DIRECTORY } else { 0 };
            if path {
                if i > 0 {
                    c.paths.push('\0');
                }
                if e.path.contains('\0') {
                    return Err(PackError {
                        path: e.path.clone(),
                    });
                }
                c.paths.push_str(&e.path);
            }
            if md5 {
                match e.md5 {
                    Some(digest) => {
                        flags |= ATTR_MD5;
                        c.md5s.extend_from_slice(&digest);
                    }
                    None => c.md5s.extend_from_slice(&[0; 16]),
                }
            }
            if stored {
                match e.stored_mtime() {
                    Some(ns) => {
                        flags |= ATTR_STORED_MTIME;
                        c.stored_mtimes_ns.push(ns);
                    }
                    None => c.stored_mtimes_ns.push(0),
                }
            }
            if metadata {
                c.metadata.push(e.metadata.clone());
            }
            if tier {
                c.access_tiers.push(e.access_tier);
                c.archive_statuses.push(e.archive_status);
            }
            if headers {
                c.content_headers
                    .push(e.content_headers.clone().unwrap_or_else(no_headers));
            }
            c.attributes.push(flags);
            c.sizes.push(e.size);
            c.mtimes_ns.push(e.mtime_ns);
        }
        Ok(&self.columns)
    }
}

/// Content headers with nothing set.
pub(crate) fn no_headers() -> ContentHeaders {
    ContentHeaders {
        content_type: None,
        cache_control: None,
        content_encoding: None,
        content_disposition: None,
        content_language: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(path: &str, mtime: Option<&str>) -> Entry {
        let metadata = mtime
            .map(|m| vec![("mtime".to_string(), m.to_string())])
            .unwrap_or_default();
        Entry::file(
            path.into(),
            3,
            7,
            Some([1; 16]),
            EndpointKind::AzureBlob,
            metadata,
        )
    }

    #[test]
    fn only_requested_columns_are_filled() {
        let entries = [blob("a/b", Some("1970-01-01T00:00:01Z")), blob("c", None)];
        let mut packer = Packer::default();
        let c = packer.pack(entries.iter(), EntryFields::empty()).unwrap();
        assert_eq!(c.count, 2);
        assert_eq!(c.sizes, [3, 3]);
        assert!(c.paths.is_empty() && c.md5s.is_empty() && c.metadata.is_empty());
        let c = packer
            .pack(
                entries.iter(),
                EntryFields::PATH | EntryFields::STORED_MTIME | EntryFields::MD5,
            )
            .unwrap();
        assert_eq!(c.paths, "a/b\0c");
        assert_eq!(c.stored_mtimes_ns, [1_000_000_000, 0]);
        assert_eq!(c.attributes[0] & ATTR_STORED_MTIME, ATTR_STORED_MTIME);
        assert_eq!(c.attributes[1] & ATTR_STORED_MTIME, 0);
        assert_eq!(c.md5s.len(), 32);
        assert_eq!(c.attributes[1] & ATTR_MD5, ATTR_MD5);
    }

    #[test]
    fn a_path_with_nul_cannot_be_packed() {
        let entries = [blob("bad\0name", None)];
        let err = Packer::default()
            .pack(entries.iter(), EntryFields::PATH)
            .unwrap_err();
        assert_eq!(err.path, "bad\0name");
    }
}
