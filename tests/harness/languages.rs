//! Python and JavaScript plugins for tests: built from source with the toolchains
//! `scripts/setup.sh` installs in `.tools/` (componentize-py, componentize-js), once per
//! source content, and cached in the target directory so that later runs reuse both the
//! component and its compiled form.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest;

use crate::{blobsync_command, cache_dir, repo_root};

/// componentize-py from `.tools/venv`.
pub fn componentize_py() -> PathBuf {
    let p = repo_root().join(".tools/venv/bin/componentize-py");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

/// componentize-js from `.tools/js`.
pub fn componentize_js() -> PathBuf {
    let p = repo_root().join(".tools/js/node_modules/.bin/componentize-js");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

/// A `blobsync` command that finds the language toolchains.
pub fn blobsync_with_toolchains(args: &[&str]) -> std::process::Command {
    let mut cmd = blobsync_command(args);
    cmd.env("BLOBSYNC_COMPONENTIZE_PY", componentize_py())
        .env("BLOBSYNC_COMPONENTIZE_JS", componentize_js());
    cmd
}

fn digest_dir(hasher: &mut sha2::Sha256, dir: &Path) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if ["dist", "node_modules", "__pycache__", "target", ".venv"].contains(&name.as_str()) {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            digest_dir(hasher, &path);
        } else {
            hasher.update(name.as_bytes());
            hasher.update(std::fs::read(&path).unwrap());
        }
    }
}

/// Builds the plugin project in `dir` with `blobsync plugin build` (once per content)
/// and returns the component.
pub fn build_project(dir: &Path) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut hasher = sha2::Sha256::new();
    digest_dir(&mut hasher, dir);
    hasher.update(std::fs::read(repo_root().join("plugin-sdk/wit/plugin.wit")).unwrap());
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let out = cache_dir()
        .with_file_name("blobsync-built-plugins")
        .join(format!(
            "{name}-{}.wasm",
            &hex::encode(hasher.finalize())[..16]
        ));
    if !out.exists() {
        let tmp = out.with_extension("partial.wasm");
        let run: crate::Run = blobsync_with_toolchains(&[
            "plugin",
            "build",
            dir.to_str().unwrap(),
            "--out",
            tmp.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .expect("run blobsync plugin build")
        .into();
        assert_eq!(
            run.code, 0,
            "building {name} failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

/// An example plugin (`examples/plugins/NAME`) built from source.
pub fn example_component(name: &str) -> PathBuf {
    build_project(&repo_root().join("examples/plugins").join(name))
}
