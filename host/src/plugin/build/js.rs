//! JavaScript plugins, built with componentize-js (npm), which bundles the StarlingMonkey
//! engine (~12 MB per component).
//!
//! The project is a directory with a `package.json`:
//!
//! ```json
//! { "name": "my-hook", "type": "module",
//!   "blobsync": { "kind": "hook", "main": "src/hook.js" },
//!   "devDependencies": { "@bytecodealliance/componentize-js": "0.23.0" } }
//! ```
//!
//! componentize-js is looked for in `BLOBSYNC_COMPONENTIZE_JS`, the project's
//! `node_modules`, then PATH. Components are built without `fetch` (a synchronous plugin
//! call gives StarlingMonkey no event loop turn, so a request could never complete);
//! `console` output reaches blobsync's log.

use std::path::Path;

use super::project::{BuildError, BuildOptions, Built, world};
use super::tool::{Tool, build_with_tool, invalid, project_dir, project_name, read_project_file};

/// The componentize-js version blobsync is tested with.
pub(crate) const COMPONENTIZE_JS: &str = "0.23.0";

/// componentize-js, and how to install it for a project.
const TOOL: Tool = Tool {
    name: "componentize-js",
    env: "BLOBSYNC_COMPONENTIZE_JS",
    local: "node_modules/.bin/componentize-js",
    missing: |dir| {
        format!(
            "componentize-js was not found. Install it for this project with\n  \
             npm install --prefix {} @bytecodealliance/componentize-js@{COMPONENTIZE_JS}\n\
             or put it on PATH (or set BLOBSYNC_COMPONENTIZE_JS)",
            dir.display()
        )
    },
};

/// What `package.json` says about the plugin.
struct Package {
    /// `"blobsync"."kind"`.
    world: &'static str,
    /// The entry module (`"blobsync"."main"`, else `"main"`).
    main: String,
    /// `"name"`, else the directory's.
    name: String,
}

/// Builds the JavaScript plugin in `opts.dir` and writes its component.
pub(super) fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    let dir = project_dir(opts)?;
    let package = read_package(&dir)?;
    // A scoped package (`@scope/name`) is written as `name.wasm`.
    let stem = package.name.rsplit('/').next().unwrap_or(&package.name);
    build_with_tool(opts, &dir, &TOOL, stem, |cmd, wit, out| {
        cmd.arg(&package.main)
            .arg("--wit")
            .arg(wit)
            .arg("--world-name")
            .arg(package.world)
            .args(["-d", "http", "fetch-event"])
            .arg("--out")
            .arg(out);
    })
}

/// Reads and checks `package.json`: the `"blobsync"` key, its kind, and that the entry
/// module exists.
fn read_package(dir: &Path) -> Result<Package, BuildError> {
    let bad = |reason: String| invalid(dir, reason);
    let text = read_project_file(dir, "package.json")?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("package.json is not valid JSON: {e}")))?;
    let blobsync = doc.get("blobsync").ok_or_else(|| {
        bad(
            "package.json has no \"blobsync\" key ({\"kind\": \"hook\", \"main\": \
             \"src/hook.js\"})"
                .into(),
        )
    })?;
    let world = world(
        dir,
        blobsync.get("kind").and_then(|v| v.as_str()),
        "package.json",
        "\"blobsync\".\"kind\"",
    )?;
    let main = blobsync
        .get("main")
        .or_else(|| doc.get("main"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("package.json names no entry module (\"blobsync\".\"main\")".into()))?;
    if !dir.join(main).is_file() {
        return Err(bad(format!("the entry module {main} does not exist")));
    }
    let declared = doc.get("name").and_then(|n| n.as_str());
    Ok(Package {
        world,
        main: main.to_string(),
        name: project_name(dir, declared),
    })
}
