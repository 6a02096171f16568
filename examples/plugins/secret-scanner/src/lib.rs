//! An example data-loss-prevention filter for blobsync: it reads the start of every local
//! file about to be uploaded and refuses the ones that contain a private key or a cloud
//! access key, saying which and on which line (in the output and the job record).
//!
//! It needs the `read-content` capability, which the manifest grants with a byte limit
//! (`read-content = { max-bytes = 65536 }`); a file whose start cannot be read is refused
//! too, so that nothing unscanned is uploaded.
//!
//! Config: `max-bytes` (how much of each file to scan; default and ceiling: what the
//! manifest grants), `skip-extensions` (`;`-separated, not scanned; default none).

use blobsync_plugin::filter::{Filter, Verdict};
use blobsync_plugin::{Config, Entry, EntryFields, Side};
use regex::bytes::RegexSet;

/// What is looked for, and how a match is described.
const SECRETS: &[(&str, &str)] = &[
    (
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY( BLOCK)?-----",
        "a private key",
    ),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
    (
        r"AccountKey=[A-Za-z0-9+/]{86}==",
        "an Azure storage account key",
    ),
    (r"[?&]sig=[A-Za-z0-9%+/]{40,}", "an Azure SAS signature"),
    (
        r#""private_key"\s*:\s*"-----BEGIN"#,
        "a Google service account key",
    ),
    (r"\bgh[pousr]_[A-Za-z0-9]{36}\b", "a GitHub token"),
    (r"\bxox[baprs]-[A-Za-z0-9-]{10,}", "a Slack token"),
];

struct Scanner {
    set: RegexSet,
    max_bytes: u64,
    skip: Vec<String>,
}

impl Filter for Scanner {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["max-bytes", "skip-extensions"])?;
        // ASCII-only matching (`(?-u)`): keys are ASCII, and files need not be UTF-8.
        let set = RegexSet::new(SECRETS.iter().map(|(p, _)| format!("(?-u){p}")))
            .map_err(|e| format!("internal pattern error: {e}"))?;
        Ok(Scanner {
            set,
            max_bytes: config.parse("max-bytes")?.unwrap_or(u64::MAX),
            skip: config
                .list("skip-extensions")
                .into_iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
        })
    }

    fn fields(&self) -> EntryFields {
        EntryFields::PATH
    }

    fn check(&mut self, side: Side, entry: &Entry<'_>) -> Verdict {
        // Only what would be uploaded is scanned: the source side's local files.
        if side != Side::Source
            || entry.is_dir
            || entry.endpoint != blobsync_plugin::EndpointKind::Local
        {
            return Verdict::include("");
        }
        let extension = entry
            .name()
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        if extension.is_some_and(|e| self.skip.contains(&e)) {
            return Verdict::include("");
        }
        let bytes = match blobsync_plugin::content::read(entry.path, self.max_bytes) {
            Ok(bytes) => bytes,
            Err(e) => {
                blobsync_plugin::log::warn(&format!("cannot scan {}: {e}", entry.path));
                return Verdict::exclude(format!("secret-scanner could not read it: {e}"));
            }
        };
        match self.set.matches(&bytes).iter().next() {
            None => Verdict::include(""),
            Some(i) => {
                let (pattern, what) = SECRETS[i];
                let line = regex::bytes::Regex::new(&format!("(?-u){pattern}"))
                    .ok()
                    .and_then(|r| r.find(&bytes))
                    .map(|m| bytes[..m.start()].iter().filter(|&&b| b == b'\n').count() + 1)
                    .unwrap_or(1);
                Verdict::exclude(format!("secret-scanner: contains {what} (line {line})"))
            }
        }
    }
}

blobsync_plugin::export_filter!(Scanner);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    #[test]
    fn secrets_are_found_and_clean_files_pass() {
        let dir = std::env::temp_dir().join(format!("scanner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("id_rsa"),
            "x\n-----BEGIN OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::write(dir.join("creds.env"), "AWS=AKIAABCDEFGHIJKLMNOP\n").unwrap();
        std::fs::write(dir.join("readme.md"), "nothing here\n").unwrap();
        blobsync_plugin::content::set_test_root(&dir);
        let mut s = Scanner::configure(Config::default()).unwrap();
        let batch = Entries::of(
            EndpointKind::Local,
            &[
                TestEntry::file("id_rsa", 40),
                TestEntry::file("creds.env", 20),
                TestEntry::file("readme.md", 13),
            ],
        );
        let v = s.filter(Side::Source, &batch);
        assert_eq!(
            v[0].reason,
            "secret-scanner: contains a private key (line 2)"
        );
        assert!(v[1].reason.contains("AWS access key id"), "{}", v[1].reason);
        assert!(v[2].included);
        assert!(
            s.filter(Side::Destination, &batch)
                .iter()
                .all(|v| v.included)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
