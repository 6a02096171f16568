//! Decimal numbers as users type them in sizes and durations (`10`, `1.5`, `.5`), scaled
//! by a unit in integers: `1.5` KiB is exactly 1536 bytes and `0.1` s exactly 100 ms, with
//! no floating-point rounding.

/// Fraction digits beyond this are below a byte or a nanosecond for every unit used here,
/// and keep the arithmetic inside `u128`.
const MAX_FRACTION_DIGITS: usize = 18;

/// `number × unit`, truncated towards zero. `None` unless `number` is ASCII digits with at
/// most one `.` (at least one digit in all), or when the result does not fit.
pub(super) fn scale(number: &str, unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut value: u128 = 0;
    for b in whole.bytes() {
        value = value.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let value = value.checked_mul(unit)?;
    let (mut numerator, mut denominator) = (0u128, 1u128);
    for b in fraction.bytes().take(MAX_FRACTION_DIGITS) {
        numerator = numerator * 10 + u128::from(b - b'0');
        denominator *= 10;
    }
    value.checked_add(numerator.checked_mul(unit)? / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_fractional_numbers_scale_exactly() {
        assert_eq!(scale("10", 1024), Some(10_240));
        assert_eq!(scale("1.5", 1024), Some(1536));
        assert_eq!(scale(".5", 86_400), Some(43_200));
        assert_eq!(scale("2.", 7), Some(14));
        assert_eq!(scale("0.1", 1_000_000_000), Some(100_000_000));
        // Truncated, never rounded up: 0.1 KiB is 102.4 bytes.
        assert_eq!(scale("0.1", 1024), Some(102));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", ".", "1.2.3", "-1", "+1", "1e3", " 1", "1,5", "١"] {
            assert_eq!(scale(bad, 1), None, "{bad:?}");
        }
        assert_eq!(scale("1", u128::MAX), Some(u128::MAX));
        assert_eq!(scale("2", u128::MAX), None);
    }
}
