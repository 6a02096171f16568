//! A plugin's configuration as it reaches `configure`: the manifest's values with
//! `${env:NAME}` secrets resolved (only for variables the manifest lists in `env`), plus
//! the per-run values every 0.2 plugin gets (`blobsync.job-id`, `blobsync.run-started-ms`).
//!
//! Resolved secrets never leave this module in the clear except towards the plugin: a
//! [`Redactor`] replaces them in everything a plugin says (logs, stdout/stderr, errors,
//! reasons) before it reaches blobsync's log, output or job records.

use std::path::PathBuf;

use super::redact::{Redactor, remember};
use super::spec::PluginSpec;

/// The config key carrying the job id (empty while plugins are probed at start-up).
pub const JOB_ID_KEY: &str = "blobsync.job-id";
/// The config key carrying the run's start time, in ms since the Unix epoch.
pub const STARTED_KEY: &str = "blobsync.run-started-ms";
/// The config key carrying how precisely the coarser side keeps modification times, in ns
/// (1: exact; 1000000000: whole seconds). Comparators compare times at this precision.
pub const PRECISION_KEY: &str = "blobsync.time-precision-ns";

/// What differs from one run to the next, given to plugin instances when they are made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunValues {
    /// When the run started, in ms since the Unix epoch.
    pub started_ms: u64,
    /// The run's job id.
    pub job_id: String,
    /// The local side's folder (absolute), which `read-content` reads below. `None` when
    /// neither side is local: `read-content` then refuses every path.
    pub local_root: Option<PathBuf>,
    /// The local source was listed following symbolic links (`--follow-symlinks`), so
    /// `read-content` follows them too; otherwise it never does.
    pub follow_links: bool,
    /// The coarser side's modification-time precision, in ns (0 or 1: exact).
    pub time_precision_ns: u64,
}

impl RunValues {
    /// The values used to probe plugins at start-up: no job yet, the current time.
    pub fn probe() -> RunValues {
        RunValues {
            started_ms: now_ms(),
            job_id: String::new(),
            local_root: None,
            follow_links: false,
            time_precision_ns: 1,
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A spec's configuration with secrets resolved, and the redactor for them.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) config: Vec<(String, String)>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) redactor: Redactor,
}

/// Resolves `${env:NAME}` in `spec.config` from `lookup` (the process environment in
/// production), allowing only names listed in the manifest's `env`. The error names the
/// key and the variable, never a value.
pub(crate) fn resolve(
    spec: &PluginSpec,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, String> {
    let mut secrets = Vec::new();
    let mut config = Vec::with_capacity(spec.config.len());
    for (key, value) in &spec.config {
        if key.starts_with("blobsync.") {
            return Err(format!(
                "config key `{key}` is reserved: blobsync sets `blobsync.*` keys itself"
            ));
        }
        let mut out = String::new();
        let mut rest = value.as_str();
        while let Some(start) = rest.find("${env:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 6..];
            let Some(end) = after.find('}') else {
                return Err(format!(
                    "config `{key}`: `${{env:` without a closing `}}`; write `${{env:NAME}}`"
                ));
            };
            let name = &after[..end];
            if !spec.grants.env.iter().any(|n| n == name) {
                return Err(format!(
                    "config `{key}` uses ${{env:{name}}}, but `{name}` is not listed in the \
                     plugin's `env`; add `env = [\"{name}\"]` to its manifest entry"
                ));
            }
            let secret = lookup(name).ok_or_else(|| {
                format!("config `{key}` uses ${{env:{name}}}, but {name} is not set")
            })?;
            if !secret.is_empty() {
                secrets.push(secret.clone());
            }
            out.push_str(&secret);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        config.push((key.clone(), out));
    }
    let env: Vec<(String, String)> = spec
        .grants
        .env
        .iter()
        .filter_map(|name| lookup(name).map(|v| (name.clone(), v)))
        .collect();
    // Variables handed to the plugin are as secret as those in its configuration.
    for (_, v) in &env {
        if v.len() >= 4 && !secrets.contains(v) {
            secrets.push(v.clone());
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    remember(&secrets);
    Ok(Resolved {
        config,
        env,
        redactor: Redactor::new(secrets),
    })
}

/// The configuration one instance receives: the resolved pairs, plus the run's values for
/// plugins built against 0.2 (0.1 plugins often reject keys they do not know).
pub(crate) fn instance_config(
    resolved: &[(String, String)],
    values: &RunValues,
    with_run_values: bool,
) -> Vec<(String, String)> {
    let mut config = resolved.to_vec();
    if with_run_values {
        config.push((JOB_ID_KEY.to_string(), values.job_id.clone()));
        config.push((STARTED_KEY.to_string(), values.started_ms.to_string()));
        config.push((
            PRECISION_KEY.to_string(),
            values.time_precision_ns.max(1).to_string(),
        ));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::spec::{PluginKind, PluginSpec};

    fn spec(config: &[(&str, &str)], env: &[&str]) -> PluginSpec {
        let mut s = PluginSpec::builtin(
            PluginKind::Hook,
            "glob-filter",
            config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            "test",
        );
        s.grants.env = env.iter().map(|s| s.to_string()).collect();
        s
    }

    fn lookup(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t-value".into()),
            "REGION" => Some("eu".into()),
            _ => None,
        }
    }

    #[test]
    fn listed_variables_are_resolved_and_redacted() {
        let r = resolve(
            &spec(
                &[("url", "https://h/x?t=${env:TOKEN}&r=${env:REGION}")],
                &["TOKEN", "REGION"],
            ),
            &lookup,
        )
        .unwrap();
        assert_eq!(r.config[0].1, "https://h/x?t=s3cr3t-value&r=eu");
        assert_eq!(r.redactor.redact("bad token s3cr3t-value"), "bad token ***");
        assert_eq!(r.env.len(), 2);
    }

    #[test]
    fn unlisted_or_unset_variables_are_errors_that_name_no_value() {
        let e = resolve(&spec(&[("k", "${env:TOKEN}")], &[]), &lookup).unwrap_err();
        assert!(e.contains("not listed") && !e.contains("s3cr3t"), "{e}");
        let e = resolve(&spec(&[("k", "${env:NOPE}")], &["NOPE"]), &lookup).unwrap_err();
        assert!(e.contains("NOPE is not set"), "{e}");
        let e = resolve(&spec(&[("k", "${env:TOKEN")], &["TOKEN"]), &lookup).unwrap_err();
        assert!(e.contains("closing"), "{e}");
        let e = resolve(&spec(&[("blobsync.job-id", "x")], &[]), &lookup).unwrap_err();
        assert!(e.contains("reserved"), "{e}");
    }

    #[test]
    fn run_values_are_added_for_current_plugins_only() {
        let values = RunValues {
            started_ms: 5,
            job_id: "j1".into(),
            local_root: None,
            follow_links: false,
            time_precision_ns: 1_000_000_000,
        };
        let base = vec![("a".to_string(), "b".to_string())];
        assert_eq!(instance_config(&base, &values, false), base);
        let c = instance_config(&base, &values, true);
        assert!(c.contains(&(JOB_ID_KEY.into(), "j1".into())));
        assert!(c.contains(&(STARTED_KEY.into(), "5".into())));
        assert!(c.contains(&(PRECISION_KEY.into(), "1000000000".into())));
    }
}
