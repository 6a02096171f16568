//! An example resolver for `blobsync bisync`: "the CMS side wins for `content/`, the
//! newer version elsewhere".
//!
//! Config:
//! - `prefix` (default `content/`): the paths one side owns;
//! - `owner` (`path1` or `path2`, default `path2`): the side whose version wins there;
//! - `elsewhere` (`newer` or `policy`, default `newer`): outside the prefix, the version
//!   modified later wins (a tie is left to `--conflict-resolve`), or every conflict is
//!   left to `--conflict-resolve` and `--conflict-loser`.
//!
//! Either way the other version is kept as `--conflict-loser` says (by default under its
//! conflict name on both sides).

use blobsync_plugin::Config;
use blobsync_plugin::resolver::{Choice, Conflict, Resolution, Resolver};

struct Cms {
    prefix: String,
    owner: Choice,
    newer_elsewhere: bool,
}

impl Resolver for Cms {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["prefix", "owner", "elsewhere"])?;
        let owner = match config.get("owner").unwrap_or("path2") {
            "path1" => Choice::Path1,
            "path2" => Choice::Path2,
            other => return Err(format!("owner = {other:?}: say path1 or path2")),
        };
        let newer_elsewhere = match config.get("elsewhere").unwrap_or("newer") {
            "newer" => true,
            "policy" => false,
            other => return Err(format!("elsewhere = {other:?}: say newer or policy")),
        };
        Ok(Cms {
            prefix: config.get("prefix").unwrap_or("content/").to_string(),
            owner,
            newer_elsewhere,
        })
    }

    fn resolve(&mut self, conflict: &Conflict) -> Resolution {
        if conflict.path.starts_with(&self.prefix) {
            let side = if self.owner == Choice::Path1 {
                "path1"
            } else {
                "path2"
            };
            return Resolution::new(self.owner, format!("{side} owns {}", self.prefix));
        }
        if !self.newer_elsewhere {
            return Resolution::policy();
        }
        let (one, two) = (conflict.path1.mtime_ns, conflict.path2.mtime_ns);
        match one.cmp(&two) {
            std::cmp::Ordering::Greater => Resolution::new(Choice::Path1, "path1's is newer"),
            std::cmp::Ordering::Less => Resolution::new(Choice::Path2, "path2's is newer"),
            std::cmp::Ordering::Equal => Resolution::policy(),
        }
    }
}

blobsync_plugin::export_resolver!(Cms);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::resolver::Facts;

    fn conflict(path: &str, t1: i64, t2: i64) -> Conflict {
        let facts = |t| Facts {
            size: 1,
            mtime_ns: t,
            md5: None,
        };
        Conflict {
            path: path.into(),
            last_path1: None,
            last_path2: None,
            path1: facts(t1),
            path2: facts(t2),
        }
    }

    fn cms(pairs: &[(&str, &str)]) -> Result<Cms, String> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Cms::configure(Config::new(pairs))
    }

    #[test]
    fn the_owner_wins_below_the_prefix_and_the_newer_elsewhere() {
        let mut cms = cms(&[]).unwrap();
        assert_eq!(
            cms.resolve(&conflict("content/a.md", 9, 1)).choice,
            Choice::Path2
        );
        assert_eq!(
            cms.resolve(&conflict("notes/a.md", 9, 1)).choice,
            Choice::Path1
        );
        assert_eq!(
            cms.resolve(&conflict("notes/a.md", 1, 9)).choice,
            Choice::Path2
        );
        assert_eq!(
            cms.resolve(&conflict("notes/a.md", 5, 5)).choice,
            Choice::Policy
        );
        let mut policy = self::cms(&[("elsewhere", "policy"), ("owner", "path1")]).unwrap();
        assert_eq!(
            policy.resolve(&conflict("content/x", 1, 9)).choice,
            Choice::Path1
        );
        assert_eq!(
            policy.resolve(&conflict("notes/x", 1, 9)).choice,
            Choice::Policy
        );
        assert!(self::cms(&[("owner", "cms")]).is_err());
        assert!(self::cms(&[("colour", "red")]).is_err());
    }
}
