//! @NAME@: a blobsync annotator. HTML files are uploaded with `Cache-Control` set to
//! `cache-control` (config; default `no-cache`), and every file gets the metadata
//! `annotated_by = @NAME@`.

use blobsync_plugin::annotator::{AnnotationExt, Annotator};
use blobsync_plugin::{Annotation, Config, Entry, EntryFields};

struct Plugin {
    cache_control: String,
}

impl Annotator for Plugin {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["cache-control"])?;
        let cache_control = config.get("cache-control").unwrap_or("no-cache").to_string();
        Ok(Plugin { cache_control })
    }

    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    fn annotate(&mut self, entry: &Entry<'_>) -> Annotation {
        let mut a = Annotation::none().metadata("annotated_by", "@NAME@");
        if entry.path.ends_with(".html") {
            a = a.cache_control(self.cache_control.clone());
        }
        a
    }
}

blobsync_plugin::export_annotator!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    #[test]
    fn html_is_not_cached() {
        let mut plugin = Plugin::configure(Config::default()).unwrap();
        let batch = Entries::of(
            EndpointKind::Local,
            &[TestEntry::file("index.html", 1), TestEntry::file("style.css", 1)],
        );
        let a = plugin.annotate_batch(&batch);
        assert_eq!(a[0].headers.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(a[1].headers.cache_control, None);
        assert_eq!(a[1].metadata[0].0, "annotated_by");
    }
}
