//! The order a listing comes in, and the comparison the merge uses.
//!
//! Keys are relative paths, with a trailing `/` for directories. Three collations are in
//! use: UTF-8 byte order (which is code-point order), UTF-16 code-unit order (Azure's
//! flat namespace, and Azurite), and path-component order (hierarchical-namespace
//! accounts: `a/x` before `a-b`, as if `/` sorted below every other character).
//! Endpoints that can emit in any order (the local walk, the in-memory endpoint) are
//! asked for the order of the endpoint they are merged with.

use std::borrow::Cow;
use std::cmp::Ordering;

/// How names are collated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    /// UTF-8 bytes, i.e. Unicode code points.
    #[default]
    Bytes,
    /// UTF-16 code units: supplementary-plane characters (emoji) sort before U+E000–U+FFFF
    /// (private use, fullwidth forms).
    Utf16,
    /// Path components compared one by one (in UTF-16 code units): `/` sorts below every
    /// other character.
    PathComponents,
}

/// The order a listing comes in: a collation of the names as the service stores them —
/// which, with `encoded`, are the paths in rclone's encoding for Azure (see [`encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListOrder {
    /// How stored names compare.
    pub collation: Collation,
    /// Paths are stored encoded ([`encode`]).
    pub encoded: bool,
}

/// The character that quotes an encoded-looking character (rclone's choice).
const QUOTE: char = '\u{201B}';
/// What a backslash is stored as (FULLWIDTH REVERSE SOLIDUS).
const BACKSLASH: char = '\u{FF3C}';
/// What a period that ends a path segment is stored as (FULLWIDTH FULL STOP).
const PERIOD: char = '\u{FF0E}';
/// FULLWIDTH SOLIDUS: what rclone stores a `/` inside a name as; quoted when literal.
const SOLIDUS: char = '\u{FF0F}';
/// SYMBOL FOR NULL: control character `c` is stored as `NUL_SYMBOL + c`.
const NUL_SYMBOL: u32 = 0x2400;
/// SYMBOL FOR DELETE.
const DEL_SYMBOL: char = '\u{2421}';

impl ListOrder {
    /// UTF-8 byte order.
    pub const BYTES: ListOrder = ListOrder::of(Collation::Bytes);
    /// UTF-16 code-unit order (Azure's flat namespace).
    pub const UTF16: ListOrder = ListOrder::of(Collation::Utf16);
    /// Path-component order (hierarchical namespaces).
    pub const PATH_COMPONENTS: ListOrder = ListOrder::of(Collation::PathComponents);

    /// `collation`, names stored as they are.
    pub const fn of(collation: Collation) -> ListOrder {
        ListOrder {
            collation,
            encoded: false,
        }
    }

    /// The same order for names stored encoded.
    pub const fn encoded(self) -> ListOrder {
        ListOrder {
            encoded: true,
            ..self
        }
    }

    /// Compares two keys (paths as the sync sees them): by their stored forms.
    pub fn cmp(self, a: &str, b: &str) -> Ordering {
        if self.encoded {
            self.cmp_stored(&encode(a), &encode(b))
        } else {
            self.cmp_stored(a, b)
        }
    }

    /// Compares two names as the service stores them.
    fn cmp_stored(self, a: &str, b: &str) -> Ordering {
        if self.collation == Collation::Bytes {
            return a.cmp(b);
        }
        // Everything before the first differing byte is shared, so only the characters
        // that start there decide (or the shorter string comes first).
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let mut start = at;
        while !a.is_char_boundary(start) {
            start -= 1;
        }
        match (a[start..].chars().next(), b[start..].chars().next()) {
            (Some(x), Some(y)) => self.key(x).cmp(&self.key(y)),
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
        }
    }

    /// A character's weight: its UTF-16 code units, and for path components `/` first.
    fn key(self, c: char) -> u64 {
        let utf16 = || {
            let mut units = [0u16; 2];
            match c.encode_utf16(&mut units) {
                [one] => (*one as u64) << 16,
                [high, low] => ((*high as u64) << 16) | *low as u64,
                _ => 0,
            }
        };
        match self.collation {
            Collation::Bytes => c as u64,
            Collation::Utf16 => utf16(),
            Collation::PathComponents if c == '/' => 0,
            Collation::PathComponents => utf16() + 1,
        }
    }

    /// A key whose bytes compare as [`ListOrder::cmp`] compares paths, for storing
    /// paths where only byte order is available (an index of the bisync state).
    pub fn sort_key(self, path: &str) -> Vec<u8> {
        let stored = if self.encoded {
            encode(path)
        } else {
            Cow::Borrowed(path)
        };
        match self.collation {
            Collation::Bytes => stored.as_bytes().to_vec(),
            Collation::Utf16 => stored.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            // `/` below every code unit: each unit is shifted up by one, in three bytes.
            Collation::PathComponents => stored
                .chars()
                .flat_map(|c| {
                    let mut units = [0u16; 2];
                    let units: Vec<u32> = match c {
                        '/' => vec![0],
                        _ => c
                            .encode_utf16(&mut units)
                            .iter()
                            .map(|u| *u as u32 + 1)
                            .collect(),
                    };
                    units
                })
                .flat_map(|unit| unit.to_be_bytes()[1..].to_vec())
                .collect(),
        }
    }

