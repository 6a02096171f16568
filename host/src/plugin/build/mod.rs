//! `blobsync plugin build DIR`: build a plugin component from its source, in Rust, Python
//! or JavaScript, always against the WIT embedded in this blobsync (so a plugin matches
//! the host that builds it).
//!
//! The language is detected from the directory: a `Cargo.toml` (Rust, `rust.rs`), a
//! `pyproject.toml` with a `[tool.blobsync]` table (Python with componentize-py,
//! `python.rs`), or a `package.json` (JavaScript with componentize-js, `js.rs`).
//! The Python and JavaScript builds share their steps after reading the project file
//! (`tool.rs`).

mod js;
mod project;
mod python;
mod rust;
mod tool;

use std::path::Path;

pub(crate) use js::COMPONENTIZE_JS;
pub use project::{BuildEnvironment, BuildError, BuildOptions, Built};
pub(crate) use python::COMPONENTIZE_PY;

/// The languages a plugin can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A cdylib crate using the `blobsync-plugin` SDK.
    Rust,
    /// A Python module built with componentize-py.
    Python,
    /// A JavaScript module built with componentize-js.
    JavaScript,
}

/// Which language the project in `dir` is written in.
pub fn detect(dir: &Path) -> Result<Language, BuildError> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    if dir.join("pyproject.toml").is_file() {
        return Ok(Language::Python);
    }
    if dir.join("package.json").is_file() {
        return Ok(Language::JavaScript);
    }
    Err(BuildError::Crate {
        dir: dir.display().to_string(),
        reason: "not a plugin project: expected a Cargo.toml (Rust), a pyproject.toml with \
                 [tool.blobsync] (Python) or a package.json with a \"blobsync\" key \
                 (JavaScript); `blobsync plugin new` makes one"
            .into(),
    })
}

/// Builds the plugin in `opts.dir` and writes its component.
pub fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    match detect(&opts.dir)? {
        Language::Rust => rust::build(opts),
        Language::Python => python::build(opts),
        Language::JavaScript => js::build(opts),
    }
}
