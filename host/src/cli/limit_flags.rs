//! Safety and cut-off limits: `--max-changes N|P%`, and durations that must be more than
//! zero (`--max-duration`, `--stats`). Sizes and durations themselves are parsed by clap
//! with the one grammar of [`crate::units`].

use std::time::Duration;

use crate::sync::ChangeLimit;
use crate::units::Span;

/// A duration that must be more than zero (`--max-duration`, `--stats`).
pub(super) fn positive(flag: &str, span: Option<Span>) -> Result<Option<Duration>, String> {
    match span {
        Some(s) if s.duration().is_zero() => {
            Err(format!("{flag} {s}: the duration must be more than zero"))
        }
        other => Ok(other.map(Span::duration)),
    }
}

/// Parses `--max-changes`: a count, or a percentage of the destination's files.
pub(super) fn max_changes(text: &str) -> Result<ChangeLimit, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "--max-changes {text:?}: give a number of entries (e.g. 100) or a percentage of \
             the destination's files from 0% to 100% (e.g. 10%)"
        )
    };
    match t.strip_suffix('%') {
        Some(p) => {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            Ok(ChangeLimit::Percent(p))
        }
        None => t.parse().map(ChangeLimit::Count).map_err(|_| bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_duration_is_refused_naming_the_flag() {
        let zero: Span = "0s".parse().unwrap();
        assert!(
            positive("--max-duration", Some(zero))
                .unwrap_err()
                .starts_with("--max-duration")
        );
        let hour: Span = "1h".parse().unwrap();
        assert_eq!(
            positive("--stats", Some(hour)).unwrap(),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(positive("--stats", None).unwrap(), None);
    }

    #[test]
    fn counts_and_percentages_parse_and_the_rest_is_refused() {
        assert_eq!(max_changes("100").unwrap(), ChangeLimit::Count(100));
        assert_eq!(max_changes(" 12.5% ").unwrap(), ChangeLimit::Percent(12.5));
        for bad in ["150%", "-1", "ten", "%", "-5%"] {
            assert!(
                max_changes(bad).unwrap_err().starts_with("--max-changes"),
                "{bad}"
            );
        }
    }
}
