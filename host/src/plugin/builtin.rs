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
