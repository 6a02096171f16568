//! Per-path rules and the values they set.

use std::collections::BTreeMap;

use blobsync_plugin::annotator::AnnotationExt;
use blobsync_plugin::{AccessTier, Annotation, Config};
use regex::Regex;

/// What a rule (or the flags) sets.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    content_type: Option<String>,
    cache_control: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    tier: Option<AccessTier>,
    metadata: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

const HEADERS: [&str; 5] = [
    "content-type",
    "cache-control",
    "content-encoding",
    "content-disposition",
    "content-language",
];

impl Settings {
    /// Reads `{prefix}content-type`… from `config`; the tier and tags keys differ between
    /// the flags (`block-blob-tier`, `blob-tags`) and rules (`tier`, `tags`).
    pub fn from_config(
        config: &Config,
        prefix: &str,
        tier_key: &str,
        tags_key: &str,
    ) -> Result<Settings, String> {
        let get = |key: &str| config.get(&format!("{prefix}{key}")).map(String::from);
        let key = |k: &str| format!("{prefix}{k}");
        let mut s = Settings {
            content_type: get(HEADERS[0]),
            cache_control: get(HEADERS[1]),
            content_encoding: get(HEADERS[2]),
            content_disposition: get(HEADERS[3]),
            content_language: get(HEADERS[4]),
            ..Settings::default()
        };
        if let Some(t) = get(tier_key) {
            s.tier = Some(crate::tier(&t).map_err(|e| format!("config `{}`: {e}", key(tier_key)))?);
        }
        if let Some(m) = get("metadata") {
            s.metadata = metadata(&m).map_err(|e| format!("config `{}`: {e}", key("metadata")))?;
        }
        if let Some(t) = get(tags_key) {
            s.tags = tags(&t).map_err(|e| format!("config `{}`: {e}", key(tags_key)))?;
        }
        Ok(s)
    }

    /// Only a Cache-Control value.
    pub fn cache_control(value: &str) -> Settings {
        Settings {
            cache_control: Some(value.to_string()),
            ..Settings::default()
        }
    }

    /// The annotation these settings make.
    pub fn annotation(&self) -> Annotation {
        let mut a = Annotation::none();
        a.headers.content_type = self.content_type.clone();
        a.headers.cache_control = self.cache_control.clone();
        a.headers.content_encoding = self.content_encoding.clone();
        a.headers.content_disposition = self.content_disposition.clone();
        a.headers.content_language = self.content_language.clone();
        a.access_tier = self.tier;
        a.metadata = self.metadata.clone();
        a.tags = self.tags.clone();
        a
    }
}

/// `k=v;k2=v2` (azcopy's `--metadata`); keys must be C# identifiers.
fn metadata(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in text.split(';').filter(|s| !s.trim().is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not k=v (write `k=v;k2=v2`)"))?;
        let k = k.trim();
        let mut chars = k.chars();
        let identifier = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!(
                "metadata key {k:?} is not an identifier (letters, digits and `_`)"
            ));
        }
        out.push((k.to_ascii_lowercase(), v.to_string()));
    }
    Ok(out)
}

/// `k=v&k2=v2` (azcopy's `--blob-tags`), values percent-decoded.
fn tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let valid = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " +-./:=_".contains(c))
    };
    let mut out = Vec::new();
    for item in text.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not k=v (write `k=v&k2=v2`)"))?;
        let (k, v) = (decode(k)?, decode(v)?);
        if k.is_empty() || k.len() > 128 || !valid(&k) || v.len() > 256 || !valid(&v) {
            return Err(format!(
                "tag {k:?}={v:?}: keys are 1-128 and values 0-256 letters, digits, spaces or \
                 `+ - . / : = _`"
            ));
        }
        out.push((k, v));
    }
    if out.len() > 10 {
        return Err(format!("{} tags; a blob can have at most 10", out.len()));
    }
    Ok(out)
}

/// Decodes `%XX` escapes.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{text:?} has a malformed %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}

/// Which files a rule applies to.
#[derive(Debug, Clone)]
pub struct Matcher {
    regex: Regex,
    /// Matched against the file name only (a glob without `/`).
    name_only: bool,
}

impl Matcher {
    /// A glob: `*` within a segment, `**` across segments, `?`, `[...]`, `{a,b}`.
    pub fn glob(pattern: &str) -> Result<Matcher, String> {
        let source = glob_to_regex(pattern)?;
        let regex = Regex::new(&source)
            .map_err(|e| format!("pattern {pattern:?} cannot be compiled: {e}"))?;
        Ok(Matcher {
            regex,
            name_only: !pattern.contains('/'),
        })
    }

