//! Keeping secrets out of what blobsync writes: a plugin's [`Redactor`] replaces its
//! secrets in everything it says, and [`redact_secrets`] replaces every secret any plugin
//! was given in every log line.

/// Every secret resolved in this process, for the log writer to redact whatever path a
/// value took into a log line (a library's trace of a call's arguments, say).
static KNOWN: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// `text` with every secret any plugin's configuration or environment resolved to
/// replaced by `***`; borrowed when there is none.
pub fn redact_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if known.is_empty() || !known.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for secret in known.iter() {
        out = out.replace(secret.as_str(), "***");
    }
    std::borrow::Cow::Owned(out)
}

pub(crate) fn remember(secrets: &[String]) {
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for s in secrets {
        if !known.contains(s) {
            known.push(s.clone());
        }
    }
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Replaces secret values in text with `***`.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these secrets (longest first).
    pub(crate) fn new(secrets: Vec<String>) -> Redactor {
        Redactor { secrets }
    }

    /// True when there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    /// Redacts in place, allocating only when a secret is present.
    pub fn redact_in_place(&self, text: &mut String) {
        if self.secrets.iter().any(|s| text.contains(s.as_str())) {
            *text = self.redact(text);
        }
    }
}
