//! The annotate stage, for copies to a container: what each blob should carry besides its
//! content — content headers, access tier, metadata, blob index tags — from the
//! annotators (the built-in one configured by flags, and the manifest's), and what that
//! means for each pair the compare stage decided:
//!
//! - a copy is written with the wanted values; a header, the tier or a tag the run does
//!   not set keeps the replaced blob's value (a re-upload does not reset what other tools
//!   set), and a missing Content-Type is guessed from the extension;
//! - blob → blob, the source blob's headers come before the replaced blob's (the copy has
//!   the source's headers), and so do its explicit tier and its tags when they are kept
//!   (`--s2s-preserve-access-tier`, `--s2s-preserve-blob-tags`); what the run sets still
//!   wins;
//! - a pair that is up to date but whose blob differs from what is wanted gets those
//!   properties changed in place (Set Blob Properties, Metadata, Tags or Tier): a new
//!   Cache-Control policy does not upload the site again.

use std::collections::HashMap;
use std::sync::Arc;

use super::RunError;
use super::config::S2sOptions;
use super::entries::{give_back, host_tier, lend};
use super::metadata::for_copy;
use super::observer::Side;
use super::work::PlannedUpdate;
use crate::endpoint::{BlobSettings, BlobUpdate, ContentHeaders, Item, Tier};
use crate::plugin::{self, AnnotatorChain};

/// What the run wants a blob to carry; `None` and empty lists leave the blob's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// Content headers.
    pub(crate) headers: ContentHeaders,
    /// Access tier.
    pub(crate) tier: Option<Tier>,
    /// Metadata keys (lower-case) and values.
    pub(crate) metadata: Vec<(String, String)>,
    /// Blob index tags.
    pub(crate) tags: Vec<(String, String)>,
}

/// Where wanted properties come from: the annotator plugins.
pub(crate) trait Annotations: Send {
    /// What each source file's blob should carry, in order.
    fn annotate(&mut self, items: &mut [Item]) -> Result<Vec<Wanted>, RunError>;
}

/// The annotator plugins, as the annotate stage asks them.
impl Annotations for AnnotatorChain {
    fn annotate(&mut self, items: &mut [Item]) -> Result<Vec<Wanted>, RunError> {
        let mut entries: Vec<plugin::Entry> = items
            .iter_mut()
            .map(|i| lend(i, plugin::EndpointKind::Local))
            .collect();
        let result = AnnotatorChain::annotate(self, &entries);
        for (item, entry) in items.iter_mut().zip(entries.drain(..)) {
            give_back(item, entry);
        }
        let annotations = result.map_err(RunError::Plugin)?;
        Ok(annotations.into_iter().map(wanted).collect())
    }
}

/// What an annotation asks for.
fn wanted(a: plugin::Annotation) -> Wanted {
    let h = a.headers;
    Wanted {
        headers: ContentHeaders {
            content_type: h.content_type,
            cache_control: h.cache_control,
            content_encoding: h.content_encoding,
            content_disposition: h.content_disposition,
            content_language: h.content_language,
        },
        tier: a.access_tier.map(host_tier),
        metadata: a
            .metadata
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        tags: a.tags,
    }
}

/// Content types by file extension.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeGuesser {
    /// Extra extension (lower-case, without the dot) → type mappings, which win over the
    /// built-in table (`AZCOPY_CONTENT_TYPE_MAP`).
    pub(crate) extra: Arc<HashMap<String, String>>,
}

impl TypeGuesser {
    /// The type for `path`; `application/octet-stream` when the extension says nothing.
    pub(crate) fn guess(&self, path: &str) -> String {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some((_, ext)) = name.rsplit_once('.')
            && let Some(t) = self.extra.get(&ext.to_ascii_lowercase())
        {
            return t.clone();
        }
        let mime = mime_guess::from_path(name).first_or_octet_stream();
        if mime.type_() == mime_guess::mime::TEXT {
            // As browsers need for non-ASCII text, and as azcopy sets it.
            format!("{}; charset=utf-8", mime.essence_str())
        } else {
            mime.essence_str().to_string()
        }
    }
}

