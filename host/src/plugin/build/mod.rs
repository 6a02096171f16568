//! `blobsync plugin build DIR`: build a plugin component from its source, in Rust, Python
//! or JavaScript, always against the WIT embedded in this blobsync (so a plugin matches
//! the host that builds it).
//!
//! The language is detected from the directory: a `Cargo.toml` (Rust, `rust.rs`), a
//! `pyproject.toml` with a `[tool.blobsync]` table (Python with componentize-py,
//! `python.rs`), or a `package.json` (JavaScript with componentize-js, `js.rs`).

mod js;
mod python;
mod rust;

pub(crate) use js::COMPONENTIZE_JS;
pub(crate) use python::COMPONENTIZE_PY;

use std::path::{Path, PathBuf};

use super::inspect::{self, ComponentInfo};
use super::spec::PluginKind;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The plugin's directory.
    pub dir: PathBuf,
    /// Where to write the component. Default: `<target-dir>/blobsync/<package>.wasm` for
    /// Rust, `DIR/dist/<name>.wasm` for Python and JavaScript.
    pub out: Option<PathBuf>,
    /// Cargo's target directory (Rust; default `DIR/target`).
    pub target_dir: Option<PathBuf>,
    /// Suppress the build tools' progress output.
    pub quiet: bool,
}

/// A built component.
#[derive(Debug, Clone)]
pub struct Built {
    /// Where it was written.
    pub path: PathBuf,
    /// What it is.
    pub info: ComponentInfo,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The directory is not a usable plugin project.
    #[error("{dir}: {reason}")]
    Crate {
        /// The project directory.
        dir: String,
        /// What is wrong.
        reason: String,
    },
    /// No wasm toolchain was found.
    #[error("no toolchain that can build wasm32-unknown-unknown was found.\n{0}")]
    NoToolchain(String),
    /// cargo failed.
    #[error("cargo build failed for {dir} (see the compiler output above)")]
    Cargo {
        /// The crate directory.
        dir: String,
    },
    /// A language toolchain (componentize-py, componentize-js) is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// The module could not be wrapped into a component.
    #[error("cannot make a component of {module}: {reason}")]
    Componentize {
        /// The core module.
        module: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

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

/// Writes the component and describes it.
fn write_component(out: &Path, component: &[u8]) -> Result<Built, BuildError> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| BuildError::Io {
            path: parent.display().to_string(),
            source: e,
        })?;
    }
    std::fs::write(out, component).map_err(|e| BuildError::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    let info = inspect::describe(component).map_err(|reason| BuildError::Componentize {
        module: out.display().to_string(),
        reason,
    })?;
    Ok(Built {
        path: out.to_path_buf(),
        info,
    })
}

/// blobsync's WIT, written to a scratch directory for the Python and JavaScript tools.
struct WitDir {
    dir: tempfile::TempDir,
}

impl WitDir {
    fn new() -> Result<WitDir, BuildError> {
        let io = |e: std::io::Error| BuildError::Io {
            path: "a temporary directory for the WIT".into(),
            source: e,
        };
        let dir = tempfile::Builder::new()
            .prefix("blobsync-wit-")
            .tempdir()
            .map_err(io)?;
        std::fs::write(dir.path().join("plugin.wit"), blobsync_plugin::WIT).map_err(io)?;
        Ok(WitDir { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The kind a project declares (`filter`, `comparator`, `annotator`, `hook`).
fn kind(dir: &Path, value: Option<&str>, file: &str, key: &str) -> Result<PluginKind, BuildError> {
    let bad = |reason: String| BuildError::Crate {
        dir: dir.display().to_string(),
        reason,
    };
    let value = value.ok_or_else(|| {
        bad(format!(
            "{file} does not say which kind of plugin this is: set {key} to filter, \
             comparator, annotator or hook"
        ))
    })?;
    PluginKind::ALL
        .into_iter()
        .find(|k| k.world() == value)
        .ok_or_else(|| {
            bad(format!(
                "{file}: {key} = {value:?} is not a plugin kind (filter, comparator, \
                 annotator or hook)"
            ))
        })
}

/// Finds a tool: an environment variable naming it, the project's own copy, or PATH.
fn find_tool(env: &str, local: &Path, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    if local.is_file() {
        return Some(local.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs a build tool, saying what failed.
fn run(cmd: &mut std::process::Command, quiet: bool, what: &str) -> Result<(), BuildError> {
    tracing::debug!("running {cmd:?}");
    let output = cmd.output().map_err(|e| {
        BuildError::Tool(format!("cannot run {what} ({:?}): {e}", cmd.get_program()))
    })?;
    if !quiet || !output.status.success() {
        use std::io::Write;
        let _ = std::io::stderr().write_all(&output.stdout);
        let _ = std::io::stderr().write_all(&output.stderr);
    }
    if output.status.success() {
        Ok(())
    } else {
        Err(BuildError::Tool(format!(
            "{what} failed (see its output above)"
        )))
    }
}
