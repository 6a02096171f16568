//! An example webhook for blobsync: at the end of every run it posts the run's summary,
//! with the failed paths and their errors, as JSON to a URL.
//!
//! It sends HTTP through WASI 0.2's `wasi:http`, which blobsync allows only to the
//! origins the manifest lists in `allowed-outbound-hosts`; a request anywhere else fails
//! inside the plugin (and blobsync logs it). Keep secrets out of the manifest with
//! `${env:NAME}` (and `env = ["NAME"]`): blobsync resolves them and keeps them out of its
//! logs and job records.
//!
//! Config: `url` (required), `authorization` (optional `Authorization` header value),
//! `max-failures` (how many failures to list; default 100).
//!
//! ```json
//! {"job_id":"…","status":"completed-with-errors","source":"…","destination":"…","dry_run":false,
//!  "copied":10,"skipped":0,"deleted":0,"failed":1,"bytes_transferred":1024,"elapsed_ms":900,
//!  "failures":[{"path":"a.txt","action":"upload","error":"…"}]}
//! ```

use blobsync_plugin::Config;
use blobsync_plugin::hook::{Event, EventAction, Hook, Outcome, RunStatus, Summary};
use serde_json::json;

struct Webhook {
    url: String,
    authorization: Option<String>,
    max_failures: usize,
    failures: Vec<serde_json::Value>,
    more_failures: u64,
}

impl Hook for Webhook {
    fn configure(config: Config) -> Result<Self, String> {
        config.check_keys(&["url", "authorization", "max-failures"])?;
        let url = config
            .get("url")
            .ok_or("config `url` is required (where to post the summary)")?
            .to_string();
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err("config `url` must be an http:// or https:// URL".into());
        }
        Ok(Webhook {
            url,
            authorization: config.get("authorization").map(String::from),
            max_failures: config.parse("max-failures")?.unwrap_or(100),
            failures: Vec::new(),
            more_failures: 0,
        })
    }

    fn on_event(&mut self, event: &Event) {
        if event.outcome != Outcome::Failure {
            return;
        }
        if self.failures.len() >= self.max_failures {
            self.more_failures += 1;
            return;
        }
        let action = match event.action {
            EventAction::Upload => "upload",
            EventAction::Download => "download",
            EventAction::Delete => "delete",
        };
        self.failures.push(json!({
            "path": event.path,
            "action": action,
            "error": event.error,
        }));
    }

    fn on_complete(&mut self, s: &Summary) {
        let status = match s.status {
            RunStatus::Completed => "completed",
            RunStatus::CompletedWithErrors => "completed-with-errors",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        };
        let body = json!({
            "job_id": s.job_id,
            "status": status,
            "source": s.source,
            "destination": s.destination,
            "dry_run": s.dry_run,
            "copied": s.copied,
            "skipped": s.skipped,
            "deleted": s.deleted,
            "failed": s.failed,
            "bytes_transferred": s.bytes_transferred,
            "elapsed_ms": s.elapsed_ms,
            "failures": std::mem::take(&mut self.failures),
            "failures_not_listed": std::mem::take(&mut self.more_failures),
        })
        .to_string();
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = &self.authorization {
            headers.push(("authorization", auth));
        }
        match blobsync_plugin::http::post(&self.url, &headers, body.as_bytes()) {
            Ok(r) if r.status < 300 => {
                blobsync_plugin::log::info(&format!("summary posted (HTTP {})", r.status));
            }
            Ok(r) => blobsync_plugin::log::warn(&format!(
                "the webhook answered HTTP {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )),
            Err(e) => blobsync_plugin::log::error(&format!("cannot post the summary: {e}")),
        }
    }
}

blobsync_plugin::export_hook!(Webhook);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_required() {
        assert!(Webhook::configure(Config::default()).is_err());
        let c = Config::new(vec![("url".into(), "ftp://x".into())]);
        assert!(Webhook::configure(c).is_err());
        let c = Config::new(vec![("url".into(), "https://hooks.example.com/x".into())]);
        assert!(Webhook::configure(c).is_ok());
    }
}
