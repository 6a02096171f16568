//! Go's `path.Match` syntax (what azcopy uses for `--include-pattern`) translated to an
//! anchored regular expression, with Go's definition of a malformed pattern.

use std::fmt;

/// Why a pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// A `[` without its `]`.
    UnclosedClass,
    /// A `\` at the very end.
    TrailingEscape,
    /// `[]`, `[^]`, a range with a missing end, or a range whose ends are reversed.
    BadClass,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatternError::UnclosedClass => "`[` is never closed by `]`",
            PatternError::TrailingEscape => "ends with an unfinished `\\` escape",
            PatternError::BadClass => "has an empty or malformed `[...]` character class",
        })
    }
}

/// Translates a `path.Match` pattern into an anchored regex source.
///
/// `*` matches any run of characters other than `/`, `?` one such character, `[...]` a
/// class (`[^...]` negated, `a-z` ranges), and `\c` the character `c` itself.
pub fn translate(pattern: &str) -> Result<String, PatternError> {
    let mut out = String::with_capacity(pattern.len() * 2 + 2);
    out.push('^');
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push_str("[^/]*");
            }
            '?' => out.push_str("[^/]"),
            '\\' => {
                let lit = chars.next().ok_or(PatternError::TrailingEscape)?;
                push_literal(&mut out, lit);
            }
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                let mut ranges = 0;
                loop {
                    let lo = match chars.next() {
                        None => return Err(PatternError::UnclosedClass),
                        Some(']') if ranges > 0 => break,
                        Some(']') | Some('-') => return Err(PatternError::BadClass),
                        Some('\\') => chars.next().ok_or(PatternError::TrailingEscape)?,
                        Some(c) => c,
                    };
                    let mut hi = lo;
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        hi = match chars.next() {
                            None => return Err(PatternError::UnclosedClass),
                            Some(']') | Some('-') => return Err(PatternError::BadClass),
                            Some('\\') => chars.next().ok_or(PatternError::TrailingEscape)?,
                            Some(c) => c,
                        };
                        if hi < lo {
                            return Err(PatternError::BadClass);
                        }
                    }
                    push_class_char(&mut out, lo);
                    if hi != lo {
                        out.push('-');
                        push_class_char(&mut out, hi);
                    }
                    ranges += 1;
                }
                // A negated class must not match the separator either.
                out.push(']');
            }
            c => push_literal(&mut out, c),
        }
    }
    out.push('$');
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

fn push_class_char(out: &mut String, c: char) {
    if matches!(c, '\\' | ']' | '[' | '^' | '-' | '&' | '~') {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn matches(pattern: &str, name: &str) -> bool {
        Regex::new(&translate(pattern).unwrap())
            .unwrap()
            .is_match(name)
    }

    // Cases follow the behaviour documented for Go's path.Match.
    #[test]
    fn go_path_match_cases() {
        let cases = [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "-", true),
            ("*x", "xxx", true),
            ("a.b", "axb", false),
            ("file(1).txt", "file(1).txt", true),
            ("{a,b}", "{a,b}", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        for bad in [
            "[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "a\\", "[z-a]",
        ] {
            assert!(translate(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
