//! Points in time and ages as `--include-after`, `--include-before`, `--max-age` and
//! `--min-age` take them.
//!
//! A point in time is ISO 8601 as azcopy reads it: `2026-01-31` (midnight),
//! `2026-01-31T15`, `2026-01-31T15:04`, `2026-01-31T15:04:05` with an optional fraction of
//! a second, each optionally followed by `Z` or an offset such as `+01:00`. Without an
//! offset it is UTC (a plugin has no time zone; azcopy and rclone would use the local one).
//! A space may stand for the `T`, as rclone allows.
//!
//! An age is rclone's: a number with a unit — `ms`, `s`, `m`, `h`, `d`, `w`, `M` (30 days),
//! `y` (365 days), also `ns` and `us` — several of them summed (`1h30m`), decimals allowed
//! (`1.5d`); a number alone is seconds. Or a point in time, as above.

use blobsync_plugin::{format_rfc3339_ns, parse_rfc3339_ns};

use crate::decimal;

/// What a point in time can look like, for error messages.
pub const INSTANT_EXAMPLES: &str = "2026-01-31, 2026-01-31T15:04:00Z or 2026-01-31T15:04:00+01:00";
/// What an age can look like, for error messages.
pub const AGE_EXAMPLES: &str =
    "90s, 15m, 36h, 7d, 2w, 1M (30 days), 1y (365 days), or a date such as 2026-01-31";

const NS_PER_S: u128 = 1_000_000_000;
const NS_PER_DAY: u128 = 86_400 * NS_PER_S;

/// Parses a point in time into ns since the Unix epoch; `None` if it is not one.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = (text.get(..10)?, &text[10..]);
    let midnight = parse_rfc3339_ns(&format!("{date}T00:00:00Z"))?;
    // The general parser allows day 31 in every month; a real date formats back unchanged.
    if !format_rfc3339_ns(midnight).starts_with(date) {
        return None;
    }
    if rest.is_empty() {
        return Some(midnight);
    }
    let time_and_offset = rest.strip_prefix(['T', 't', ' '])?;
    let offset_at = time_and_offset
        .find(['Z', 'z', '+', '-'])
        .unwrap_or(time_and_offset.len());
    let (time, offset) = time_and_offset.split_at(offset_at);
    let time = match time.len() {
        2 => format!("{time}:00:00"),
        5 => format!("{time}:00"),
        _ => time.to_string(),
    };
    let offset = if offset.is_empty() { "Z" } else { offset };
    parse_rfc3339_ns(&format!("{date}T{time}{offset}"))
}

/// Parses a duration into ns. The error says what is wrong with the text.
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    if text.chars().all(is_number) {
        return scaled(text, NS_PER_S);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let unit_at = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let (number, after) = rest.split_at(unit_at);
        if number.is_empty() {
            return Err(format!("{rest:?} does not start with a number"));
        }
        let unit_len = after.find(is_number).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let ns_per_unit = unit_ns(unit).ok_or_else(|| {
            if unit.is_empty() {
                format!("{number} has no unit")
            } else {
                format!("unknown unit {unit:?}")
            }
        })?;
        total = total
            .checked_add(scaled(number, ns_per_unit)?)
            .ok_or("too long")?;
        rest = next;
    }
    Ok(total)
}

fn scaled(number: &str, unit: u128) -> Result<i64, String> {
    let ns = decimal::scale(number, unit).ok_or_else(|| {
        if decimal::scale(number, 1).is_none() {
            format!("{number:?} is not a number")
        } else {
            "too long".to_string()
        }
    })?;
    i64::try_from(ns).map_err(|_| "too long".to_string())
}

/// rclone's units (case matters: `m` is a minute, `M` a month of 30 days).
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

/// An age limit as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// This long before the run started, in ns.
    Before(i64),
    /// This point in time, in ns since the Unix epoch.
    At(i64),
}

