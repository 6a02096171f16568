//! Ages, as rclone's `--max-age` and `--min-age` take them: a duration back from the
//! run's start, or a point in time.

use std::str::FromStr;

use super::moment::MOMENT_EXAMPLES;
use super::span::SPAN_EXAMPLES;
use super::{Moment, Span};

/// An age limit as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// This long before the run's start.
    Back(Span),
    /// This point in time.
    At(Moment),
}

impl FromStr for Age {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(at) = text.parse::<Moment>() {
            return Ok(Age::At(at));
        }
        // `2026-02-30` is a bad date, not a duration with an odd unit.
        if text.trim().as_bytes().get(4) == Some(&b'-') {
            return Err(format!(
                "{text:?} is not a valid date or date-time; e.g. {MOMENT_EXAMPLES}"
            ));
        }
        text.parse::<Span>().map(Age::Back).map_err(|_| {
            format!("{text:?} is not an age: give a duration ({SPAN_EXAMPLES}) or a date ({MOMENT_EXAMPLES})")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_a_point_in_time_or_a_duration() {
        assert!(matches!("2026-01-31".parse::<Age>(), Ok(Age::At(_))));
        assert_eq!(
            "7d".parse::<Age>().unwrap(),
            Age::Back("168h".parse().unwrap())
        );
        assert_eq!(
            "2026".parse::<Age>().unwrap(),
            Age::Back("2026s".parse().unwrap())
        );
        assert!(
            "2026-02-30"
                .parse::<Age>()
                .unwrap_err()
                .contains("not a valid date")
        );
        assert!("7 d".parse::<Age>().unwrap_err().contains("not an age"));
    }
}
