//! Durations: `90s`, `1h30m`, `1.5d`, `2w`, with rclone's units (`M` is 30 days).
//!
//! Hand-written rather than `humantime::parse_duration`: that crate reads `M` as 30.44
//! days and `y` as 365.25, and refuses decimals and bare numbers, all of which rclone's
//! users type.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A length of time, as a flag or a setting gives it (see the [module](super) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

/// What a duration looks like, for messages.
pub const SPAN_EXAMPLES: &str = "90s, 15m, 1h30m, 1.5d, 2w or 1M (30 days)";

const NS_PER_S: u128 = 1_000_000_000;
const NS_PER_DAY: u128 = 86_400 * NS_PER_S;

impl Span {
    /// The duration.
    pub fn duration(self) -> Duration {
        self.0
    }
}

/// rclone's units; case matters (`m` is a minute, `M` a month of 30 days).
fn unit_ns(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NS_PER_S,
        "m" => 60 * NS_PER_S,
        "h" => 3600 * NS_PER_S,
        "d" => NS_PER_DAY,
        "w" => 7 * NS_PER_DAY,
        "M" => 30 * NS_PER_DAY,
        "y" => 365 * NS_PER_DAY,
        _ => return None,
    })
}

/// The nanoseconds in `text`; the error says what is wrong, not which flag it was.
fn parse_ns(text: &str) -> Result<u128, String> {
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    if text.is_empty() {
        return Err("it is empty".into());
    }
    if text.chars().all(is_number) {
        return scaled(text, NS_PER_S);
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let unit_at = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let (number, after) = rest.split_at(unit_at);
        if number.is_empty() {
            return Err(format!("{rest:?} does not start with a number"));
        }
        let unit_len = after.find(is_number).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let per_unit = unit_ns(unit).ok_or_else(|| match unit {
            "" => format!("{number} has no unit"),
            _ => format!("unknown unit {unit:?}"),
        })?;
        total = total
            .checked_add(scaled(number, per_unit)?)
            .ok_or("it is too long")?;
        rest = next;
    }
    Ok(total)
}

fn scaled(number: &str, per_unit: u128) -> Result<u128, String> {
    super::decimal::scale(number, per_unit).ok_or_else(|| {
        if super::decimal::scale(number, 1).is_none() {
            format!("{number:?} is not a number")
        } else {
            "it is too long".to_string()
        }
    })
}

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let ns = parse_ns(text.trim())
            .map_err(|e| format!("{text:?} is not a duration ({e}); e.g. {SPAN_EXAMPLES}"))?;
        let ns = u64::try_from(ns).map_err(|_| format!("{text:?} is too long a duration"))?;
        Ok(Span(Duration::from_nanos(ns)))
    }
}

/// The shortest exact form in this grammar's units up to days: `7d`, `1h30m`, `1s500ms`,
/// `0s`. What messages show.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", NS_PER_DAY),
            ("h", 3600 * NS_PER_S),
            ("m", 60 * NS_PER_S),
            ("s", NS_PER_S),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ] {
            if ns >= size {
                write!(f, "{}{unit}", ns / size)?;
                ns %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn ns(text: &str) -> u64 {
        let span: Span = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        span.0.as_nanos() as u64
    }

    #[test]
    fn rclone_units_compound_and_decimal() {
        assert_eq!(ns("90"), 90 * S);
        assert_eq!(ns("1.5"), 3 * S / 2);
        assert_eq!(ns("500ms"), S / 2);
        assert_eq!(ns("90s"), 90 * S);
        assert_eq!(ns("15m"), 900 * S);
        assert_eq!(ns("36h"), 36 * 3600 * S);
        assert_eq!(ns("7d"), 7 * 86_400 * S);
        assert_eq!(ns("1.5d"), 36 * 3600 * S);
        assert_eq!(ns("2w"), 14 * 86_400 * S);
        assert_eq!(ns("1M"), 30 * 86_400 * S);
        assert_eq!(ns("1y"), 365 * 86_400 * S);
        assert_eq!(ns("1h30m"), 5400 * S);
        assert_eq!(ns("1m30s"), 90 * S);
        assert_eq!(ns(" 2h "), 7200 * S);
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("250us"), 250_000);
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (bad, why) in [
            ("", "empty"),
            ("7D", "unknown unit \"D\""),
            ("7 days", "unknown unit \" days\""),
            ("1h30", "30 has no unit"),
            ("-1d", "does not start with a number"),
            ("1..5d", "\"1..5\" is not a number"),
            ("999999y", "too long"),
        ] {
            let e = bad.parse::<Span>().unwrap_err();
            assert!(e.contains(why) && e.contains(bad), "{bad:?}: {e}");
        }
    }

    #[test]
    fn shown_in_the_shortest_exact_form_that_parses_back() {
        for (text, shown) in [
            ("1w", "7d"),
            ("90m", "1h30m"),
            ("1.5s", "1s500ms"),
            ("0", "0s"),
            ("1M", "30d"),
        ] {
            let span: Span = text.parse().unwrap();
            assert_eq!(span.to_string(), shown);
            assert_eq!(shown.parse::<Span>().unwrap(), span);
        }
    }
}
