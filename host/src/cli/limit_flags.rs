//! Safety and cut-off limits: `--max-changes N|P%`, `--max-transfer SIZE`,
//! `--max-duration DURATION`.

use crate::sync::ChangeLimit;

/// Parses a size: bytes, or a number with a suffix, K/M/G/T/P (powers of 1024, as rclone
/// reads them; `KiB`, `MB`… are accepted too).
pub(super) fn size(flag: &str, text: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(text.trim())
        .map_err(|e| format!("{flag} {text:?}: not a size such as 500M, 10G or 1.5T ({e})"))
}

/// Parses a duration such as `90m`, `2h30m`, `1d`.
pub(super) fn duration(flag: &str, text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "{flag} {text:?}: the duration must be more than zero"
        )),
        Err(e) => Err(format!(
            "{flag} {text:?}: not a duration such as 90m, 2h30m or 1d ({e})"
        )),
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
    fn sizes_and_durations_parse_with_the_flag_named_in_errors() {
        assert_eq!(size("--max-transfer", "10G").unwrap(), 10 << 30);
        assert_eq!(size("--max-transfer", "1.5 MiB").unwrap(), 3 << 19);
        assert_eq!(size("--max-transfer", "2048").unwrap(), 2048);
        assert!(
            size("--max-transfer", "lots")
                .unwrap_err()
                .starts_with("--max-transfer")
        );
        assert_eq!(
            duration("--max-duration", "2h30m").unwrap(),
            std::time::Duration::from_secs(9000)
        );
        assert!(duration("--max-duration", "0s").is_err());
        assert!(
            duration("--max-duration", "soon")
                .unwrap_err()
                .starts_with("--max-duration")
        );
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
