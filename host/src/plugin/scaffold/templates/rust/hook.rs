//! @NAME@: a blobsync hook. It appends one line per upload, download or delete to the
//! output file its manifest grants (`output = "out/events.txt"`), and a line at the end
//! of each run.

use blobsync_plugin::Config;
use blobsync_plugin::hook::{self, Event, EventAction, Hook, Summary};

struct Plugin;

impl Hook for Plugin {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&[])?;
        Ok(Plugin)
    }

    fn on_event(&mut self, event: &Event) {
        let action = match event.action {
            EventAction::Upload => "upload",
            EventAction::Download => "download",
            EventAction::Delete => "delete",
        };
        let line = format!("{action} {} {}", event.path, event.bytes);
        if let Err(e) = hook::write_line(&line) {
            blobsync_plugin::log::warn(&e);
        }
    }

    fn on_complete(&mut self, summary: &Summary) {
        let _ = hook::write_line(&format!("done {} copied={}", summary.job_id, summary.copied));
    }
}

blobsync_plugin::export_hook!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_configures() {
        assert!(Plugin::configure(Config::default()).is_ok());
        assert!(Plugin::configure(Config::new(vec![("x".into(), "y".into())])).is_err());
    }
}
