//! An example annotator for blobsync: a retention and classification policy expressed as
//! what each upload's blob gets.
//!
//! | files | get |
//! |---|---|
//! | `*.bak` | the cool tier and the tag `retention=7y` |
//! | under `finance/` | the tag `classification=confidential` |
//! | `*.html` | `Cache-Control: no-cache` |
//!
//! Config (each optional): `backup-suffix` (`.bak`), `backup-tier` (`cool`),
//! `backup-retention` (`7y`), `confidential-prefix` (`finance/`), `html-cache-control`
//! (`no-cache`).

use blobsync_plugin::annotator::{AnnotationExt, Annotator};
use blobsync_plugin::{AccessTier, Annotation, Config, Entry, EntryFields};

struct Policy {
    backup_suffix: String,
    backup_tier: AccessTier,
    retention: String,
    confidential_prefix: String,
    html_cache_control: String,
}

fn tier(text: &str) -> Result<AccessTier, String> {
    match text.to_ascii_lowercase().as_str() {
        "hot" => Ok(AccessTier::Hot),
        "cool" => Ok(AccessTier::Cool),
        "cold" => Ok(AccessTier::Cold),
        "archive" => Ok(AccessTier::Archive),
        _ => Err(format!(
            "config `backup-tier`: {text:?} is not hot, cool, cold or archive"
        )),
    }
}

impl Annotator for Policy {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&[
            "backup-suffix",
            "backup-tier",
            "backup-retention",
            "confidential-prefix",
            "html-cache-control",
        ])?;
        let get = |key: &str, default: &str| config.get(key).unwrap_or(default).to_string();
        Ok(Policy {
            backup_suffix: get("backup-suffix", ".bak"),
            backup_tier: tier(&get("backup-tier", "cool"))?,
            retention: get("backup-retention", "7y"),
            confidential_prefix: get("confidential-prefix", "finance/"),
            html_cache_control: get("html-cache-control", "no-cache"),
        })
    }

    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    fn annotate(&mut self, entry: &Entry<'_>) -> Annotation {
        let mut a = Annotation::none();
        if entry.path.ends_with(&self.backup_suffix) {
            a = a
                .tier(self.backup_tier)
                .tag("retention", self.retention.clone());
        }
        if entry.path.starts_with(&self.confidential_prefix) {
            a = a.tag("classification", "confidential");
        }
        if entry.path.ends_with(".html") {
            a = a.cache_control(self.html_cache_control.clone());
        }
        a
    }
}

blobsync_plugin::export_annotator!(Policy);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    #[test]
    fn backups_finance_and_html() {
        let mut p = Policy::configure(Config::default()).unwrap();
        let batch = Entries::of(
            EndpointKind::Local,
            &[
                TestEntry::file("db/dump.bak", 1),
                TestEntry::file("finance/q1.xlsx", 1),
                TestEntry::file("finance/old.bak", 1),
                TestEntry::file("site/index.html", 1),
                TestEntry::file("notes.txt", 1),
            ],
        );
        let a = p.annotate_batch(&batch);
        assert_eq!(a[0].access_tier, Some(AccessTier::Cool));
        assert_eq!(a[0].tags, [("retention".into(), "7y".into())]);
        assert_eq!(
            a[1].tags,
            [("classification".into(), "confidential".into())]
        );
        assert_eq!(a[2].tags.len(), 2);
        assert_eq!(a[3].headers.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(a[4], Annotation::none());
    }
}
