//! Which paths can be blob names: the service's limits, and the characters it rewrites
//! when names are stored unencoded (`--name-encoding none`).

use super::location::BlobLocation;

/// The longest blob name, in characters (UTF-16 code units).
const MAX_NAME: usize = 1024;
/// The most path segments in a blob name.
const MAX_SEGMENTS: usize = 254;

/// Why `path` cannot be stored below `location`, if it cannot.
pub(super) fn unstorable(location: &BlobLocation, path: &str) -> Option<String> {
    let name = location.blob_name(path);
    let units = name.encode_utf16().count();
    if units > MAX_NAME {
        return Some(format!(
            "not syncable: its blob name would be {units} characters long; Azure allows \
             {MAX_NAME}"
        ));
    }
    let segments = name.split('/').count();
    if segments > MAX_SEGMENTS {
        return Some(format!(
            "not syncable: its blob name would have {segments} path segments; Azure allows \
             {MAX_SEGMENTS}"
        ));
    }
    if location.encode_names {
        return None;
    }
    let rewritten = if path.contains('\\') {
        Some("a `\\`, which Azure turns into `/`")
    } else if path.chars().any(|c| c.is_ascii_control()) {
        Some("a control character, which Azure refuses")
    } else if path.split('/').any(|s| s.ends_with('.')) {
        Some("a name ending in `.`, which Azure drops")
    } else {
        None
    };
    rewritten.map(|what| {
        format!(
            "not syncable with --name-encoding none: it has {what}; without that flag the \
             name is stored encoded"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(encode_names: bool) -> BlobLocation {
        let mut l = BlobLocation::parse("https://acct.blob.core.windows.net/cont/pre").unwrap();
        l.encode_names = encode_names;
        l
    }

    #[test]
    fn names_over_the_limits_are_refused_with_the_limit() {
        let l = location(true);
        assert_eq!(unstorable(&l, "ok.txt"), None);
        // `pre/` takes 4 of the 1,024.
        assert_eq!(unstorable(&l, &"x".repeat(1020)), None);
        let long = unstorable(&l, &"x".repeat(1021)).unwrap();
        assert!(
            long.contains("1025 characters") && long.contains("1024"),
            "{long}"
        );
        // A supplementary character is two UTF-16 units.
        assert!(unstorable(&l, &"😀".repeat(511)).is_some());
        let deep = vec!["d"; 254].join("/");
        assert!(unstorable(&l, &deep).unwrap().contains("255 path segments"));
        assert_eq!(unstorable(&l, &vec!["d"; 253].join("/")), None);
    }

    #[test]
    fn rewritten_characters_are_refused_only_without_encoding() {
        for path in ["a\\b", "ctl\u{1}", "trail./x"] {
            assert_eq!(unstorable(&location(true), path), None, "{path:?}");
            let why = unstorable(&location(false), path).unwrap();
            assert!(why.contains("--name-encoding none"), "{why}");
        }
    }
}
