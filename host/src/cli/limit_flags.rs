//! Safety and cut-off limits: `--max-changes N|P%`.

use crate::sync::ChangeLimit;

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
