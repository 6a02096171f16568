//! What an annotator answers for a file ([`Annotation`]): how the answers of several
//! annotators merge (a later one overrides an earlier one field by field: a header, the
//! tier, one metadata key, one tag), and what Azure would refuse in one.

use super::bindings::types::{Annotation, ContentHeaders};
use super::entry::no_headers;

/// An annotation with nothing set.
pub fn empty_annotation() -> Annotation {
    Annotation {
        headers: no_headers(),
        access_tier: None,
        metadata: Vec::new(),
        tags: Vec::new(),
    }
}

/// Lays `later` over `merged`: every value `later` sets replaces the earlier one.
pub fn merge(merged: &mut Annotation, later: Annotation) {
    let ContentHeaders {
        content_type,
        cache_control,
        content_encoding,
        content_disposition,
        content_language,
    } = later.headers;
    let h = &mut merged.headers;
    for (slot, value) in [
        (&mut h.content_type, content_type),
        (&mut h.cache_control, cache_control),
        (&mut h.content_encoding, content_encoding),
        (&mut h.content_disposition, content_disposition),
        (&mut h.content_language, content_language),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
    if later.access_tier.is_some() {
        merged.access_tier = later.access_tier;
    }
    for (key, value) in later.metadata {
        let key = key.to_ascii_lowercase();
        upsert(&mut merged.metadata, key, value);
    }
    for (key, value) in later.tags {
        upsert(&mut merged.tags, key, value);
    }
}

fn upsert(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = value,
        None => pairs.push((key, value)),
    }
}

/// The most blob index tags a blob may have.
pub const MAX_TAGS: usize = 10;

/// Checks what Azure would refuse: metadata keys that are not C# identifiers, blobsync's
/// own `mtime` key, header values with line breaks, tags outside Azure's limits.
pub fn validate(a: &Annotation) -> Result<(), String> {
    let h = &a.headers;
    for (name, value) in [
        ("content-type", &h.content_type),
        ("cache-control", &h.cache_control),
        ("content-encoding", &h.content_encoding),
        ("content-disposition", &h.content_disposition),
        ("content-language", &h.content_language),
    ] {
        if let Some(v) = value
            && v.chars().any(|c| c.is_control())
        {
            return Err(format!(
                "the {name} header {v:?} contains a control character"
            ));
        }
    }
    for (key, value) in &a.metadata {
        let mut chars = key.chars();
        let identifier = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!(
                "metadata key {key:?} is not a C# identifier (letters, digits and `_`, not \
                 starting with a digit)"
            ));
        }
        if key.eq_ignore_ascii_case(blobsync_plugin::MTIME_METADATA_KEY) {
            return Err("metadata key `mtime` is blobsync's own (the source file's \
                        modification time)"
                .into());
        }
        if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(format!(
                "metadata value of {key:?} must be printable ASCII (HTTP header rules)"
            ));
        }
    }
    if a.tags.len() > MAX_TAGS {
        return Err(format!(
            "{} tags; a blob can have at most {MAX_TAGS}",
            a.tags.len()
        ));
    }
    let tag_char = |c: char| c.is_ascii_alphanumeric() || " +-./:=_".contains(c);
    for (key, value) in &a.tags {
        if key.is_empty() || key.len() > 128 || !key.chars().all(tag_char) {
            return Err(format!(
                "tag key {key:?} must be 1-128 letters, digits, spaces or `+ - . / : = _`"
            ));
        }
        if value.len() > 256 || !value.chars().all(tag_char) {
            return Err(format!(
                "tag value {value:?} of {key:?} must be 0-256 letters, digits, spaces or \
                 `+ - . / : = _`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::types::AccessTier;

    fn annotation(f: impl FnOnce(&mut Annotation)) -> Annotation {
        let mut a = empty_annotation();
        f(&mut a);
        a
    }

    #[test]
    fn later_annotators_override_field_by_field() {
        let mut merged = annotation(|a| {
            a.headers.content_type = Some("text/html".into());
            a.headers.cache_control = Some("max-age=60".into());
            a.access_tier = Some(AccessTier::Hot);
            a.metadata = vec![("owner".into(), "web".into()), ("team".into(), "a".into())];
            a.tags = vec![("retention".into(), "1y".into())];
        });
        merge(
            &mut merged,
            annotation(|a| {
                a.headers.cache_control = Some("no-cache".into());
                a.metadata = vec![("Team".into(), "b".into())];
                a.tags = vec![("classification".into(), "public".into())];
            }),
        );
        assert_eq!(merged.headers.content_type.as_deref(), Some("text/html"));
        assert_eq!(merged.headers.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(merged.access_tier, Some(AccessTier::Hot));
        assert_eq!(
            merged.metadata,
            [("owner".into(), "web".into()), ("team".into(), "b".into())]
        );
        assert_eq!(merged.tags.len(), 2);
    }

    #[test]
    fn invalid_annotations_say_what_azure_would_refuse() {
        let bad = [
            annotation(|a| a.metadata = vec![("1abc".into(), "x".into())]),
            annotation(|a| a.metadata = vec![("with-dash".into(), "x".into())]),
            annotation(|a| a.metadata = vec![("mtime".into(), "x".into())]),
            annotation(|a| a.metadata = vec![("k".into(), "line\nbreak".into())]),
            annotation(|a| a.headers.cache_control = Some("a\r\nb".into())),
            annotation(|a| a.tags = vec![("bad!key".into(), "v".into())]),
            annotation(|a| {
                a.tags = (0..11)
                    .map(|i| (format!("k{i}"), "v".to_string()))
                    .collect()
            }),
        ];
        for a in bad {
            assert!(validate(&a).is_err(), "{a:?}");
        }
        let good = annotation(|a| {
            a.metadata = vec![("_owner2".into(), "Web Team".into())];
            a.tags = vec![
                ("retention".into(), "7y".into()),
                ("path".into(), "a/b:c=d".into()),
            ];
        });
        assert_eq!(validate(&good), Ok(()));
    }
}
