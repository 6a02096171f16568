//! @NAME@: a blobsync comparator. A file present on both sides is copied when its size
//! differs, and left alone otherwise.

use blobsync_plugin::comparator::{Comparator, Decision};
use blobsync_plugin::{Config, Entry, EntryFields};

struct Plugin;

impl Comparator for Plugin {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&[])?;
        Ok(Plugin)
    }

    // Sizes are always sent; this comparator needs no optional field.
    fn fields(&self) -> EntryFields {
        EntryFields::empty()
    }

    fn compare(&mut self, source: &Entry<'_>, destination: &Entry<'_>) -> Decision {
        if source.size != destination.size {
            Decision::transfer(format!(
                "size differs ({} -> {})",
                destination.size, source.size
            ))
        } else {
            Decision::skip("same size")
        }
    }
}

blobsync_plugin::export_comparator!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::comparator::Action;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    #[test]
    fn only_a_size_change_is_copied() {
        let mut plugin = Plugin::configure(Config::default()).unwrap();
        let source = Entries::of(
            EndpointKind::Local,
            &[TestEntry::file("a", 1), TestEntry::file("b", 2)],
        );
        let destination = Entries::of(
            EndpointKind::AzureBlob,
            &[TestEntry::file("a", 1), TestEntry::file("b", 3)],
        );
        let d = plugin.compare_batch(&source, &destination);
        assert_eq!(d[0].action, Action::Skip);
        assert_eq!(d[1].action, Action::Transfer);
    }
}
