//! The order a listing comes in, and the comparison the merge uses.
//!
//! Keys are relative paths, with a trailing `/` for directories. Three collations are in
//! use: UTF-8 byte order (which is code-point order), UTF-16 code-unit order (Azure's
//! flat namespace, and Azurite), and path-component order (hierarchical-namespace
//! accounts: `a/x` before `a-b`, as if `/` sorted below every other character).
//! Endpoints that can emit in any order (the local walk, the in-memory endpoint) are
//! asked for the order of the endpoint they are merged with.

use std::cmp::Ordering;

/// How names are collated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
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

impl ListOrder {
    /// Compares two keys.
    pub fn cmp(self, a: &str, b: &str) -> Ordering {
        if self == ListOrder::Bytes {
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
        match self {
            ListOrder::Bytes => c as u64,
            ListOrder::Utf16 => utf16(),
            ListOrder::PathComponents if c == '/' => 0,
            ListOrder::PathComponents => utf16() + 1,
        }
    }

    /// True if `a` sorts strictly before `b`.
    pub fn less(self, a: &str, b: &str) -> bool {
        self.cmp(a, b) == Ordering::Less
    }

    /// A name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ListOrder::Bytes => "UTF-8 byte order",
            ListOrder::Utf16 => "UTF-16 code-unit order",
            ListOrder::PathComponents => "path-component order",
        }
    }
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
            sorted(ListOrder::Bytes, &names),
            ["a.txt", "a\u{e000}", "a！.txt", "a😀.txt", "b"]
        );
        assert_eq!(
            sorted(ListOrder::Utf16, &names),
            ["a.txt", "a😀.txt", "a\u{e000}", "a！.txt", "b"]
        );
    }

    #[test]
    fn path_components_put_a_folder_before_names_that_extend_it() {
        let names = ["A-B", "A/dat1", "A/", "A.c", "A", "A/dat1/x"];
        assert_eq!(
            sorted(ListOrder::Bytes, &names),
            ["A", "A-B", "A.c", "A/", "A/dat1", "A/dat1/x"]
        );
        assert_eq!(
            sorted(ListOrder::PathComponents, &names),
            ["A", "A/", "A/dat1", "A/dat1/x", "A-B", "A.c"]
        );
    }

    #[test]
    fn supplementary_characters_with_one_high_surrogate_compare_by_the_low_one() {
        // U+1F600 and U+1F601 share the high surrogate D83D.
        assert_eq!(ListOrder::Utf16.cmp("x😀", "x😁"), Ordering::Less);
        assert_eq!(ListOrder::Utf16.cmp("x😁", "x😀"), Ordering::Greater);
        assert_eq!(ListOrder::Utf16.cmp("same", "same"), Ordering::Equal);
        assert_eq!(ListOrder::Utf16.cmp("pre", "prefix"), Ordering::Less);
    }
}
