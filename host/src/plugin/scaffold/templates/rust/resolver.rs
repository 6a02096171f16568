//! @NAME@: a blobsync resolver, for a two-way sync's conflicts (`blobsync bisync`). PATH2's
//! version wins for paths below `content/` (the `path2-owns` setting); elsewhere it has no
//! opinion, and `--conflict-resolve` decides.

use blobsync_plugin::Config;
use blobsync_plugin::resolver::{Choice, Conflict, Resolution, Resolver};

struct Plugin {
    owned: String,
}

impl Resolver for Plugin {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["path2-owns"])?;
        let owned = config.get("path2-owns").unwrap_or("content/").to_string();
        Ok(Plugin { owned })
    }

    fn resolve(&mut self, conflict: &Conflict) -> Resolution {
        if conflict.path.starts_with(&self.owned) {
            Resolution::new(Choice::Path2, format!("path2 owns {}", self.owned))
        } else {
            Resolution::policy()
        }
    }
}

blobsync_plugin::export_resolver!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::resolver::Facts;

    fn conflict(path: &str) -> Conflict {
        let facts = |size| Facts {
            size,
            mtime_ns: 0,
            md5: None,
        };
        Conflict {
            path: path.into(),
            last_path1: None,
            last_path2: None,
            path1: facts(1),
            path2: facts(2),
        }
    }

    #[test]
    fn path2_wins_below_content_and_the_flags_decide_elsewhere() {
        let mut plugin = Plugin::configure(Config::default()).unwrap();
        assert_eq!(plugin.resolve(&conflict("content/a.md")).choice, Choice::Path2);
        assert_eq!(plugin.resolve(&conflict("notes.txt")).choice, Choice::Policy);
        assert!(Plugin::configure(Config::new(vec![("x".into(), "y".into())])).is_err());
    }
}
