//! Local names that are not valid UTF-8, carried in paths as rclone carries them.
//!
//! A sync path is a `String`; a Linux file name is any bytes but `/` and NUL. A byte that
//! is not part of valid UTF-8 travels as `‛` and its two hex digits (`bad\xff.txt` is
//! `bad‛FF.txt`), and a literal `‛` as `‛‛` — rclone's `InvalidUtf8` encoding and its
//! quote, so a blob written by either tool names the same file for both. Every path is
//! in this form: the local endpoint turns it back into bytes ([`to_os`]), and the blob
//! name encoding stores its escapes as they are.
//!
//! A path read from a blob name may spell a name another way (`‛41`, or `‛C3‛A9` for the
//! valid `é`); [`canonical`] gives the one spelling a local listing would produce.

use std::borrow::Cow;

/// rclone's quote character.
pub const QUOTE: char = '\u{201B}';

/// The path segment(s) for local name bytes: valid UTF-8 as it is, a literal `‛` as `‛‛`,
/// every other byte as `‛XX`.
pub fn from_os(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.contains(QUOTE) => return Cow::Borrowed(s),
        _ => {}
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == QUOTE {
                out.push(QUOTE);
            }
            out.push(c);
        }
        for b in chunk.invalid() {
            out.push(QUOTE);
            out.push_str(&format!("{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// The bytes a path stands for: `‛‛` is `‛`, `‛XX` (hex, either case) the byte XX, and a
/// `‛` followed by anything else stands for itself.
pub fn to_os(path: &str) -> Cow<'_, [u8]> {
    if !path.contains(QUOTE) {
        return Cow::Borrowed(path.as_bytes());
    }
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find(QUOTE) {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let after = &rest[at + QUOTE.len_utf8()..];
        if let Some(next) = after.strip_prefix(QUOTE) {
            out.extend_from_slice(QUOTE.to_string().as_bytes());
            rest = next;
        } else if let Some(byte) = hex_byte(after) {
            out.push(byte);
            rest = &after[2..];
        } else {
            out.extend_from_slice(QUOTE.to_string().as_bytes());
            rest = after;
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Cow::Owned(out)
}

fn hex_byte(s: &str) -> Option<u8> {
    let digits = s.get(..2)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(digits, 16).ok()
}

/// The spelling a local listing gives the name `path` stands for.
pub fn canonical(path: &str) -> Cow<'_, str> {
    if !path.contains(QUOTE) {
        return Cow::Borrowed(path);
    }
    let bytes = to_os(path);
    let again = from_os(&bytes);
    if again == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(again.into_owned())
    }
}

/// The plain text of a path whose names are all valid UTF-8 (`‛‛` back to `‛`); `None`
/// when a name is not valid UTF-8.
pub fn to_text(path: &str) -> Option<Cow<'_, str>> {
    match to_os(path) {
        Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
        Cow::Owned(b) => String::from_utf8(b).ok().map(Cow::Owned),
    }
}

/// A plain text name as a path (`‛` as `‛‛`).
pub fn from_text(text: &str) -> Cow<'_, str> {
    from_os(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_and_quotes_travel_as_rclone_writes_them() {
        assert_eq!(from_os(b"plain/name.txt"), "plain/name.txt");
        assert_eq!(from_os(b"bad\xff.txt"), "bad\u{201B}FF.txt");
        assert_eq!(from_os(b"a\xe2\x80x"), "a\u{201B}E2\u{201B}80x");
        assert_eq!(from_os("q\u{201B}uote".as_bytes()), "q\u{201B}\u{201B}uote");
        assert_eq!(
            from_os("\u{fffd}".as_bytes()),
            "\u{fffd}",
            "U+FFFD is valid"
        );
        for bytes in [
            &b"bad\xff.txt"[..],
            b"a\xe2\x80x",
            "q\u{201B}uote".as_bytes(),
            "\u{201B}FF".as_bytes(),
            b"\xc3",
            b"",
        ] {
            assert_eq!(&*to_os(&from_os(bytes)), bytes, "{bytes:?}");
        }
    }

    #[test]
    fn other_spellings_read_leniently_and_have_one_canonical_form() {
        assert_eq!(&*to_os("bad\u{201B}ff.txt"), b"bad\xff.txt", "lower case");
        assert_eq!(&*to_os("stray\u{201B}x"), "stray\u{201B}x".as_bytes());
        assert_eq!(&*to_os("end\u{201B}"), "end\u{201B}".as_bytes());
        assert_eq!(canonical("\u{201B}C3\u{201B}A9"), "é");
        assert_eq!(canonical("stray\u{201B}x"), "stray\u{201B}\u{201B}x");
        assert_eq!(canonical("bad\u{201B}ff"), "bad\u{201B}FF");
        let plain = canonical("bad\u{201B}FF");
        assert!(matches!(plain, Cow::Borrowed(_)));
    }

    #[test]
    fn text_names_convert_both_ways_and_raw_bytes_have_no_text() {
        assert_eq!(to_text("q\u{201B}\u{201B}uote").unwrap(), "q\u{201B}uote");
        assert_eq!(from_text("q\u{201B}uote"), "q\u{201B}\u{201B}uote");
        assert_eq!(to_text("bad\u{201B}FF.txt"), None);
    }
}
