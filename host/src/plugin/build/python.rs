//! Python plugins, built with componentize-py (PyPI).
//!
//! The project is a directory with a `pyproject.toml`:
//!
//! ```toml
//! [project]
//! name = "my-filter"
//!
//! [tool.blobsync]
//! kind = "filter"      # the WIT world: filter, comparator, annotator, resolver, hook, two-way-hook
//! module = "app"       # the module holding the export class (default: app)
//! ```
//!
//! componentize-py is looked for in `BLOBSYNC_COMPONENTIZE_PY`, the project's `.venv`,
//! then PATH. It bundles CPython and the modules the app imports (the project directory
//! and, if present, `.venv`'s site-packages) into a component of ~18 MB.

use std::path::{Path, PathBuf};

use super::project::{BuildError, BuildOptions, Built, world};
use super::tool::{Tool, build_with_tool, invalid, project_dir, project_name, read_project_file};

/// The componentize-py version blobsync is tested with.
pub(crate) const COMPONENTIZE_PY: &str = "0.25.1";

/// componentize-py, and how to install it for a project.
const TOOL: Tool = Tool {
    name: "componentize-py",
    env: "BLOBSYNC_COMPONENTIZE_PY",
    local: ".venv/bin/componentize-py",
    missing: |dir| {
        format!(
            "componentize-py was not found. Install it for this project with\n  \
             python3 -m venv {0}/.venv && {0}/.venv/bin/pip install componentize-py=={COMPONENTIZE_PY}\n\
             or put it on PATH (or set BLOBSYNC_COMPONENTIZE_PY)",
            dir.display()
        )
    },
};

/// What `pyproject.toml` says about the plugin.
struct PyProject {
    /// `[tool.blobsync] kind`.
    world: &'static str,
    /// `[tool.blobsync] module`: the module holding the export class.
    module: String,
    /// `[project] name`, else the directory's.
    name: String,
}

/// Builds the Python plugin in `opts.dir` and writes its component.
pub(super) fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    let dir = project_dir(opts)?;
    let project = read_pyproject(&dir)?;
    build_with_tool(opts, &dir, &TOOL, &project.name, |cmd, wit, out| {
        cmd.arg("-d")
            .arg(wit)
            .arg("-w")
            .arg(project.world)
            .arg("componentize")
            .arg(&project.module)
            .arg("-p")
            .arg(&dir);
        for packages in site_packages(&dir.join(".venv")) {
            cmd.arg("-p").arg(packages);
        }
        cmd.arg("-o").arg(out);
    })
}

/// Reads and checks `pyproject.toml`: the `[tool.blobsync]` table, its kind, and that its
/// module is in the project directory.
fn read_pyproject(dir: &Path) -> Result<PyProject, BuildError> {
    let bad = |reason: String| invalid(dir, reason);
    let text = read_project_file(dir, "pyproject.toml")?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| bad(format!("pyproject.toml is not valid TOML: {e}")))?;
    let table = doc
        .get("tool")
        .and_then(|t| t.get("blobsync"))
        .ok_or_else(|| {
            bad(
                "pyproject.toml has no [tool.blobsync] table (kind = \"filter\", module = \
                 \"app\")"
                    .into(),
            )
        })?;
    let world = world(
        dir,
        table.get("kind").and_then(|v| v.as_str()),
        "pyproject.toml",
        "[tool.blobsync] kind",
    )?;
    let module = table
        .get("module")
        .and_then(|v| v.as_str())
        .unwrap_or("app");
    if !dir.join(format!("{module}.py")).is_file() && !dir.join(module).is_dir() {
        return Err(bad(format!(
            "the module `{module}` ([tool.blobsync] module) is not in the project directory"
        )));
    }
    let declared = doc
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    Ok(PyProject {
        world,
        module: module.to_string(),
        name: project_name(dir, declared),
    })
}

/// A virtual environment's site-packages directories, for the app's dependencies.
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(venv.join("lib")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect()
}
