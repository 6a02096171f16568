//! File sizes as `--max-size` / `--min-size` take them, and as reasons show them.
//!
//! A number (decimals allowed) with an optional unit, letters in any case: none or `B` is
//! bytes; `K`, `M`, `G`, `T`, `P` and `KiB`…`PiB` (also `Ki`…`Pi`) are powers of 1024, as
//! in rclone; `KB`…`PB` are powers of 1000.

use crate::decimal;

/// What a size can look like, for error messages.
pub const SIZE_EXAMPLES: &str = "10M, 1.5GiB, 500KB or 4096 (bytes)";

/// Parses a size into bytes. The error says what is wrong with the text (not which key it
/// came from).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim_start());
    if number.is_empty() {
        return Err("not a number".into());
    }
    let multiplier = unit_bytes(unit).ok_or_else(|| {
        format!("unknown unit {unit:?} (use B, K, M, G, T, P, KiB…PiB for 1024s, KB…PB for 1000s)")
    })?;
    let bytes = decimal::scale(number, multiplier).ok_or_else(|| {
        if decimal::scale(number, 1).is_none() {
            format!("{number:?} is not a number")
        } else {
            "too large".to_string()
        }
    })?;
    u64::try_from(bytes).map_err(|_| "too large".to_string())
}

/// The bytes in one `unit`, `None` for an unknown unit.
fn unit_bytes(unit: &str) -> Option<u128> {
    let unit = unit.to_ascii_lowercase();
    let mut chars = unit.chars();
    let power = match chars.next() {
        None => return Some(1),
        Some('b') if unit.len() == 1 => return Some(1),
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        Some(_) => return None,
    };
    let base: u128 = match chars.as_str() {
        "" | "i" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    Some(base.pow(power))
}

/// A size for people: `512 B`, `12.0 MiB`, `1.5 GiB` (powers of 1024, one decimal).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut scale = 1024u64;
    while unit + 1 < UNITS.len() && bytes / scale >= 1024 {
        unit += 1;
        scale *= 1024;
    }
    // Integers, not `f64`: float formatting would add ~30 KB to the component.
    let tenths = (u128::from(bytes) * 10 + u128::from(scale) / 2) / u128::from(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_bytes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 12B "), Ok(12));
        assert_eq!(parse_size("12 b"), Ok(12));
    }

    #[test]
    fn single_letters_and_iec_units_are_powers_of_1024() {
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert_eq!(parse_size("1P"), Ok(1 << 50));
        assert_eq!(parse_size("500KiB"), Ok(500 << 10));
        assert_eq!(parse_size("3 MiB"), Ok(3 << 20));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("2Mi"), Ok(2 << 20));
    }

    #[test]
    fn two_letter_units_are_powers_of_1000() {
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let err = parse_size("ten").unwrap_err();
        assert_eq!(err, "not a number");
        let err = parse_size("10Q").unwrap_err();
        assert!(err.starts_with("unknown unit \"Q\""), "{err}");
        let err = parse_size("10 MiBs").unwrap_err();
        assert!(err.starts_with("unknown unit \"MiBs\""), "{err}");
        let err = parse_size("1.2.3M").unwrap_err();
        assert!(err.contains("\"1.2.3\" is not a number"), "{err}");
        assert_eq!(parse_size("-1M"), Err("not a number".into()));
        assert_eq!(parse_size("20000P"), Err("too large".into()));
        assert_eq!(parse_size(""), Err("not a number".into()));
    }

    #[test]
    fn sizes_are_shown_in_iec_units() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(12 << 20), "12.0 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(1024 + 51), "1.0 KiB");
        assert_eq!(format_size(1024 + 52), "1.1 KiB");
        assert_eq!(format_size((10 << 20) - 1), "10.0 MiB");
        assert_eq!(format_size(u64::MAX), "16.0 EiB");
    }
}
