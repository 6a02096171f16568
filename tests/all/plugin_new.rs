//! `blobsync plugin new` output builds and passes its own test, in each language.

use std::path::{Path, PathBuf};
use std::process::Command;

use blobsync_tests::*;

/// Runs `blobsync plugin new NAME --kind KIND --lang LANG` in a scratch folder.
fn new_project(parent: &Path, name: &str, kind: &str, lang: &str) -> PathBuf {
    let run = blobsync(&[
        "plugin",
        "new",
        name,
        "--kind",
        kind,
        "--lang",
        lang,
        "--into",
        s(parent),
    ])
    .ok();
    assert!(
        run.stdout
            .contains("blobsync plugin try plugins.toml testdata"),
        "{}",
        run.stdout
    );
    parent.join(name)
}

/// Runs a project's own test command, with `blobsync` on its PATH.
fn own_test(dir: &Path, program: &str, args: &[&str]) {
    let bin = blobsync_binary();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("BLOBSYNC", &bin)
        .env("BLOBSYNC_CACHE_DIR", cache_dir())
        .env("BLOBSYNC_DATA_DIR", data_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed in {}:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the project into its dist/ as its README says.
fn build_into_dist(dir: &Path, name: &str, target: Option<&Path>) {
    let out = dir.join("dist").join(format!("{name}.wasm"));
    let mut args = vec!["plugin", "build", s(dir), "--out", s(&out), "--quiet"];
    if let Some(t) = target {
        args.extend(["--target-dir", s(t)]);
    }
    let run: Run = blobsync_with_toolchains(&args).output().unwrap().into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn a_new_rust_filter_hook_and_resolver_build_and_pass_their_tests() {
    // The three projects in one git work tree, as plugins in a repository are: with one
    // target directory, the standard library and the SDK are built for them once.
    let parent = tempfile::tempdir().unwrap();
    let git = Command::new("git")
        .args(["init", "-q", s(parent.path())])
        .status()
        .expect("run git init");
    assert!(git.success());
    let target = cache_dir().with_file_name("plugin-new-target");
    let kinds = [
        ("my-filter", "filter"),
        ("my-hook", "hook"),
        ("my-resolver", "resolver"),
    ];
    for (name, kind) in kinds {
        let dir = new_project(parent.path(), name, kind, "rust");
        own_test(&dir, "cargo", &["test", "-q", "--target-dir", s(&target)]);
        build_into_dist(&dir, name, Some(&target));
        let manifest = dir.join("plugins.toml");
        let (data, path1, path2) = (
            dir.join("testdata"),
            dir.join("testdata/path1"),
            dir.join("testdata/path2"),
        );
        let mut args = vec!["plugin", "try", s(&manifest)];
        match kind {
            "resolver" => args.extend([s(&path1), "--against", s(&path2)]),
            _ => args.push(s(&data)),
        }
        let run = blobsync(&args).ok();
        match kind {
            "filter" => assert!(
                run.stdout.contains("excluded by my-filter: ends with .tmp"),
                "{}",
                run.stdout
            ),
            "resolver" => assert!(
                run.stdout.contains(
                    "conflict: path2's version keeps the name (my-resolver: path2 owns content/)"
                ),
                "{}",
                run.stdout
            ),
            _ => {
                let out = std::fs::read_to_string(dir.join("out/events.txt")).unwrap();
                assert!(out.lines().any(|l| l == "upload b.txt 3"), "{out}");
            }
        }
    }
}

#[test]
fn a_new_python_annotator_builds_and_passes_its_test() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_project(parent.path(), "py-annotator", "annotator", "python");
    let component = build_project(&dir);
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::copy(&component, dir.join("dist/py-annotator.wasm")).unwrap();
    own_test(&dir, "python3", &["-m", "unittest", "-v"]);
}

#[test]
fn a_new_javascript_filter_builds_and_passes_its_test() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_project(parent.path(), "js-filter", "filter", "js");
    let component = build_project(&dir);
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::copy(&component, dir.join("dist/js-filter.wasm")).unwrap();
    own_test(&dir, "node", &["--test"]);
}

#[test]
fn a_new_python_and_javascript_resolver_build_and_pass_their_tests() {
    let parent = tempfile::tempdir().unwrap();
    for (name, lang, test) in [
        (
            "py-resolver",
            "python",
            ["python3", "-m", "unittest", "-v"].as_slice(),
        ),
        ("js-resolver", "js", ["node", "--test"].as_slice()),
    ] {
        let dir = new_project(parent.path(), name, "resolver", lang);
        let component = build_project(&dir);
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        std::fs::copy(&component, dir.join(format!("dist/{name}.wasm"))).unwrap();
        own_test(&dir, test[0], &test[1..]);
    }
}
