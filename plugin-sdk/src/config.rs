//! Plugin configuration as the host passes it.

use std::str::FromStr;

/// The key the host sets to the run's job id.
pub const JOB_ID_KEY: &str = "blobsync.job-id";
/// The key the host sets to the run's start time (ms since the Unix epoch).
pub const STARTED_KEY: &str = "blobsync.run-started-ms";
/// The key the host sets to how precisely the coarser side of the run keeps modification
/// times, in ns (1: exact; 1000000000: whole seconds, e.g. ext2 or SMB; 2000000000: FAT).
pub const PRECISION_KEY: &str = "blobsync.time-precision-ns";

/// Key/value configuration from the manifest's `config` table, or from command-line flags
/// for the built-in plugins. Values are strings; lists are `;`-separated (as in azcopy).
///
/// Reject keys you do not know with [`Config::check_keys`], so that a typo in a manifest is
/// a clear error rather than a silently ignored setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Wraps the pairs the host passed to `configure`.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// All pairs, in the order given.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of `key`, if set. If a key is given twice, the last value wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `;`-separated items of `key`, with empty items dropped (azcopy's list syntax).
    /// An unset key is an empty list.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| v.split(';').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Parses the value of `key` with [`FromStr`]; the error names the key and the value.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| format!("config `{key}`: cannot parse {v:?}: {e}")),
        }
    }

    /// Parses a boolean: `true`/`false`, `yes`/`no`, `1`/`0` (case-insensitive).
    pub fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Some(true)),
                "false" | "no" | "0" => Ok(Some(false)),
                _ => Err(format!("config `{key}`: expected true or false, got {v:?}")),
            },
        }
    }

    /// The job id of the run the instance was made for (empty while blobsync probes
    /// plugins at start-up). The host sets it as `blobsync.job-id`.
    pub fn job_id(&self) -> &str {
        self.get(JOB_ID_KEY).unwrap_or("")
    }

    /// When the run started, in milliseconds since the Unix epoch (`blobsync.run-started-ms`).
    pub fn run_started_ms(&self) -> Option<u64> {
        self.get(STARTED_KEY).and_then(|v| v.parse().ok())
    }

    /// The run's modification-time precision in ns ([`PRECISION_KEY`]); 1 (exact) when
    /// the host did not say.
    pub fn time_precision_ns(&self) -> u64 {
        self.get(PRECISION_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1)
    }

    /// Fails with a message naming the first key that is not in `known`. Keys the host
    /// sets (`blobsync.*`) are always known.
    pub fn check_keys(&self, known: &[&str]) -> Result<(), String> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !k.starts_with("blobsync.") && !known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(format!(
                "unknown config key `{k}` (known keys: {})",
                known.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn list_splits_on_semicolons_and_drops_empty_items() {
        let c = config(&[("p", "*.json;;*.csv;")]);
        assert_eq!(c.list("p"), vec!["*.json", "*.csv"]);
        assert!(c.list("missing").is_empty());
    }

    #[test]
    fn last_value_wins() {
        let c = config(&[("a", "1"), ("a", "2")]);
        assert_eq!(c.get("a"), Some("2"));
    }

    #[test]
    fn parse_errors_name_the_key() {
        let c = config(&[("max-size", "ten")]);
        let err = c.parse::<u64>("max-size").unwrap_err();
        assert!(err.contains("max-size") && err.contains("ten"), "{err}");
        assert_eq!(config(&[("n", " 7 ")]).parse::<u64>("n"), Ok(Some(7)));
    }

    #[test]
    fn flag_accepts_common_spellings() {
        assert_eq!(config(&[("f", "Yes")]).flag("f"), Ok(Some(true)));
        assert_eq!(config(&[("f", "0")]).flag("f"), Ok(Some(false)));
        assert!(config(&[("f", "maybe")]).flag("f").is_err());
    }

    #[test]
    fn run_values_are_always_known() {
        let c = config(&[(JOB_ID_KEY, "j-1"), (STARTED_KEY, "1700000000000")]);
        assert_eq!(c.check_keys(&[]), Ok(()));
        assert_eq!(c.job_id(), "j-1");
        assert_eq!(c.run_started_ms(), Some(1_700_000_000_000));
    }

    #[test]
    fn unknown_keys_are_reported() {
        let c = config(&[("include-pattern", "x"), ("exclude-patern", "y")]);
        let err = c
            .check_keys(&["include-pattern", "exclude-pattern"])
            .unwrap_err();
        assert!(err.contains("exclude-patern"), "{err}");
    }
}