    /// True if `a` sorts strictly before `b`.
    pub fn less(self, a: &str, b: &str) -> bool {
        self.cmp(a, b) == Ordering::Less
    }

    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self.collation {
            Collation::Bytes => "UTF-8 byte order",
            Collation::Utf16 => "UTF-16 code-unit order",
            Collation::PathComponents => "path-component order",
        }
    }
}

/// True for the characters [`encode`] writes in place of others, which are quoted with
/// `‛` when they occur literally. (A stored `．` only stands for `.` at the end of a
/// segment, so it is quoted only there.)
fn is_replacement(c: char) -> bool {
    matches!(c, QUOTE | BACKSLASH | SOLIDUS | DEL_SYMBOL)
        || (NUL_SYMBOL..=NUL_SYMBOL + 0x1F).contains(&(c as u32))
}

/// A path as the service stores it, in rclone's encoding for Azure Blob Storage (its
/// default `Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8`), so that names written by
/// either tool read back the same: `\` as `＼`, a `.` that ends a segment as `．`, control
/// characters as `␀`–`␟`, DEL as `␡`; a literal replacement character is quoted with `‛`.
/// The service would rewrite or refuse the originals (`\` becomes `/`, a trailing `.` is
/// dropped, control characters are rejected).
pub(crate) fn encode(path: &str) -> Cow<'_, str> {
    let needs = path.char_indices().any(|(i, c)| {
        (c as u32) < 0x20
            || c == '\x7f'
            || c == '\\'
            || is_replacement(c)
            || ((c == '.' || c == PERIOD)
                && matches!(path.as_bytes().get(i + c.len_utf8()), None | Some(b'/')))
    });
    if !needs {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        let ends_segment = matches!(chars.peek(), None | Some('/'));
        match c {
            // A path's own escapes (`‛‛`, `‛XX`: see `raw_names`) are stored as they are.
            QUOTE => {
                out.push(QUOTE);
                if chars.peek() == Some(&QUOTE) {
                    chars.next();
                    out.push(QUOTE);
                }
            }
            '\\' => out.push(BACKSLASH),
            '\x7f' => out.push(DEL_SYMBOL),
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(NUL_SYMBOL + c as u32).unwrap_or(c));
            }
            '.' if ends_segment => out.push(PERIOD),
            PERIOD if ends_segment => {
                out.push(QUOTE);
                out.push(PERIOD);
            }
            c if is_replacement(c) => {
                out.push(QUOTE);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A stored name as a path: the inverse of [`encode`]. Names another tool wrote in a
/// form [`encode`] does not produce (a stray `‛`) read as what they say, so their path's
/// encoding differs from the stored name; `None` for an unquoted `／`, which no path
/// stands for.
pub(crate) fn decode(name: &str) -> Option<Cow<'_, str>> {
    if !name.chars().any(|c| is_replacement(c) || c == PERIOD) {
        return Some(Cow::Borrowed(name));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let ends_segment = matches!(chars.peek(), None | Some('/'));
        match c {
            QUOTE => match chars.peek().copied() {
                // `‛‛` and `‛XX` are the path's own escapes: kept.
                Some(QUOTE) => {
                    chars.next();
                    out.push_str("\u{201B}\u{201B}");
                }
                Some(h) if h.is_ascii_hexdigit() => out.push(QUOTE),
                Some(next) if is_replacement(next) => {
                    chars.next();
                    out.push(next);
                }
                Some(PERIOD) => {
                    chars.next();
                    if matches!(chars.peek(), None | Some('/')) {
                        out.push(PERIOD);
                    } else {
                        // A quoted `．` mid-segment: not what the encoding writes.
                        out.push_str("\u{201B}\u{201B}");
                        out.push(PERIOD);
                    }
                }
                // A stray quote stands for itself.
                _ => out.push_str("\u{201B}\u{201B}"),
            },
            BACKSLASH => out.push('\\'),
            DEL_SYMBOL => out.push('\x7f'),
            PERIOD if ends_segment => out.push('.'),
            SOLIDUS => return None,
            c if (NUL_SYMBOL..=NUL_SYMBOL + 0x1F).contains(&(c as u32)) => {
                out.push(char::from_u32(c as u32 - NUL_SYMBOL).unwrap_or(c));
            }
            c => out.push(c),
        }
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(order: ListOrder, names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| order.cmp(a, b));
        v
    }

    #[test]
    fn utf16_puts_supplementary_characters_before_fullwidth_forms() {
        let names = ["a！.txt", "a😀.txt", "a.txt", "b", "a\u{e000}"];
        assert_eq!(
            sorted(ListOrder::BYTES, &names),
            ["a.txt", "a\u{e000}", "a！.txt", "a😀.txt", "b"]
        );
        assert_eq!(
            sorted(ListOrder::UTF16, &names),
            ["a.txt", "a😀.txt", "a\u{e000}", "a！.txt", "b"]
        );
    }

    #[test]
    fn path_components_put_a_folder_before_names_that_extend_it() {
        let names = ["A-B", "A/dat1", "A/", "A.c", "A", "A/dat1/x"];
        assert_eq!(
            sorted(ListOrder::BYTES, &names),
            ["A", "A-B", "A.c", "A/", "A/dat1", "A/dat1/x"]
        );
        assert_eq!(
            sorted(ListOrder::PATH_COMPONENTS, &names),
            ["A", "A/", "A/dat1", "A/dat1/x", "A-B", "A.c"]
        );
    }

    #[test]
    fn names_the_service_rewrites_are_stored_encoded_as_rclone_stores_them() {
        let cases = [
            ("a\\b.txt", "a＼b.txt"),
            ("trail.", "trail．"),
            ("dir./x.", "dir．/x．"),
            ("mid.dle/", "mid.dle/"),
            ("ctl\u{1}x", "ctl␁x"),
            ("del\x7f", "del␡"),
            ("full＼wide", "full‛＼wide"),
            ("q‛‛uote", "q‛‛uote"),
            ("bad‛FF.txt", "bad‛FF.txt"),
            ("sym␁", "sym‛␁"),
            ("wide／", "wide‛／"),
            ("end．", "end‛．"),
            ("mid．dle", "mid．dle"),
            ("plain/name.txt", "plain/name.txt"),
        ];
        for (path, stored) in cases {
            assert_eq!(encode(path), stored, "{path:?}");
            assert_eq!(decode(stored).as_deref(), Some(path), "{stored:?}");
        }
        // What no path encodes to: another tool's names.
        assert_eq!(decode("a／b"), None);
        for (foreign, path) in [("stray‛x", "stray‛‛x"), ("end‛", "end‛‛")] {
            assert_eq!(decode(foreign).as_deref(), Some(path), "{foreign:?}");
            assert_ne!(
                encode(path),
                foreign,
                "{foreign:?} is not the canonical spelling"
            );
        }
    }

    #[test]
    fn encoded_names_sort_as_stored() {
        // Stored, `a＼b` (U+FF3C) sorts after `a~`; unencoded, `a\b` sorts before it.
        let order = ListOrder::UTF16.encoded();
        assert_eq!(order.cmp("a\\b", "a~"), Ordering::Greater);
        assert_eq!(ListOrder::UTF16.cmp("a\\b", "a~"), Ordering::Less);
        assert_eq!(order.cmp("a\\b", "a\\b"), Ordering::Equal);
        assert_eq!(order.cmp("a＼", "a\\"), Ordering::Less, "‛ sorts before ＼");
        // `x.` is stored `x．`, after `x.y`.
        assert_eq!(order.cmp("x.", "x.y"), Ordering::Greater);
        assert_eq!(ListOrder::UTF16.cmp("x.", "x.y"), Ordering::Less);
    }

    #[test]
    fn supplementary_characters_with_one_high_surrogate_compare_by_the_low_one() {
        // U+1F600 and U+1F601 share the high surrogate D83D.
        assert_eq!(ListOrder::UTF16.cmp("x😀", "x😁"), Ordering::Less);
        assert_eq!(ListOrder::UTF16.cmp("x😁", "x😀"), Ordering::Greater);
        assert_eq!(ListOrder::UTF16.cmp("same", "same"), Ordering::Equal);
        assert_eq!(ListOrder::UTF16.cmp("pre", "prefix"), Ordering::Less);
    }

    #[test]
    fn sort_keys_compare_as_the_order_does() {
        let names = [
            "a",
            "a/x",
            "a-b",
            "a.b",
            "ab",
            "a/b/c",
            "b",
            "\u{1F600}",
            "\u{FF01}",
            "\u{E000}x",
            "z/\u{1F600}",
            "z/\u{FF0E}",
            "x.",
            "x\\y",
            "x\u{201B}y",
            "é",
            "e\u{301}",
            "A",
            "",
        ];
        for order in [
            ListOrder::BYTES,
            ListOrder::UTF16,
            ListOrder::PATH_COMPONENTS,
            ListOrder::UTF16.encoded(),
            ListOrder::PATH_COMPONENTS.encoded(),
        ] {
            for a in names {
                for b in names {
                    assert_eq!(
                        order.sort_key(a).cmp(&order.sort_key(b)),
                        order.cmp(a, b),
                        "{order:?}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }
}
