//! Python plugins, built with componentize-py (PyPI).
//!
//! The project is a directory with a `pyproject.toml`:
//!
//! ```toml
//! [project]
//! name = "my-filter"
//!
//! [tool.blobsync]
//! kind = "filter"      # the WIT world: filter, comparator, annotator or hook
//! module = "app"       # the module holding the export class (default: app)
//! ```
//!
//! componentize-py is looked for in `BLOBSYNC_COMPONENTIZE_PY`, the project's `.venv`,
//! then PATH. It bundles CPython and the modules the app imports (the project directory
//! and, if present, `.venv`'s site-packages) into a component of ~18 MB.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::project::{
    BuildError, BuildOptions, Built, WitDir, find_tool, kind, run, write_component,
};

/// The componentize-py version blobsync is tested with.
pub(crate) const COMPONENTIZE_PY: &str = "0.25.1";

pub(super) fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    let dir = std::path::absolute(&opts.dir).map_err(|e| BuildError::Io {
        path: opts.dir.display().to_string(),
        source: e,
    })?;
    let bad = |reason: String| BuildError::Crate {
        dir: dir.display().to_string(),
        reason,
    };
    let file = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| bad(format!("cannot read pyproject.toml: {e}")))?;
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
    let kind = kind(
        &dir,
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
    let name = doc
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(String::from)
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "plugin".into());
    let tool = find_tool(
        "BLOBSYNC_COMPONENTIZE_PY",
        &dir.join(".venv/bin/componentize-py"),
        "componentize-py",
    )
    .ok_or_else(|| {
        BuildError::Tool(format!(
            "componentize-py was not found. Install it for this project with\n  \
             python3 -m venv {0}/.venv && {0}/.venv/bin/pip install componentize-py=={COMPONENTIZE_PY}\n\
             or put it on PATH (or set BLOBSYNC_COMPONENTIZE_PY)",
            dir.display()
        ))
    })?;
    let out = match &opts.out {
        Some(out) => std::path::absolute(out).unwrap_or_else(|_| out.clone()),
        None => dir.join("dist").join(format!("{name}.wasm")),
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| BuildError::Io {
            path: parent.display().to_string(),
            source: e,
        })?;
    }
    let wit = WitDir::new()?;
    let mut cmd = Command::new(&tool);
    cmd.current_dir(&dir)
        .arg("-d")
        .arg(wit.path())
        .arg("-w")
        .arg(kind.world())
        .arg("componentize")
        .arg(module)
        .arg("-p")
        .arg(&dir);
    for packages in site_packages(&dir.join(".venv")) {
        cmd.arg("-p").arg(packages);
    }
    cmd.arg("-o").arg(&out);
    run(&mut cmd, opts.quiet, "componentize-py")?;
    let component = std::fs::read(&out).map_err(|e| BuildError::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    write_component(&out, &component)
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