/// The annotate stage's settings.
pub(crate) struct Annotator {
    /// The annotators, if any.
    pub(crate) source: Option<Box<dyn Annotations>>,
    /// Guess Content-Type from the extension when nothing else sets it (off with
    /// `--no-guess-mime-type`).
    pub(crate) guess: Option<TypeGuesser>,
    /// Blob → blob: the source blobs' properties are carried over, as these say.
    pub(crate) carry: Option<S2sOptions>,
}

/// Lays `wanted` over `existing`, key by key; sorted.
fn overlay(existing: &[(String, String)], wanted: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = existing.to_vec();
    for (k, v) in wanted {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, value)) => value.clone_from(v),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out.sort();
    out
}

impl Annotator {
    /// What each of `items` should carry (nothing wanted without annotators).
    pub(crate) fn wanted(&mut self, items: &mut [Item]) -> Result<Vec<Wanted>, RunError> {
        match &mut self.source {
            Some(source) if !items.is_empty() => source.annotate(items),
            _ => Ok(vec![Wanted::default(); items.len()]),
        }
    }

    /// The settings and metadata for copying `item` over `destination`.
    pub(crate) fn for_copy(
        &self,
        wanted: Wanted,
        item: &Item,
        destination: Option<&Item>,
    ) -> (BlobSettings, Vec<(String, String)>) {
        let existing = destination.and_then(|d| d.blob.as_deref());
        // Blob → blob: the source blob's properties, which the copy carries.
        let from = self.carry.zip(item.blob.as_deref());
        let mut headers = match (from, existing) {
            // A source states all its headers: one it lacks, the copy lacks too.
            (Some((_, source)), _) => wanted.headers.or(&source.headers),
            (None, Some(props)) => wanted.headers.or(&props.headers),
            (None, None) => wanted.headers,
        };
        if headers.content_type.is_none()
            && let Some(guess) = &self.guess
        {
            headers.content_type = Some(guess.guess(&item.path));
        }
        // An explicit online tier is kept; Archive only when asked for (the replaced blob
        // was archived, and the new content should be readable).
        let explicit = |p: &crate::endpoint::BlobProps| {
            p.tier.filter(|t| !p.tier_inferred && *t != Tier::Archive)
        };
        let source_tier = from
            .filter(|(carry, _)| carry.preserve_tier)
            .and_then(|(_, source)| explicit(source));
        let tier = wanted
            .tier
            .or(source_tier)
            .or_else(|| existing.and_then(explicit));
        let tags = match (from, existing) {
            (Some((carry, source)), _) if carry.preserve_tags => {
                Some(overlay(&source.tags, &wanted.tags)).filter(|t| !t.is_empty())
            }
            (_, Some(props)) if !props.tags.is_empty() || !wanted.tags.is_empty() => {
                Some(overlay(&props.tags, &wanted.tags))
            }
            _ if !wanted.tags.is_empty() => Some(overlay(&[], &wanted.tags)),
            _ => None,
        };
        let metadata = overlay(&for_copy(item, destination), &wanted.metadata);
        (
            BlobSettings {
                headers,
                tier,
                tags,
            },
            metadata,
        )
    }

