//! What building a plugin project involves in every language: the options, the result,
//! the errors, the WIT written out for the language tools, and running those tools.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::plugin::inspect::{self, ComponentInfo};

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
    /// What the environment says about the build tools.
    pub environment: BuildEnvironment,
}

/// The variables a build reads, captured once by the command line: where tools are
/// looked for (`PATH`, `BLOBSYNC_COMPONENTIZE_PY`, `BLOBSYNC_COMPONENTIZE_JS`), which
/// Rust toolchain to use when both are installed (`BLOBSYNC_WASM_TOOLCHAIN`), and
/// cargo's home, remapped away in a Rust build (`CARGO_HOME`).
#[derive(Debug, Clone, Default)]
pub struct BuildEnvironment {
    vars: Vec<(&'static str, OsString)>,
}

impl BuildEnvironment {
    /// The variables a build reads.
    pub const VARIABLES: [&'static str; 5] = [
        "PATH",
        "CARGO_HOME",
        "BLOBSYNC_WASM_TOOLCHAIN",
        "BLOBSYNC_COMPONENTIZE_PY",
        "BLOBSYNC_COMPONENTIZE_JS",
    ];

    /// Reads [`Self::VARIABLES`] through `var`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<OsString>) -> BuildEnvironment {
        BuildEnvironment {
            vars: Self::VARIABLES
                .into_iter()
                .filter_map(|name| var(name).map(|value| (name, value)))
                .collect(),
        }
    }

    /// The value of `name`, one of [`Self::VARIABLES`], if it is set.
    pub(super) fn var(&self, name: &str) -> Option<&OsStr> {
        debug_assert!(Self::VARIABLES.contains(&name), "{name} is not captured");
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_os_str())
    }
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

/// The WIT worlds a project may target.
pub(super) const WORLDS: [&str; 6] = [
    "filter",
    "comparator",
    "annotator",
    "resolver",
    "hook",
    "two-way-hook",
];

/// The world a project declares it targets (its kind: `filter`, `comparator`,
/// `annotator`, `resolver`, `hook` or `two-way-hook`).
pub(super) fn world(
    dir: &Path,
    value: Option<&str>,
    file: &str,
    key: &str,
) -> Result<&'static str, BuildError> {
    let bad = |reason: String| BuildError::Crate {
        dir: dir.display().to_string(),
        reason,
    };
    let all = WORLDS.join(", ");
    let value = value.ok_or_else(|| {
        bad(format!(
            "{file} does not say which kind of plugin this is: set {key} to one of {all}"
        ))
    })?;
    WORLDS.into_iter().find(|w| *w == value).ok_or_else(|| {
        bad(format!(
            "{file}: {key} = {value:?} is not a plugin kind (one of {all})"
        ))
    })
}

/// Finds a tool: an environment variable naming it, the project's own copy, or PATH.
pub(super) fn find_tool(
    environment: &BuildEnvironment,
    var: &str,
    local: &Path,
    name: &str,
) -> Option<PathBuf> {
    if let Some(p) = environment.var(var) {
        return Some(PathBuf::from(p));
    }
    if local.is_file() {
        return Some(local.to_path_buf());
    }
    std::env::split_paths(environment.var("PATH")?)
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