/// Parses an age: a point in time, else a duration.
pub fn parse_age(text: &str) -> Result<Age, String> {
    if let Some(at) = parse_instant(text) {
        return Ok(Age::At(at));
    }
    // `2026-02-30` is a bad date, not a duration with an odd unit.
    if text.trim().as_bytes().get(4) == Some(&b'-') {
        return Err("not a valid date or date-time".into());
    }
    parse_duration_ns(text).map(Age::Before)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    /// 2026-01-31T00:00:00Z.
    const JAN31: i64 = 1_769_817_600 * S;

    #[test]
    fn every_iso_8601_form_azcopy_reads() {
        assert_eq!(format_rfc3339_ns(JAN31), "2026-01-31T00:00:00Z");
        assert_eq!(parse_instant("2026-01-31"), Some(JAN31));
        assert_eq!(parse_instant("2026-01-31T15"), Some(JAN31 + 15 * 3600 * S));
        let t = JAN31 + (15 * 3600 + 4 * 60) * S;
        assert_eq!(parse_instant("2026-01-31T15:04"), Some(t));
        assert_eq!(parse_instant("2026-01-31T15:04:00Z"), Some(t));
        assert_eq!(parse_instant("2026-01-31T15:04:00"), Some(t));
        assert_eq!(parse_instant("2026-01-31 15:04:00"), Some(t));
        assert_eq!(parse_instant("2026-01-31T15:04Z"), Some(t));
        assert_eq!(parse_instant("2026-01-31T16:04:00+01:00"), Some(t));
        assert_eq!(
            parse_instant("2026-01-31T15:04-02:00"),
            Some(t + 2 * 3600 * S)
        );
        assert_eq!(parse_instant("2026-01-31T15:04:00.25"), Some(t + S / 4));
        assert_eq!(parse_instant("2026-01-31T15:04:00.0000000Z"), Some(t));
        assert_eq!(parse_instant(" 2026-01-31 "), Some(JAN31));
    }

    #[test]
    fn malformed_or_impossible_points_in_time_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-1-31",
            "2026/01/31",
            "2026-02-30",
            "2026-13-01",
            "2026-01-31T",
            "2026-01-31T25:00",
            "2026-01-31T15:4",
            "2026-01-31T15:04:00+1",
            "2026-01-31X15:04",
            "20260131",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad:?}");
        }
        assert!(parse_instant("2024-02-29").is_some());
    }

    #[test]
    fn rclone_durations() {
        assert_eq!(parse_duration_ns("90"), Ok(90 * S));
        assert_eq!(parse_duration_ns("1.5"), Ok(3 * S / 2));
        assert_eq!(parse_duration_ns("500ms"), Ok(S / 2));
        assert_eq!(parse_duration_ns("90s"), Ok(90 * S));
        assert_eq!(parse_duration_ns("15m"), Ok(900 * S));
        assert_eq!(parse_duration_ns("36h"), Ok(36 * 3600 * S));
        assert_eq!(parse_duration_ns("7d"), Ok(7 * 86_400 * S));
        assert_eq!(parse_duration_ns("1.5d"), Ok(36 * 3600 * S));
        assert_eq!(parse_duration_ns("2w"), Ok(14 * 86_400 * S));
        assert_eq!(parse_duration_ns("1M"), Ok(30 * 86_400 * S));
        assert_eq!(parse_duration_ns("1y"), Ok(365 * 86_400 * S));
        assert_eq!(parse_duration_ns("1h30m"), Ok(5400 * S));
        assert_eq!(parse_duration_ns("0"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert_eq!(parse_duration_ns(""), Err("empty".into()));
        assert_eq!(parse_duration_ns("7D"), Err("unknown unit \"D\"".into()));
        assert_eq!(
            parse_duration_ns("7 days"),
            Err("unknown unit \" days\"".into())
        );
        assert_eq!(parse_duration_ns("1h30"), Err("30 has no unit".into()));
        assert_eq!(
            parse_duration_ns("-1d"),
            Err("\"-1d\" does not start with a number".into())
        );
        assert_eq!(
            parse_duration_ns("1..5d"),
            Err("\"1..5\" is not a number".into())
        );
        assert_eq!(parse_duration_ns("999999y"), Err("too long".into()));
    }

    #[test]
    fn an_age_is_a_point_in_time_or_a_duration() {
        assert_eq!(parse_age("2026-01-31"), Ok(Age::At(JAN31)));
        assert_eq!(parse_age("7d"), Ok(Age::Before(7 * 86_400 * S)));
        assert_eq!(parse_age("2026"), Ok(Age::Before(2026 * S)));
        assert_eq!(
            parse_age("2026-02-30"),
            Err("not a valid date or date-time".into())
        );
        assert_eq!(parse_age("7 d"), Err("unknown unit \" d\"".into()));
    }
}