    /// The in-place change that gives `destination` (up to date with `source`) what is
    /// wanted, if it lacks any of it.
    pub(crate) fn update_for(&self, wanted: &Wanted, destination: &Item) -> Option<PlannedUpdate> {
        let props = destination.blob.as_deref()?;
        let mut reasons = Vec::new();
        let mut update = BlobUpdate::of(destination);
        let differing: Vec<String> = wanted
            .headers
            .named()
            .iter()
            .zip(props.headers.named())
            .filter_map(|((name, want), (_, have))| {
                let want = (*want)?;
                (Some(want) != have)
                    .then(|| format!("{name} {:?} (was {:?})", want, have.unwrap_or("")))
            })
            .collect();
        if !differing.is_empty() {
            reasons.push(format!("headers differ: {}", differing.join(", ")));
            update.headers = Some((wanted.headers.clone().or(&props.headers), destination.md5));
        }
        let metadata = overlay(&destination.metadata, &wanted.metadata);
        if metadata != destination.metadata {
            reasons.push("metadata differs".to_string());
            update.metadata = Some(metadata);
        }
        if !wanted.tags.is_empty() {
            let tags = overlay(&props.tags, &wanted.tags);
            if tags != props.tags {
                reasons.push("tags differ".to_string());
                update.tags = Some(tags);
            }
        }
        if let Some(tier) = wanted.tier
            && props.tier != Some(tier)
        {
            let was = props.tier.map_or("unknown", Tier::name);
            reasons.push(if props.tier == Some(Tier::Archive) {
                format!(
                    "tier {} (was Archive: rehydrating, which takes hours)",
                    tier.name()
                )
            } else {
                format!("tier {} (was {was})", tier.name())
            });
            update.tier = Some((tier, None));
        }
        if update.is_empty() {
            return None;
        }
        Some(PlannedUpdate {
            side: Side::Destination,
            update,
            reason: format!("content unchanged; {}", reasons.join("; ")),
            rehydrate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::BlobProps;

    fn blob(path: &str, props: BlobProps, metadata: &[(&str, &str)]) -> Item {
        Item {
            blob: Some(Box::new(props)),
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            etag: Some("\"e1\"".into()),
            md5: Some([7; 16]),
            ..Item::new(path, 3, 5)
        }
    }

    fn annotator() -> Annotator {
        Annotator {
            carry: None,
            source: None,
            guess: Some(TypeGuesser {
                extra: Arc::new(HashMap::from([(
                    "foo".to_string(),
                    "text/x-foo".to_string(),
                )])),
            }),
        }
    }

    #[test]
    fn configured_headers_win_then_the_blobs_own_then_a_guess() {
        let existing = blob(
            "index.html",
            BlobProps {
                headers: ContentHeaders {
                    content_type: Some("text/html; charset=utf-8".into()),
                    content_language: Some("de".into()),
                    ..ContentHeaders::default()
                },
                tier: Some(Tier::Cool),
                ..BlobProps::default()
            },
            &[("owner", "web")],
        );
        let wanted = Wanted {
            headers: ContentHeaders {
                cache_control: Some("no-cache".into()),
                ..ContentHeaders::default()
            },
            metadata: vec![("build".into(), "42".into())],
            ..Wanted::default()
        };
        let source = Item::new("index.html", 3, 9);
        let (settings, metadata) = annotator().for_copy(wanted, &source, Some(&existing));
        assert_eq!(settings.headers.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(
            settings.headers.content_type.as_deref(),
            Some("text/html; charset=utf-8"),
            "the blob's own type is kept"
        );
        assert_eq!(settings.headers.content_language.as_deref(), Some("de"));
        assert_eq!(settings.tier, Some(Tier::Cool), "an explicit tier is kept");
        assert_eq!(
            metadata,
            [
                ("build".to_string(), "42".to_string()),
                ("owner".to_string(), "web".to_string())
            ]
        );
        let (fresh, _) = annotator().for_copy(Wanted::default(), &Item::new("x/a.FOO", 1, 1), None);
        assert_eq!(fresh.headers.content_type.as_deref(), Some("text/x-foo"));
        let (css, _) = annotator().for_copy(Wanted::default(), &Item::new("s.css", 1, 1), None);
        assert_eq!(
            css.headers.content_type.as_deref(),
            Some("text/css; charset=utf-8")
        );
    }

    #[test]
    fn blob_to_blob_the_source_wins_over_the_replaced_blob_and_the_run_over_both() {
        let source = blob(
            "logo.svg",
            BlobProps {
                headers: ContentHeaders {
                    content_type: Some("image/svg+xml".into()),
                    cache_control: Some("max-age=60".into()),
                    ..ContentHeaders::default()
                },
                tier: Some(Tier::Cool),
                tags: vec![("team".into(), "web".into())],
                ..BlobProps::default()
            },
            &[("owner", "design")],
        );
        let existing = blob(
            "logo.svg",
            BlobProps {
                headers: ContentHeaders {
                    content_type: Some("text/plain".into()),
                    content_language: Some("de".into()),
                    ..ContentHeaders::default()
                },
                tier: Some(Tier::Cold),
                ..BlobProps::default()
            },
            &[("kept", "yes")],
        );
        let all = S2sOptions {
            preserve_tier: true,
            preserve_tags: true,
            stream: false,
        };
        let carrying = |carry| Annotator {
            carry: Some(carry),
            ..annotator()
        };
        let wanted = Wanted {
            headers: ContentHeaders {
                cache_control: Some("no-cache".into()),
                ..ContentHeaders::default()
            },
            tags: vec![("env".into(), "prod".into())],
            ..Wanted::default()
        };
        let (settings, metadata) = carrying(all).for_copy(wanted, &source, Some(&existing));
        assert_eq!(
            settings.headers,
            ContentHeaders {
                content_type: Some("image/svg+xml".into()),
                cache_control: Some("no-cache".into()),
                ..ContentHeaders::default()
            },
            "the source's headers, the flag's over them; none of the replaced blob's"
        );
        assert_eq!(settings.tier, Some(Tier::Cool));
        assert_eq!(
            settings.tags.unwrap(),
            [
                ("env".to_string(), "prod".to_string()),
                ("team".to_string(), "web".to_string())
            ]
        );
        assert_eq!(
            metadata,
            [
                ("kept".to_string(), "yes".to_string()),
                ("owner".to_string(), "design".to_string())
            ]
        );
        let none = S2sOptions::default();
        let (settings, _) = carrying(none).for_copy(Wanted::default(), &source, Some(&existing));
        assert_eq!(
            settings.tier,
            Some(Tier::Cold),
            "without --s2s-preserve-access-tier the replaced blob's tier stays"
        );
        assert_eq!(settings.tags, None);
    }

    #[test]
    fn an_up_to_date_blob_gets_only_what_differs_changed_in_place() {
        let existing = blob(
            "app.js",
            BlobProps {
                headers: ContentHeaders {
                    content_type: Some("text/javascript".into()),
                    cache_control: Some("max-age=60".into()),
                    ..ContentHeaders::default()
                },
                tier: Some(Tier::Hot),
                tier_inferred: true,
                ..BlobProps::default()
            },
            &[("mtime", "2024-01-01T00:00:00Z")],
        );
        let a = annotator();
        assert!(a.update_for(&Wanted::default(), &existing).is_none());
        let same = Wanted {
            headers: ContentHeaders {
                cache_control: Some("max-age=60".into()),
                ..ContentHeaders::default()
            },
            tier: Some(Tier::Hot),
            ..Wanted::default()
        };
        assert!(a.update_for(&same, &existing).is_none(), "nothing differs");
        let new_policy = Wanted {
            headers: ContentHeaders {
                cache_control: Some("max-age=31536000, immutable".into()),
                ..ContentHeaders::default()
            },
            tier: Some(Tier::Cool),
            ..Wanted::default()
        };
        let planned = a.update_for(&new_policy, &existing).unwrap();
        let (headers, md5) = planned.update.headers.clone().unwrap();
        assert_eq!(
            headers.cache_control.as_deref(),
            Some("max-age=31536000, immutable")
        );
        assert_eq!(
            headers.content_type.as_deref(),
            Some("text/javascript"),
            "Set Blob Properties clears what it is not sent: the rest is resent"
        );
        assert_eq!(md5, Some([7; 16]), "and the Content-MD5 too");
        assert_eq!(planned.update.tier, Some((Tier::Cool, None)));
        assert_eq!(planned.update.metadata, None);
        assert!(
            planned.reason.contains("Cache-Control") && planned.reason.contains("tier Cool"),
            "{}",
            planned.reason
        );
    }
}
