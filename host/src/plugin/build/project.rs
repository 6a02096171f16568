//! What building a plugin project involves in every language: the options, the result,
//! the errors, the WIT written out for the language tools, and running those tools.

use std::path::{Path, PathBuf};

use crate::plugin::inspect::{self, ComponentInfo};
use crate::plugin::spec::PluginKind;

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

/// Writes the component and describes it.
pub(super) fn write_component(out: &Path, component: &[u8]) -> Result<Built, BuildError> {
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
pub(super) struct WitDir {
    dir: tempfile::TempDir,
}

impl WitDir {
    pub(super) fn new() -> Result<WitDir, BuildError> {
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

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The kind a project declares (`filter`, `comparator`, `annotator`, `hook`).
pub(super) fn kind(
    dir: &Path,
    value: Option<&str>,
    file: &str,
    key: &str,
) -> Result<PluginKind, BuildError> {
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
pub(super) fn find_tool(env: &str, local: &Path, name: &str) -> Option<PathBuf> {
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
pub(super) fn run(
    cmd: &mut std::process::Command,
    quiet: bool,
    what: &str,
) -> Result<(), BuildError> {
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
