//! blobsync's default annotator: what every uploaded file's blob gets, from the upload
//! flags and from per-path rules (a static site's HTML `no-cache`, its fingerprinted
//! assets cached for a year).
//!
//! | key | flag | value |
//! |---|---|---|
//! | `content-type` | `--content-type` | every file's Content-Type (no guessing) |
//! | `cache-control` | `--cache-control` | every file's Cache-Control |
//! | `content-encoding` | `--content-encoding` | every file's Content-Encoding |
//! | `content-disposition` | `--content-disposition` | every file's Content-Disposition |
//! | `content-language` | `--content-language` | every file's Content-Language |
//! | `guess-mime-type` | `--no-guess-mime-type` sets `false` | guess Content-Type from the extension (default `true`) |
//! | `block-blob-tier` | `--block-blob-tier` | `hot`, `cool`, `cold` or `archive` |
//! | `metadata` | `--metadata` | `k=v;k2=v2` |
//! | `blob-tags` | `--blob-tags` | `k=v&k2=v2` (URL-encoded values allowed) |
//! | `preset` | | `static-site`: HTML `no-cache`, fingerprinted assets `max-age=31536000, immutable` |
//! | `rule.NAME.pattern` / `rule.NAME.regex` | | which files rule NAME applies to |
//! | `rule.NAME.{content-type, cache-control, content-encoding, content-disposition, content-language, tier, metadata, tags}` | | what it sets |
//!
//! A glob `pattern` without `/` matches the file name, with `/` the whole relative path;
//! `*` stays within a path segment, `**` crosses them, `{a,b}` is either. A `regex` is
//! unanchored over the relative path. Later values override earlier ones field by field:
//! the guessed type, then the flags, then the preset, then the rules in the order of their
//! names (name them `10-html`, `20-assets`… to order them).

use blobsync_plugin::annotator::{AnnotationExt, Annotator, merge as merge_into};
use blobsync_plugin::{AccessTier, Annotation, Config, Entry, EntryFields};

mod rules;

use rules::{Matcher, Rule, Settings};

/// The configured annotator.
pub struct BuiltinAnnotator {
    guess: bool,
    base: Settings,
    rules: Vec<Rule>,
}

const KEYS: &[&str] = &[
    "content-type",
    "cache-control",
    "content-encoding",
    "content-disposition",
    "content-language",
    "guess-mime-type",
    "block-blob-tier",
    "metadata",
    "blob-tags",
    "preset",
];

/// Fingerprinted asset names: `app.3f2a9c1b.js`, `logo-5d41402abc4b2a76.png`.
const FINGERPRINT: &str = r"[.-][0-9a-fA-F]{8,}\.[A-Za-z0-9]+$";

impl Annotator for BuiltinAnnotator {
    fn configure(config: Config) -> Result<Self, String> {
        let unknown = config.pairs().iter().find(|(k, _)| {
            !k.starts_with("blobsync.") && !k.starts_with("rule.") && !KEYS.contains(&k.as_str())
        });
        if let Some((k, _)) = unknown {
            return Err(format!(
                "unknown config key `{k}` (known keys: {}, rule.NAME.*)",
                KEYS.join(", ")
            ));
        }
        let explicit_type = config.get("content-type").is_some();
        let guess = config.flag("guess-mime-type")?.unwrap_or(true) && !explicit_type;
        let base = Settings::from_config(&config, "", "block-blob-tier", "blob-tags")?;
        let mut rules = Vec::new();
        match config.get("preset") {
            None => {}
            Some("static-site") => {
                rules.push(Rule::new(
                    "preset html",
                    Matcher::glob("*.{html,htm}")?,
                    Settings::cache_control("no-cache"),
                ));
                rules.push(Rule::new(
                    "preset fingerprinted assets",
                    Matcher::regex(FINGERPRINT)?,
                    Settings::cache_control("max-age=31536000, immutable"),
                ));
            }
            Some(other) => {
                return Err(format!(
                    "config `preset`: {other:?} is not a preset (known: static-site)"
                ));
            }
        }
        rules.extend(rules::from_config(&config)?);
        if !rules.is_empty() {
            let names: Vec<&str> = rules.iter().map(Rule::name).collect();
            blobsync_plugin::log::debug(&format!(
                "annotator rules, in order: {}",
                names.join(", ")
            ));
        }
        Ok(BuiltinAnnotator { guess, base, rules })
    }

    fn fields(&self) -> EntryFields {
        if self.guess || !self.rules.is_empty() {
            EntryFields::PATH
        } else {
            EntryFields::empty()
        }
    }

    fn annotate(&mut self, entry: &Entry<'_>) -> Annotation {
        let mut out = Annotation::none();
        if self.guess
            && let Some(mime) = mime_guess::from_path(entry.path).first()
        {
            let mut value = mime.essence_str().to_string();
            if mime.type_() == mime_guess::mime::TEXT {
                value.push_str("; charset=utf-8");
            }
            out = out.content_type(value);
        }
        merge_into(&mut out, self.base.annotation());
        for rule in &self.rules {
            if rule.matches(entry.path) {
                merge_into(&mut out, rule.settings.annotation());
            }
        }
        out
    }
}

