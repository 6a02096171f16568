//! The default plugins, built from `plugins/*` and committed as components in
//! `plugins/dist/`, ship inside the binary.

/// Names and bytes of the built-in components, addressed as `builtin:NAME`.
pub const BUILTINS: &[(&str, &[u8])] = &[
    (
        "glob-filter",
        include_bytes!("../../../plugins/dist/glob-filter.wasm"),
    ),
    (
        "mtime-compare",
        include_bytes!("../../../plugins/dist/mtime-compare.wasm"),
    ),
    (
        "md5-compare",
        include_bytes!("../../../plugins/dist/md5-compare.wasm"),
    ),
    (
        "annotator",
        include_bytes!("../../../plugins/dist/annotator.wasm"),
    ),
];

/// The component of a built-in plugin.
pub(crate) fn bytes(name: &str) -> Option<&'static [u8]> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The built-in plugins' names.
pub(crate) fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// What a built-in plugin's setting holds, for those in the one grammar of
/// [`crate::units`].
enum Unit {
    Size,
    Span,
    Moment,
    Age,
}

/// The settings of each built-in plugin that take a size, a duration or a time.
fn unit_of(plugin: &str, key: &str) -> Option<Unit> {
    match (plugin, key) {
        ("glob-filter", "max-size" | "min-size") => Some(Unit::Size),
        ("glob-filter", "include-after" | "include-before") => Some(Unit::Moment),
        ("glob-filter", "max-age" | "min-age") => Some(Unit::Age),
        ("mtime-compare" | "md5-compare", "modify-window") => Some(Unit::Span),
        _ => None,
    }
}

/// A built-in plugin's settings (from a manifest) with every size, duration and time
/// parsed by the host's grammar, the flags' own, and handed on as the numbers
/// [`Normal`](crate::units::Normal) makes of them, as the flags' values are: the built-in
/// plugins parse nothing but integers. Other settings pass unchanged. A bad value is an
/// error naming the setting.
pub(crate) fn normalise_config(
    plugin: &str,
    config: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, String> {
    use crate::units::{Age, ByteSize, Moment, Normal, Span};
    config
        .into_iter()
        .map(|(key, value)| {
            let normal = match unit_of(plugin, &key) {
                None => return Ok((key, value)),
                Some(Unit::Size) => value.parse::<ByteSize>().map(|v| v.normal()),
                Some(Unit::Span) => value.parse::<Span>().map(|v| v.normal()),
                Some(Unit::Moment) => value.parse::<Moment>().map(|v| v.normal()),
                Some(Unit::Age) => value.parse::<Age>().map(|v| v.normal()),
            };
            normal
                .map(|v| (key.clone(), v))
                .map_err(|e| format!("`{key}`: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sizes_durations_and_times_reach_the_built_ins_as_numbers() {
        let filter = normalise_config(
            "glob-filter",
            pairs(&[
                ("max-size", "10MB"),
                ("min-size", "1K"),
                ("max-age", "1w"),
                ("min-age", "2026-01-31"),
                ("include-after", "2026-01-31T16:04+01:00"),
                ("include-before", "1969-12-31T23:59:59Z"),
                ("include-pattern", "*.txt"),
            ]),
        )
        .unwrap();
        assert_eq!(
            filter,
            pairs(&[
                ("max-size", "10000000"),
                ("min-size", "1024"),
                ("max-age", "604800000000000"),
                ("min-age", "@1769817600000000000"),
                ("include-after", "1769871840000000000"),
                ("include-before", "-1000000000"),
                ("include-pattern", "*.txt"),
            ])
        );
        let compare = normalise_config("md5-compare", pairs(&[("modify-window", "1m30s")]));
        assert_eq!(compare.unwrap(), pairs(&[("modify-window", "90000000000")]));
        // Beyond what i64 nanoseconds hold, a point in time is clamped: no file is older
        // or newer.
        let far = normalise_config("glob-filter", pairs(&[("include-after", "3000-01-01")]));
        assert_eq!(
            far.unwrap(),
            pairs(&[("include-after", &i64::MAX.to_string())])
        );
        // A third-party plugin's settings are its own business.
        let other = pairs(&[("max-size", "lots")]);
        assert_eq!(normalise_config("annotator", other.clone()).unwrap(), other);
    }

    #[test]
    fn a_bad_value_names_the_setting() {
        let e = normalise_config("glob-filter", pairs(&[("max-size", "10XB")])).unwrap_err();
        assert!(e.starts_with("`max-size`: \"10XB\" is not a size"), "{e}");
    }
}
