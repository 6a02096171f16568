//! What the Python and JavaScript builds share. Each reads its own project file; then
//! both find their componentize tool, decide where the component goes, write out the WIT,
//! run the tool and describe what it made, in the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::project::{BuildError, BuildOptions, Built, WitDir, find_tool, run, write_component};

/// A language's componentize tool: where it is looked for, and what to say without it.
pub(super) struct Tool {
    /// Its command name, looked for on PATH and named in messages (`componentize-py`).
    pub(super) name: &'static str,
    /// The environment variable that may name it (`BLOBSYNC_COMPONENTIZE_PY`).
    pub(super) env: &'static str,
    /// The project's own copy, relative to the project directory.
    pub(super) local: &'static str,
    /// How to install it, for the project in a directory.
    pub(super) missing: fn(&Path) -> String,
}

/// The project directory, lexically absolute.
pub(super) fn project_dir(opts: &BuildOptions) -> Result<PathBuf, BuildError> {
    std::path::absolute(&opts.dir).map_err(|e| BuildError::Io {
        path: opts.dir.display().to_string(),
        source: e,
    })
}

/// The error for a project that cannot be built as it is.
pub(super) fn invalid(dir: &Path, reason: String) -> BuildError {
    BuildError::Crate {
        dir: dir.display().to_string(),
        reason,
    }
}

/// The text of the project file `file` (`pyproject.toml`, `package.json`).
pub(super) fn read_project_file(dir: &Path, file: &str) -> Result<String, BuildError> {
    std::fs::read_to_string(dir.join(file))
        .map_err(|e| invalid(dir, format!("cannot read {file}: {e}")))
}

/// The project's name: the one its project file declares, else its directory's.
pub(super) fn project_name(dir: &Path, declared: Option<&str>) -> String {
    declared
        .map(String::from)
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "plugin".into())
}

/// Builds the project in `dir` with `tool`: finds the tool, decides where the component
/// goes, writes out the WIT, runs the tool in `dir` with the arguments `args` adds (given
/// the WIT directory and the output path), and describes the component it wrote.
pub(super) fn build_with_tool(
    opts: &BuildOptions,
    dir: &Path,
    tool: &Tool,
    stem: &str,
    args: impl FnOnce(&mut Command, &Path, &Path),
) -> Result<Built, BuildError> {
    let program = find_tool(
        &opts.environment,
        tool.env,
        &dir.join(tool.local),
        tool.name,
    )
    .ok_or_else(|| BuildError::Tool((tool.missing)(dir)))?;
    let out = output_path(opts, dir, stem)?;
    let wit = WitDir::new()?;
    let mut cmd = Command::new(&program);
    cmd.current_dir(dir);
    args(&mut cmd, wit.path(), &out);
    run(&mut cmd, opts.quiet, tool.name)?;
    let component = std::fs::read(&out).map_err(|e| BuildError::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    write_component(&out, &component)
}

/// Where the component goes (`--out`, else `DIR/dist/STEM.wasm`), with its folder made.
fn output_path(opts: &BuildOptions, dir: &Path, stem: &str) -> Result<PathBuf, BuildError> {
    let out = match &opts.out {
        Some(out) => std::path::absolute(out).unwrap_or_else(|_| out.clone()),
        None => dir.join("dist").join(format!("{stem}.wasm")),
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| BuildError::Io {
            path: parent.display().to_string(),
            source: e,
        })?;
    }
    Ok(out)
}
