//! Sizes: `4096`, `10M` (powers of 1024), `10MB` (powers of 1000), `1.5GiB`.

use std::str::FromStr;

/// A number of bytes, as a flag or a setting gives it (see the [module](super) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// What a size looks like, for messages.
pub const SIZE_EXAMPLES: &str = "4096 (bytes), 500K, 10M, 1.5GiB or 10MB (10 000 000 bytes)";

impl ByteSize {
    /// The bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let unit = trimmed.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let unit = unit.trim_start();
        let is_unit = unit.chars().all(|c| c.is_ascii_alphabetic());
        let power = match unit.to_ascii_lowercase().chars().next() {
            _ if !is_unit => None,
            None | Some('b') => Some(0),
            Some('k') => Some(1),
            Some('m') => Some(2),
            Some('g') => Some(3),
            Some('t') => Some(4),
            Some('p') => Some(5),
            Some(_) => None,
        };
        let rest = unit.get(1..).unwrap_or("").to_ascii_lowercase();
        let base: u128 = match (power, rest.as_str()) {
            (Some(0), "") => 1,
            (Some(p), "" | "i" | "ib") if p > 0 => 1024,
            (Some(p), "b") if p > 0 => 1000,
            _ => {
                return Err(format!(
                    "{text:?} is not a size: unknown unit {unit:?} (K, M, G, T, P or KiB…PiB \
                     are powers of 1024, KB…PB powers of 1000); e.g. {SIZE_EXAMPLES}"
                ));
            }
        };
        let number = &trimmed[..trimmed.len() - unit.len()].trim_end();
        let per_unit = base.pow(power.unwrap_or(0));
        let bytes = super::decimal::scale(number, per_unit).ok_or_else(|| {
            if super::decimal::scale(number, 1).is_none() {
                format!("{text:?} is not a size: {number:?} is not a number; e.g. {SIZE_EXAMPLES}")
            } else {
                format!("{text:?} is too large a size")
            }
        })?;
        u64::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| format!("{text:?} is too large a size"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> u64 {
        text.parse::<ByteSize>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .0
    }

    #[test]
    fn a_bare_number_is_bytes() {
        assert_eq!(bytes("0"), 0);
        assert_eq!(bytes("4096"), 4096);
        assert_eq!(bytes(" 12B "), 12);
        assert_eq!(bytes("12 b"), 12);
    }

    #[test]
    fn single_letters_and_binary_units_are_powers_of_1024() {
        assert_eq!(bytes("1K"), 1024);
        assert_eq!(bytes("1k"), 1024);
        assert_eq!(bytes("10M"), 10 << 20);
        assert_eq!(bytes("1.5G"), 3 << 29);
        assert_eq!(bytes("2T"), 2 << 40);
        assert_eq!(bytes("1P"), 1 << 50);
        assert_eq!(bytes("500KiB"), 500 << 10);
        assert_eq!(bytes("3 MiB"), 3 << 20);
        assert_eq!(bytes("1gib"), 1 << 30);
        assert_eq!(bytes("2Mi"), 2 << 20);
    }

    #[test]
    fn units_ending_in_b_are_powers_of_1000() {
        assert_eq!(bytes("1KB"), 1000);
        assert_eq!(bytes("1kB"), 1000);
        assert_eq!(bytes("10MB"), 10_000_000);
        assert_eq!(bytes("1.5GB"), 1_500_000_000);
        assert_eq!(bytes("1TB"), 1_000_000_000_000);
    }

    #[test]
    fn anything_else_is_refused_with_an_example() {
        for bad in ["", "ten", "10Q", "10 MiBs", "1.2.3M", "-1M", "1e3", "M"] {
            let e = bad.parse::<ByteSize>().unwrap_err();
            assert!(e.contains("e.g."), "{bad:?}: {e}");
        }
        assert!(
            "20000P"
                .parse::<ByteSize>()
                .unwrap_err()
                .contains("too large")
        );
    }
}
