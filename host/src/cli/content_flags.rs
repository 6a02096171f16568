//! What uploads set on blobs — content headers, access tier, metadata, blob index tags —
//! from flags, checked before anything is transferred. The values configure the built-in
//! annotator (`builtin:annotator`); each error names the flag and the bad part.

use super::args::ContentArgs;
use crate::endpoint::{MTIME_KEY, Tier};
use crate::plugin::{PluginKind, PluginSpec};
use crate::sync::Direction;

/// The most blob index tags one blob may have.
const MAX_TAGS: usize = 10;

/// True for a C# identifier, the rule for metadata names: ASCII letters, digits and `_`,
/// not starting with a digit.
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `--metadata 'k=v;k2=v2'` (keys lower-cased, as the service returns them).
fn metadata(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in text.split(';').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            format!("--metadata {part:?}: write key=value pairs separated by `;`")
        })?;
        let key = key.trim();
        if !is_identifier(key) {
            return Err(format!(
                "--metadata: the key {key:?} is not a valid metadata name (letters, digits \
                 and `_`, not starting with a digit: Azure's rule)"
            ));
        }
        if key.eq_ignore_ascii_case(MTIME_KEY) {
            return Err(
                "--metadata: `mtime` is blobsync's own key (the source file's modification \
                 time); choose another name"
                    .into(),
            );
        }
        if let Some(c) = value.chars().find(|c| c.is_control() || !c.is_ascii()) {
            return Err(format!(
                "--metadata: the value of {key:?} contains {c:?}; metadata values are \
                 printable ASCII"
            ));
        }
        let key = key.to_ascii_lowercase();
        if out.iter().any(|(k, _)| *k == key) {
            return Err(format!("--metadata: the key {key:?} is given twice"));
        }
        out.push((key, value.to_string()));
    }
    Ok(out)
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " +-./:=_".contains(c))
}

/// Parses `--blob-tags 'k=v&k2=v2'` (parts may be percent-encoded, as azcopy's).
fn tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            format!("--blob-tags {part:?}: write key=value pairs separated by `&`")
        })?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("--blob-tags: {s:?} is not valid percent-encoded UTF-8"))
        };
        let (key, value) = (decode(key)?, decode(value)?);
        if key.is_empty() || key.chars().count() > 128 {
            return Err(format!(
                "--blob-tags: the key {key:?} must be 1 to 128 characters long"
            ));
        }
        if value.chars().count() > 256 {
            return Err(format!(
                "--blob-tags: the value of {key:?} is {} characters long; at most 256",
                value.chars().count()
            ));
        }
        for (what, s) in [("key", &key), ("value", &value)] {
            if !tag_chars_ok(s) {
                return Err(format!(
                    "--blob-tags: the {what} {s:?} has a character tags cannot hold (letters, \
                     digits, space and + - . / : = _)"
                ));
            }
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(format!("--blob-tags: the key {key:?} is given twice"));
        }
        out.push((key, value));
    }
    if out.len() > MAX_TAGS {
        return Err(format!(
            "--blob-tags: {} tags given; a blob may have at most {MAX_TAGS}",
            out.len()
        ));
    }
    Ok(out)
}

/// Parses `--block-blob-tier`.
fn tier(text: &str) -> Result<Tier, String> {
    Tier::parse(text)
        .ok_or_else(|| format!("--block-blob-tier {text:?}: use Hot, Cool, Cold or Archive"))
}

/// Checks a header flag's value.
fn header(flag: &str, value: &str) -> Result<String, String> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "{flag}: the value contains {c:?}; headers are one line"
        )),
        None if value.trim().is_empty() => Err(format!("{flag}: the value is empty")),
        None => Ok(value.trim().to_string()),
    }
}

