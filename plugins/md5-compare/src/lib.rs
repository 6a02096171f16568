//! blobsync's content comparator (`--compare-hash=MD5`): copies when sizes or MD5s differ.
//!
//! The host supplies the MD5 of local files whose sizes match (computed in parallel and
//! cached); a blob's MD5 is its Content-MD5 from the listing. A blob without Content-MD5
//! counts as different, as in azcopy, and the reason says so.

use blobsync_plugin::comparator::{Comparator, Decision};
use blobsync_plugin::{Config, EndpointKind, Entry, EntryFields};

/// The comparator; it has no settings.
pub struct Md5Compare;

fn describe(entry: &Entry<'_>) -> &'static str {
    match entry.endpoint {
        EndpointKind::Local => "local file",
        EndpointKind::AzureBlob => "blob",
    }
}

impl Comparator for Md5Compare {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&[])?;
        Ok(Md5Compare)
    }

    /// MD5s: the host hashes local files whose sizes match.
    fn fields(&self) -> EntryFields {
        EntryFields::MD5
    }

    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        if source.size != destination.size {
            return Decision::transfer(format!(
                "size differs ({} bytes at the source, {} at the destination)",
                source.size, destination.size
            ));
        }
        match (source.md5(), destination.md5()) {
            (_, None) => Decision::transfer(format!(
                "destination {} has no Content-MD5 (treated as different, as azcopy does)",
                describe(destination)
            )),
            (None, _) => Decision::transfer(format!(
                "source {} has no Content-MD5 (treated as different, as azcopy does)",
                describe(source)
            )),
            (Some(s), Some(d)) if s == d => Decision::skip("same MD5"),
            (Some(_), Some(_)) => Decision::transfer(format!(
                "MD5 differs (source {}, destination {})",
                source.md5_hex().unwrap_or_default(),
                destination.md5_hex().unwrap_or_default()
            )),
        }
    }
}

blobsync_plugin::export_comparator!(Md5Compare);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::comparator::Action;

    use blobsync_plugin::{Entries, TestEntry};

    fn entry(endpoint: EndpointKind, size: u64, md5: Option<[u8; 16]>) -> Entries {
        let mut e = TestEntry::file("f", size);
        e.md5 = md5;
        Entries::of(endpoint, &[e])
    }

    fn compare(c: &mut Md5Compare, a: &Entries, b: &Entries) -> Decision {
        c.compare_batch(a, b).remove(0)
    }

    #[test]
    fn equal_hashes_skip_and_different_hashes_transfer() {
        let mut c = Md5Compare;
        let a = entry(EndpointKind::Local, 3, Some([1; 16]));
        let b = entry(EndpointKind::AzureBlob, 3, Some([1; 16]));
        assert_eq!(compare(&mut c, &a, &b).action, Action::Skip);
        let b2 = entry(EndpointKind::AzureBlob, 3, Some([2; 16]));
        let d = compare(&mut c, &a, &b2);
        assert_eq!(d.action, Action::Transfer);
        assert!(
            d.reason.starts_with("MD5 differs (source 0101"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn missing_content_md5_is_different_and_says_so() {
        let mut c = Md5Compare;
        let a = entry(EndpointKind::Local, 3, Some([1; 16]));
        let b = entry(EndpointKind::AzureBlob, 3, None);
        let d = compare(&mut c, &a, &b);
        assert_eq!(d.action, Action::Transfer);
        assert!(
            d.reason.contains("destination blob has no Content-MD5"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn size_difference_needs_no_hash() {
        let mut c = Md5Compare;
        let d = compare(
            &mut c,
            &entry(EndpointKind::Local, 4, None),
            &entry(EndpointKind::AzureBlob, 3, None),
        );
        assert!(d.reason.starts_with("size differs"), "{}", d.reason);
    }
}
