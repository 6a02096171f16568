//! RFC 3339 timestamps with nanoseconds, without a clock or a date library (plugins run
//! without WASI, and every kilobyte of a component is loaded into every worker).

/// Parses an RFC 3339 timestamp (`2024-05-01T12:30:00.123456789Z`, any offset, 0–9
/// fractional digits) into nanoseconds since the Unix epoch.
pub fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    if let Some(ns) = parse_canonical(b) {
        return Some(ns);
    }
    // Digits are read straight from the bytes: the host parses one of these per blob a
    // comparator sees, so it is on a hot path.
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        let mut n = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return None;
        }
        // Keep nanosecond precision; extra digits are truncated.
        for (n, c) in digits.bytes().take(9).enumerate() {
            nanos += i64::from(c - b'0') * 10i64.pow(8 - n as u32);
        }
    }
    let offset_s = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            if rest.as_bytes()[3] != b':' {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The form blobsync writes, `YYYY-MM-DDTHH:MM:SS[.n…]Z` in UTC with up to nine fraction
/// digits, read with fixed offsets: the host parses one per blob a comparator sees.
/// Anything else goes to the general parser.
fn parse_canonical(b: &[u8]) -> Option<i64> {
    let (head, rest) = b.split_first_chunk::<19>()?;
    let fraction = match rest {
        [b'Z'] => &[][..],
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => digits,
        _ => return None,
    };
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let mut bad = 0u8;
    let mut d = |c: u8| -> i64 {
        let v = c.wrapping_sub(b'0');
        bad |= u8::from(v > 9);
        i64::from(v)
    };
    let year = d(head[0]) * 1000 + d(head[1]) * 100 + d(head[2]) * 10 + d(head[3]);
    let month = d(head[5]) * 10 + d(head[6]);
    let day = d(head[8]) * 10 + d(head[9]);
    let hour = d(head[11]) * 10 + d(head[12]);
    let minute = d(head[14]) * 10 + d(head[15]);
    let second = d(head[17]) * 10 + d(head[18]);
    let mut nanos = 0;
    for &c in fraction {
        nanos = nanos * 10 + d(c);
    }
    const SCALE: [i64; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    nanos *= SCALE[fraction.len()];
    let valid = bad == 0
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000_000 + nanos)
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 in UTC with trailing zeros of the
/// fraction removed, e.g. `2024-05-01T12:30:00.1234Z` (Go's `RFC3339Nano`, as rclone writes).
pub fn format_rfc3339_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days from 1970-01-01 to the first of each month, for a common and a leap year.
const MONTH_START: [[i64; 12]; 2] = [
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334],
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335],
];

/// Days since 1970-01-01; years 1970–2399 (every timestamp blobsync meets) need no
/// division by 400.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    if (1970..2400).contains(&y) && (1..=12).contains(&m) {
        let leap = usize::from(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
        let before = y - 1;
        let leaps = before / 4 - before / 100 + before / 400 - 477;
        return (y - 1970) * 365 + leaps + MONTH_START[leap][(m - 1) as usize] + d - 1;
    }
    days_from_civil_any(y, m, d)
}

// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
fn days_from_civil_any(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_with_nanoseconds() {
        assert_eq!(
            parse_rfc3339_ns("2024-05-01T12:30:00.123456789Z"),
            Some(1_714_566_600_123_456_789)
        );
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn the_canonical_form_agrees_with_the_general_parser() {
        for ns in [
            0i64,
            1,
            999_999_999,
            1_714_566_600_123_456_789,
            -1_000_000_001,
        ] {
            let text = format!("{}Z", {
                let secs = ns.div_euclid(1_000_000_000);
                let formatted = format_rfc3339_ns(secs * 1_000_000_000);
                format!(
                    "{}.{:09}",
                    formatted.trim_end_matches('Z'),
                    ns.rem_euclid(1_000_000_000)
                )
            });
            assert_eq!(parse_canonical(text.as_bytes()), Some(ns), "{text}");
        }
        assert_eq!(
            parse_canonical(b"2024-05-01T12:30:00Z"),
            parse_rfc3339_ns("2024-05-01T12:30:00+00:00")
        );
        assert_eq!(
            parse_canonical(b"2024-05-01T12:30:00.1234Z"),
            Some(1_714_566_600_123_400_000)
        );
        assert_eq!(parse_canonical(b"2024-13-01T12:30:00Z"), None);
        assert_eq!(parse_canonical(b"2024-05-01T12:30:0xZ"), None);
    }

    #[test]
    fn the_day_table_agrees_with_the_general_formula() {
        for y in [1970, 1971, 1972, 1999, 2000, 2024, 2100, 2399] {
            for m in 1..=12 {
                for d in [1, 15, 28] {
                    assert_eq!(
                        days_from_civil(y, m, d),
                        days_from_civil_any(y, m, d),
                        "{y}-{m}-{d}"
                    );
                }
            }
        }
    }

    #[test]
    fn applies_offsets() {
        assert_eq!(
            parse_rfc3339_ns("2024-05-01T14:30:00+02:00"),
            parse_rfc3339_ns("2024-05-01T12:30:00Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-05-01T12:30:00",
            "2024-05-01T12:30:00.Z",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        for ns in [
            0,
            1,
            1_714_566_600_123_456_789,
            1_714_566_600_500_000_000,
            -1_500_000_000,
        ] {
            let s = format_rfc3339_ns(ns);
            assert_eq!(parse_rfc3339_ns(&s), Some(ns), "{s}");
        }
        assert_eq!(
            format_rfc3339_ns(1_714_566_600_500_000_000),
            "2024-05-01T12:30:00.5Z"
        );
    }
}