/// The built-in annotator configured by the upload flags, if any is given. They apply
/// when the destination is a container (uploads and blob → blob copies).
pub(super) fn annotator(
    args: &ContentArgs,
    direction: Direction,
) -> Result<Option<PluginSpec>, String> {
    let mut config: Vec<(String, String)> = Vec::new();
    let mut flags: Vec<&str> = Vec::new();
    for (flag, key, value) in [
        ("--content-type", "content-type", &args.content_type),
        ("--cache-control", "cache-control", &args.cache_control),
        (
            "--content-encoding",
            "content-encoding",
            &args.content_encoding,
        ),
        (
            "--content-disposition",
            "content-disposition",
            &args.content_disposition,
        ),
        (
            "--content-language",
            "content-language",
            &args.content_language,
        ),
    ] {
        if let Some(value) = value {
            config.push((key.into(), header(flag, value)?));
            flags.push(flag);
        }
    }
    if let Some(text) = &args.block_blob_tier {
        config.push(("block-blob-tier".into(), tier(text)?.name().to_string()));
        flags.push("--block-blob-tier");
    }
    if let Some(text) = &args.metadata {
        let pairs = metadata(text)?;
        if !pairs.is_empty() {
            let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            config.push(("metadata".into(), joined.join(";")));
        }
        flags.push("--metadata");
    }
    if let Some(text) = &args.blob_tags {
        if !tags(text)?.is_empty() {
            config.push(("blob-tags".into(), text.clone()));
        }
        flags.push("--blob-tags");
    }
    if let Some(preset) = &args.cache_control_preset {
        if !preset.eq_ignore_ascii_case("static-site") {
            return Err(format!(
                "--cache-control-preset {preset:?}: the only preset is static-site (HTML \
                 `no-cache`, fingerprinted assets cached for a year)"
            ));
        }
        config.push(("preset".into(), "static-site".into()));
        flags.push("--cache-control-preset");
    }
    if flags.is_empty() {
        return Ok(None);
    }
    if direction == Direction::Download {
        return Err(format!(
            "{} set what uploaded blobs carry; they do not apply when the destination is a \
             local folder",
            flags.join(", ")
        ));
    }
    // The host guesses Content-Type itself (with AZCOPY_CONTENT_TYPE_MAP and
    // --no-guess-mime-type), after what is configured and what a blob already has.
    config.push(("guess-mime-type".into(), "false".into()));
    Ok(Some(PluginSpec::builtin(
        PluginKind::Annotator,
        "annotator",
        config,
        "command-line flags",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keys_must_be_identifiers_and_values_ascii() {
        assert_eq!(
            metadata("Project=apollo; owner = x=y").unwrap(),
            [
                ("project".to_string(), "apollo".to_string()),
                ("owner".to_string(), " x=y".to_string())
            ]
        );
        for (bad, says) in [
            ("my-key=v", "\"my-key\" is not a valid metadata name"),
            ("1abc=v", "\"1abc\""),
            ("novalue", "key=value"),
            ("mtime=x", "blobsync's own key"),
            ("k=caf\u{e9}", "printable ASCII"),
            ("a=1;A=2", "given twice"),
        ] {
            let e = metadata(bad).unwrap_err();
            assert!(
                e.contains(says) && e.starts_with("--metadata"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn tags_follow_the_service_limits() {
        assert_eq!(
            tags("team=data&retention=7y&path=a%2Fb").unwrap(),
            [
                ("team".to_string(), "data".to_string()),
                ("retention".to_string(), "7y".to_string()),
                ("path".to_string(), "a/b".to_string())
            ]
        );
        let long = format!("k={}", "v".repeat(257));
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        for (bad, says) in [
            (long.as_str(), "at most 256"),
            (&eleven.join("&"), "at most 10"),
            ("v!1=x", "character tags cannot hold"),
            ("k%263=x", "character tags cannot hold"),
            ("=x", "1 to 128"),
            ("a=1&a=2", "given twice"),
        ] {
            let e = tags(bad).unwrap_err();
            assert!(
                e.contains(says) && e.starts_with("--blob-tags"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn tiers_and_headers_are_checked() {
        assert_eq!(tier("cool").unwrap(), Tier::Cool);
        assert!(
            tier("Premium")
                .unwrap_err()
                .contains("Hot, Cool, Cold or Archive")
        );
        assert!(header("--cache-control", "a\nb").is_err());
        assert!(
            header("--content-type", "  ")
                .unwrap_err()
                .contains("empty")
        );
        assert_eq!(header("--cache-control", " no-cache ").unwrap(), "no-cache");
    }
}