    /// An unanchored regex over the relative path.
    pub fn regex(source: &str) -> Result<Matcher, String> {
        let regex =
            Regex::new(source).map_err(|e| format!("{source:?} is not a valid regex: {e}"))?;
        Ok(Matcher {
            regex,
            name_only: false,
        })
    }

    fn matches(&self, path: &str) -> bool {
        let subject = if self.name_only {
            path.rsplit('/').next().unwrap_or(path)
        } else {
            path
        };
        self.regex.is_match(subject)
    }
}

fn glob_to_regex(pattern: &str) -> Result<String, String> {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_braces = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                    out.push_str("(?:.*/)?");
                } else {
                    out.push_str(".*");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or_else(|| format!("pattern {pattern:?}: `[` is never closed"))?;
                let class: String = chars[i + 1..i + end].iter().collect();
                let class = class
                    .strip_prefix('!')
                    .map_or(class.clone(), |c| format!("^{c}"));
                out.push('[');
                out.push_str(&class.replace('\\', "\\\\"));
                out.push(']');
                i += end;
            }
            '{' if !in_braces => {
                in_braces = true;
                out.push_str("(?:");
            }
            '}' if in_braces => {
                in_braces = false;
                out.push(')');
            }
            ',' if in_braces => out.push('|'),
            c => {
                let mut buf = [0u8; 4];
                out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
        i += 1;
    }
    if in_braces {
        return Err(format!("pattern {pattern:?}: `{{` is never closed"));
    }
    out.push('$');
    Ok(out)
}

/// A named rule.
#[derive(Debug, Clone)]
pub struct Rule {
    name: String,
    matcher: Matcher,
    /// What it sets.
    pub settings: Settings,
}

impl Rule {
    /// A rule.
    pub fn new(name: &str, matcher: Matcher, settings: Settings) -> Rule {
        Rule {
            name: name.to_string(),
            matcher,
            settings,
        }
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the rule applies to `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.matches(path)
    }
}

/// The `rule.NAME.*` keys, as rules in the order of their names.
pub fn from_config(config: &Config) -> Result<Vec<Rule>, String> {
    let known = ["pattern", "regex", "tier", "metadata", "tags"];
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for (key, _) in config.pairs() {
        let Some(rest) = key.strip_prefix("rule.") else {
            continue;
        };
        let (name, field) = rest
            .rsplit_once('.')
            .ok_or_else(|| format!("config `{key}`: write rule keys as `rule.NAME.FIELD`"))?;
        if !known.contains(&field) && !HEADERS.contains(&field) {
            return Err(format!(
                "config `{key}`: a rule has no field `{field}` (fields: pattern, regex, {}, tier, \
                 metadata, tags)",
                HEADERS.join(", ")
            ));
        }
        names.insert(name.to_string(), ());
    }
    let mut rules = Vec::new();
    for name in names.keys() {
        let prefix = format!("rule.{name}.");
        let matcher = match (
            config.get(&format!("{prefix}pattern")),
            config.get(&format!("{prefix}regex")),
        ) {
            (Some(p), None) => Matcher::glob(p)?,
            (None, Some(r)) => Matcher::regex(r)?,
            _ => {
                return Err(format!(
                    "rule `{name}` needs exactly one of `{prefix}pattern` or `{prefix}regex`"
                ));
            }
        };
        let settings = Settings::from_config(config, &prefix, "tier", "tags")?;
        rules.push(Rule::new(name, matcher, settings));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, path: &str| Matcher::glob(p).unwrap().matches(path);
        assert!(m("*.html", "a/b/index.html"));
        assert!(!m("*.html", "a/b/index.htm"));
        assert!(m("*.{html,htm}", "x.htm"));
        assert!(m("reports/**", "reports/2024/q1.pdf"));
        assert!(!m("reports/**", "old/reports/q1.pdf"));
        assert!(m("**/secret/*", "a/secret/k"));
        assert!(m("**/secret/*", "secret/k"));
        assert!(m("img/*.[pj]ng", "img/a.png"));
        assert!(!m("img/*.png", "img/sub/a.png"));
        assert!(Matcher::glob("a[b").is_err() && Matcher::glob("{a,b").is_err());
    }

    #[test]
    fn rule_names_are_ordered() {
        let config = Config::new(vec![
            ("rule.b.pattern".into(), "*".into()),
            ("rule.a.regex".into(), "x".into()),
        ]);
        let rules = from_config(&config).unwrap();
        assert_eq!(rules[0].name, "a");
    }
}
