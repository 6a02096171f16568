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

use std::process::Command;

use super::project::{
    BuildError, BuildOptions, Built, WitDir, find_tool, kind, run, write_component,
};

/// The componentize-js version blobsync is tested with.
pub(crate) const COMPONENTIZE_JS: &str = "0.23.0";

pub(super) fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    let dir = std::path::absolute(&opts.dir).map_err(|e| BuildError::Io {
        path: opts.dir.display().to_string(),
        source: e,
    })?;
    let bad = |reason: String| BuildError::Crate {
        dir: dir.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(dir.join("package.json"))
        .map_err(|e| bad(format!("cannot read package.json: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("package.json is not valid JSON: {e}")))?;
    let blobsync = doc.get("blobsync").ok_or_else(|| {
        bad(
            "package.json has no \"blobsync\" key ({\"kind\": \"hook\", \"main\": \
             \"src/hook.js\"})"
                .into(),
        )
    })?;
    let kind = kind(
        &dir,
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
    let name = doc
        .get("name")
        .and_then(|n| n.as_str())
        .map(String::from)
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "plugin".into());
    let tool = find_tool(
        "BLOBSYNC_COMPONENTIZE_JS",
        &dir.join("node_modules/.bin/componentize-js"),
        "componentize-js",
    )
    .ok_or_else(|| {
        BuildError::Tool(format!(
            "componentize-js was not found. Install it for this project with\n  \
             npm install --prefix {} @bytecodealliance/componentize-js@{COMPONENTIZE_JS}\n\
             or put it on PATH (or set BLOBSYNC_COMPONENTIZE_JS)",
            dir.display()
        ))
    })?;
    let out = match &opts.out {
        Some(out) => std::path::absolute(out).unwrap_or_else(|_| out.clone()),
        None => dir
            .join("dist")
            .join(format!("{}.wasm", name.rsplit('/').next().unwrap_or(&name))),
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
        .arg(main)
        .arg("--wit")
        .arg(wit.path())
        .arg("--world-name")
        .arg(kind.world())
        .args(["-d", "http", "fetch-event"])
        .arg("--out")
        .arg(&out);
    run(&mut cmd, opts.quiet, "componentize-js")?;
    let component = std::fs::read(&out).map_err(|e| BuildError::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    write_component(&out, &component)
}
