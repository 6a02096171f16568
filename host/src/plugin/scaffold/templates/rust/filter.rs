//! @NAME@: a blobsync filter. It excludes files whose names end with `suffix` (config;
//! default `.tmp`), on both sides: they are neither uploaded nor deleted.

use blobsync_plugin::filter::{Filter, Verdict};
use blobsync_plugin::{Config, Entry, EntryFields, Side};

struct Plugin {
    suffix: String,
}

impl Filter for Plugin {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["suffix"])?;
        let suffix = config.get("suffix").unwrap_or(".tmp").to_string();
        blobsync_plugin::log::info(&format!("@NAME@ excludes *{suffix}"));
        Ok(Plugin { suffix })
    }

    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    fn check(&mut self, _side: Side, entry: &Entry<'_>) -> Verdict {
        if !entry.is_dir && entry.path.ends_with(&self.suffix) {
            Verdict::exclude(format!("ends with {}", self.suffix))
        } else {
            Verdict::include("")
        }
    }
}

blobsync_plugin::export_filter!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    #[test]
    fn files_with_the_suffix_are_excluded() {
        let mut plugin = Plugin::configure(Config::default()).unwrap();
        let batch = Entries::of(
            EndpointKind::Local,
            &[TestEntry::file("keep.txt", 1), TestEntry::file("scratch.tmp", 1)],
        );
        let verdicts = plugin.filter(Side::Source, &batch);
        assert!(verdicts[0].included);
        assert!(!verdicts[1].included);
        assert_eq!(verdicts[1].reason, "ends with .tmp");
    }
}
