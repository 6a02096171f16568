//! RFC 3339 timestamps with nanoseconds, read and written by `jiff` (the date library the
//! host uses for every other point in time). Only its `std` feature: no clock and no time
//! zone database, which plugins could not use without WASI anyway.

use jiff::Timestamp;

/// Parses an RFC 3339 timestamp (`2024-05-01T12:30:00.123456789Z`, any offset, 0–9
/// fractional digits) into nanoseconds since the Unix epoch. The other ISO 8601
/// spellings of a timestamp that `jiff` reads (a space for the `T`, no seconds, an offset
/// without a colon) are accepted too; a time without an offset is not, nor one outside
/// what `i64` nanoseconds hold (1677–2262).
pub fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let at: Timestamp = s.parse().ok()?;
    i64::try_from(at.as_nanosecond()).ok()
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 in UTC with trailing zeros of the
/// fraction removed, e.g. `2024-05-01T12:30:00.1234Z` (Go's `RFC3339Nano`, as rclone writes).
pub fn format_rfc3339_ns(ns: i64) -> String {
    // Every `i64` of nanoseconds (1677–2262) is within jiff's range (years -9999–9999).
    Timestamp::from_nanosecond(i128::from(ns))
        .map(|at| at.to_string())
        .unwrap_or_default()
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
        assert_eq!(
            parse_rfc3339_ns("2024-05-01T12:30:00.1234Z"),
            Some(1_714_566_600_123_400_000)
        );
    }

    #[test]
    fn applies_offsets() {
        assert_eq!(
            parse_rfc3339_ns("2024-05-01T14:30:00+02:00"),
            parse_rfc3339_ns("2024-05-01T12:30:00Z")
        );
        assert_eq!(
            parse_rfc3339_ns("2024-05-01T12:30:00-00:30"),
            Some(1_714_568_400_000_000_000)
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-05-01T12:30:00",
            "2024-05-01T12:30:00.Z",
            "2300-01-01T00:00:00Z",
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
            i64::MIN,
            i64::MAX,
        ] {
            let s = format_rfc3339_ns(ns);
            assert_eq!(parse_rfc3339_ns(&s), Some(ns), "{s}");
        }
        assert_eq!(
            format_rfc3339_ns(1_714_566_600_500_000_000),
            "2024-05-01T12:30:00.5Z"
        );
        assert_eq!(format_rfc3339_ns(-1_500_000_000), "1969-12-31T23:59:58.5Z");
        assert_eq!(format_rfc3339_ns(0), "1970-01-01T00:00:00Z");
    }
}
