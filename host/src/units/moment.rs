//! Points in time: ISO 8601 as azcopy's `--include-after` reads it, parsed by `jiff`.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// A point in time, as a flag or a setting gives it (see the [module](super) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment(pub Timestamp);

/// What a point in time looks like, for messages.
pub const MOMENT_EXAMPLES: &str = "2026-01-31, 2026-01-31T15:04:00Z or 2026-01-31T15:04:00+01:00";

impl FromStr for Moment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        // With an offset (or `Z`) it is an instant; without one, a wall time in UTC.
        let parsed = t.parse::<Timestamp>().or_else(|_| {
            t.parse::<DateTime>()
                .ok()
                .and_then(|dt| Offset::UTC.to_timestamp(dt).ok())
                .ok_or(())
        });
        parsed
            .map(Moment)
            .map_err(|()| format!("{text:?} is not a date or date-time; e.g. {MOMENT_EXAMPLES}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    /// 2026-01-31T00:00:00Z.
    const JAN31: i64 = 1_769_817_600 * S;

    fn at(text: &str) -> i64 {
        text.parse::<Moment>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .0
            .as_nanosecond() as i64
    }

    #[test]
    fn every_iso_8601_form_azcopy_reads() {
        assert_eq!(at("2026-01-31"), JAN31);
        assert_eq!(at("2026-01-31T15"), JAN31 + 15 * 3600 * S);
        let t = JAN31 + (15 * 3600 + 4 * 60) * S;
        assert_eq!(at("2026-01-31T15:04"), t);
        assert_eq!(at("2026-01-31T15:04:00Z"), t);
        assert_eq!(at("2026-01-31T15:04:00"), t);
        assert_eq!(at("2026-01-31 15:04:00"), t);
        assert_eq!(at("2026-01-31T15:04Z"), t);
        assert_eq!(at("2026-01-31T16:04:00+01:00"), t);
        assert_eq!(at("2026-01-31T15:04-02:00"), t + 2 * 3600 * S);
        assert_eq!(at("2026-01-31T15:04:00.25"), t + S / 4);
        assert_eq!(at("2026-01-31T15:04:00.0000000Z"), t);
        assert_eq!(at(" 2026-01-31 "), JAN31);
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
            "2026-01-31X15:04",
        ] {
            let e = bad.parse::<Moment>().unwrap_err();
            assert!(e.contains("e.g."), "{bad:?}: {e}");
        }
        assert!("2024-02-29".parse::<Moment>().is_ok());
    }
}