/// Parses an access tier name.
pub(crate) fn tier(text: &str) -> Result<AccessTier, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "hot" => Ok(AccessTier::Hot),
        "cool" => Ok(AccessTier::Cool),
        "cold" => Ok(AccessTier::Cold),
        "archive" => Ok(AccessTier::Archive),
        _ => Err(format!(
            "{text:?} is not an access tier (hot, cool, cold or archive)"
        )),
    }
}

blobsync_plugin::export_annotator!(BuiltinAnnotator);

#[cfg(test)]
mod tests {
    use super::*;
    use blobsync_plugin::{EndpointKind, Entries, TestEntry};

    fn annotator(pairs: &[(&str, &str)]) -> Result<BuiltinAnnotator, String> {
        BuiltinAnnotator::configure(Config::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn annotate(a: &mut BuiltinAnnotator, path: &str) -> Annotation {
        let batch = Entries::of(EndpointKind::Local, &[TestEntry::file(path, 1)]);
        a.annotate_batch(&batch).remove(0)
    }

    #[test]
    fn types_are_guessed_unless_given_or_disabled() {
        let mut a = annotator(&[]).unwrap();
        let html = annotate(&mut a, "site/index.html");
        assert_eq!(
            html.headers.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            annotate(&mut a, "x.png").headers.content_type.as_deref(),
            Some("image/png")
        );
        assert_eq!(annotate(&mut a, "no-extension").headers.content_type, None);
        let mut a = annotator(&[("content-type", "application/x-thing")]).unwrap();
        assert_eq!(
            annotate(&mut a, "x.png").headers.content_type.as_deref(),
            Some("application/x-thing")
        );
        let mut a = annotator(&[("guess-mime-type", "false")]).unwrap();
        assert_eq!(annotate(&mut a, "x.png").headers.content_type, None);
        assert_eq!(a.fields(), EntryFields::empty());
    }

    #[test]
    fn flags_set_headers_tier_metadata_and_tags() {
        let mut a = annotator(&[
            ("cache-control", "max-age=60"),
            ("content-language", "en-GB"),
            ("block-blob-tier", "Cool"),
            ("metadata", "owner=web;team=blue"),
            ("blob-tags", "project=site&stage=prod%20eu"),
        ])
        .unwrap();
        let x = annotate(&mut a, "a.txt");
        assert_eq!(x.headers.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(x.headers.content_language.as_deref(), Some("en-GB"));
        assert_eq!(x.access_tier, Some(AccessTier::Cool));
        assert_eq!(
            x.metadata,
            [
                ("owner".into(), "web".into()),
                ("team".into(), "blue".into())
            ]
        );
        assert_eq!(
            x.tags,
            [
                ("project".into(), "site".into()),
                ("stage".into(), "prod eu".into())
            ]
        );
    }

    #[test]
    fn the_static_site_preset_and_rules_override_the_flags() {
        let mut a = annotator(&[
            ("cache-control", "max-age=300"),
            ("preset", "static-site"),
            ("rule.20-reports.pattern", "reports/**"),
            ("rule.20-reports.content-disposition", "attachment"),
            ("rule.20-reports.tier", "cool"),
            ("rule.30-bak.regex", r"\.bak$"),
            ("rule.30-bak.tags", "retention=7y"),
        ])
        .unwrap();
        assert_eq!(
            annotate(&mut a, "index.html")
                .headers
                .cache_control
                .as_deref(),
            Some("no-cache")
        );
        assert_eq!(
            annotate(&mut a, "assets/app.3f2a9c1b.js")
                .headers
                .cache_control
                .as_deref(),
            Some("max-age=31536000, immutable")
        );
        assert_eq!(
            annotate(&mut a, "assets/app.js")
                .headers
                .cache_control
                .as_deref(),
            Some("max-age=300")
        );
        let r = annotate(&mut a, "reports/2024/q1.pdf.bak");
        assert_eq!(r.headers.content_disposition.as_deref(), Some("attachment"));
        assert_eq!(r.access_tier, Some(AccessTier::Cool));
        assert_eq!(r.tags, [("retention".into(), "7y".into())]);
    }

    #[test]
    fn bad_configuration_is_explained() {
        for (pairs, needle) in [
            (vec![("block-blob-tier", "frozen")], "not an access tier"),
            (vec![("metadata", "1bad=x")], "identifier"),
            (vec![("metadata", "novalue")], "k=v"),
            (vec![("blob-tags", "a=b&bad!=c")], "tag"),
            (vec![("preset", "blog")], "not a preset"),
            (vec![("rule.x.cache-control", "no-cache")], "pattern"),
            (
                vec![("rule.x.pattern", "*"), ("rule.x.colour", "red")],
                "colour",
            ),
            (vec![("rule.x.regex", "(")], "regex"),
            (vec![("cache-contrl", "x")], "unknown config key"),
        ] {
            let err = annotator(&pairs).err().unwrap_or_default();
            assert!(err.contains(needle), "{pairs:?}: {err}");
        }
    }
}
