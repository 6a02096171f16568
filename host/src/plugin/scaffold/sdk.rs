//! The Rust SDK (`blobsync-plugin`) as this blobsync was built with it, written out once
//! per version for projects made by `blobsync plugin new --lang rust` to depend on by
//! path. The SDK always matches the WIT this blobsync implements.

use std::path::{Path, PathBuf};

/// The SDK's files, by path inside the crate.
const FILES: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        include_str!("../../../../plugin-sdk/src/lib.rs"),
    ),
    (
        "src/config.rs",
        include_str!("../../../../plugin-sdk/src/config.rs"),
    ),
    (
        "src/entries.rs",
        include_str!("../../../../plugin-sdk/src/entries.rs"),
    ),
    (
        "src/time.rs",
        include_str!("../../../../plugin-sdk/src/time.rs"),
    ),
    (
        "src/time_rule.rs",
        include_str!("../../../../plugin-sdk/src/time_rule.rs"),
    ),
    (
        "src/filter.rs",
        include_str!("../../../../plugin-sdk/src/filter.rs"),
    ),
    (
        "src/comparator.rs",
        include_str!("../../../../plugin-sdk/src/comparator.rs"),
    ),
    (
        "src/annotator.rs",
        include_str!("../../../../plugin-sdk/src/annotator.rs"),
    ),
    (
        "src/hook.rs",
        include_str!("../../../../plugin-sdk/src/hook.rs"),
    ),
    (
        "src/resolver.rs",
        include_str!("../../../../plugin-sdk/src/resolver.rs"),
    ),
    (
        "src/content.rs",
        include_str!("../../../../plugin-sdk/src/content.rs"),
    ),
    (
        "src/http.rs",
        include_str!("../../../../plugin-sdk/src/http.rs"),
    ),
    (
        "wit/plugin.wit",
        include_str!("../../../../plugin-sdk/wit/plugin.wit"),
    ),
    (
        "wit-http/client.wit",
        include_str!("../../../../plugin-sdk/wit-http/client.wit"),
    ),
    (
        "wit-http/deps/io/io.wit",
        include_str!("../../../../plugin-sdk/wit-http/deps/io/io.wit"),
    ),
    (
        "wit-http/deps/clocks/clocks.wit",
        include_str!("../../../../plugin-sdk/wit-http/deps/clocks/clocks.wit"),
    ),
    (
        "wit-http/deps/http/http.wit",
        include_str!("../../../../plugin-sdk/wit-http/deps/http/http.wit"),
    ),
];

/// The SDK crate's manifest, standalone (the repository's inherits from its workspace).
const CARGO_TOML: &str = r#"[package]
name = "blobsync-plugin"
description = "The WIT contract and Rust guest SDK for blobsync plugins"
version = "0.2.1"
edition = "2024"
license = "MIT OR Apache-2.0"
publish = false

[dependencies]
jiff = { version = "0.2", default-features = false, features = ["std"] }
wit-bindgen = { version = "0.63", default-features = false, features = ["macros", "realloc", "std", "bitflags"] }
"#;

/// Writes the SDK under `data_dir` (once per content) and returns its directory.
pub(crate) fn materialise(data_dir: &Path) -> std::io::Result<PathBuf> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(CARGO_TOML);
    for (path, text) in FILES {
        hasher.update(path);
        hasher.update(text);
    }
    let digest = hex::encode(hasher.finalize());
    let dir = data_dir.join("sdk").join(format!(
        "blobsync-plugin-{}-{}",
        super::super::inspect::SUPPORTED_VERSIONS[0],
        &digest[..12]
    ));
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(data_dir.join("sdk"))?;
    let scratch = tempfile::Builder::new()
        .prefix(".sdk-")
        .tempdir_in(data_dir.join("sdk"))?;
    std::fs::write(scratch.path().join("Cargo.toml"), CARGO_TOML)?;
    for (path, text) in FILES {
        let file = scratch.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, text)?;
    }
    let staged = scratch.keep();
    match std::fs::rename(&staged, &dir) {
        Ok(()) => Ok(dir),
        // Another `plugin new` wrote it meanwhile.
        Err(_) if dir.join("Cargo.toml").is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
            Ok(dir)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `plugin new` writes out is the whole crate: every source file, and every
    /// dependency the repository's manifest names.
    #[test]
    fn the_written_sdk_has_every_source_file_and_dependency() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
        for entry in std::fs::read_dir(sdk.join("src")).unwrap() {
            let path = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                FILES.iter().any(|(p, _)| *p == path),
                "{path} is not in FILES"
            );
        }
        let dependencies = |text: &str| {
            let manifest: toml::Table = text.parse().unwrap();
            let table = manifest["dependencies"].as_table().unwrap();
            table.keys().cloned().collect::<Vec<_>>()
        };
        let repository = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap();
        assert_eq!(dependencies(CARGO_TOML), dependencies(&repository));
    }
}
