//! What the state keeps of one side's entry at the last run ([`crate::store::Facts`],
//! stored with the state), and how a listed entry is told apart from it.

use crate::endpoint::Item;
pub use crate::store::{Facts, Known};

impl Facts {
    /// The facts of a listed entry.
    pub fn of(item: &Item) -> Facts {
        Facts {
            size: item.size,
            mtime_ns: item.preserved_mtime_ns(),
            md5: item.md5,
            etag: item.etag.as_deref().map(str::to_string),
            inode: item.identity.map(|i| (i.dev, i.ino)),
        }
    }

    /// Whether `now` holds other content than these facts describe. An unchanged ETag
    /// is the same blob; else a different size, or different MD5s where both are known,
    /// or (without both MD5s) a different time is a change. A new inode with the same
    /// size, time and MD5 (a file replaced by a copy of itself) is not.
    pub fn changed_in(&self, now: &Facts) -> bool {
        if self.etag.is_some() && self.etag == now.etag {
            return false;
        }
        if self.size != now.size {
            return true;
        }
        match (self.md5, now.md5) {
            (Some(a), Some(b)) => a != b,
            _ => self.mtime_ns != now.mtime_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(size: u64, mtime_ns: i64, md5: Option<u8>, etag: Option<&str>) -> Facts {
        Facts {
            size,
            mtime_ns,
            md5: md5.map(|b| [b; 16]),
            etag: etag.map(str::to_string),
            inode: None,
        }
    }

    #[test]
    fn an_entry_changed_when_its_content_may_have() {
        let was = facts(3, 10, Some(1), Some("\"e1\""));
        assert!(!was.changed_in(&was.clone()));
        assert!(
            !was.changed_in(&facts(9, 99, Some(9), Some("\"e1\""))),
            "same ETag"
        );
        assert!(
            was.changed_in(&facts(4, 10, Some(1), Some("\"e2\""))),
            "size"
        );
        assert!(
            was.changed_in(&facts(3, 10, Some(2), Some("\"e2\""))),
            "MD5"
        );
        assert!(
            !was.changed_in(&facts(3, 11, Some(1), Some("\"e2\""))),
            "touched, same MD5"
        );
        assert!(
            facts(3, 10, None, None).changed_in(&facts(3, 11, Some(1), None)),
            "time"
        );
        assert!(!facts(3, 10, None, None).changed_in(&facts(3, 10, Some(1), None)));
    }
}
