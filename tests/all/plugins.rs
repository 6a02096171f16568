//! Plugin failures, each with real misbehaving wasm: every one gives a clear error that
//! names the plugin, and nothing is copied by a run a fail-closed plugin stopped.

use std::path::Path;

use blobsync_tests::*;

fn fixture(name: &str) -> String {
    component_path(&format!("tests/fixtures/dist/{name}.wasm"))
        .display()
        .to_string()
}

fn misbehaving_filter(dir: &Path, mode: &str, extra: &str) -> String {
    manifest(
        dir,
        &format!(
            "[[filter]]\nname = \"bad\"\nsource = {:?}\nconfig = {{ mode = {mode:?} }}\n{extra}\n",
            fixture("misbehaving-filter")
        ),
    )
}

fn source_tree() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    for i in 0..20 {
        write(
            src.path(),
            &format!("dir{}/file{i}.txt", i % 3),
            format!("file {i}").as_bytes(),
        );
    }
    src
}

/// Runs a sync with the manifest and returns the result; checks nothing was uploaded
/// when `expect_nothing`.
fn run_with(manifest: &str, expect_code: i32) -> Run {
    run_in(manifest, expect_code, false)
}

/// [`run_with`], read from `--output-type json`.
fn run_json_with(manifest: &str, expect_code: i32) -> Outcome {
    Outcome::of(run_in(manifest, expect_code, true))
}

fn run_in(manifest: &str, expect_code: i32, json: bool) -> Run {
    let az = azurite();
    let container = unique_container("plugin");
    let src = source_tree();
    let started = std::time::Instant::now();
    let url = az.url(&container);
    let args: [&str; 5] = ["sync", s(src.path()), &url, "--plugins", manifest];
    let mut cmd = if json {
        blobsync_json_command(&args)
    } else {
        blobsync_command(&args)
    };
    let run: Run = cmd.output().expect("run blobsync").into();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "a misbehaving plugin must not hang the run"
    );
    assert_eq!(
        run.code, expect_code,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    if expect_code != 0 {
        assert!(
            !Blobs::new(az).container_exists(&container)
                || Blobs::new(az).names(&container).is_empty(),
            "a stopped run copied nothing"
        );
    }
    run
}

#[test]
fn a_trapping_filter_stops_the_run_and_says_it_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_json_with(&misbehaving_filter(dir.path(), "trap", ""), 1);
    assert!(
        run.mentions("plugin `bad` trapped"),
        "{}\n{}",
        run.dump(),
        run.stderr
    );
    assert!(
        run.mentions("misbehaving filter panics on purpose"),
        "the panic message is reported: {}\n{}",
        run.dump(),
        run.stderr
    );
    assert_eq!(run.status(), "Failed", "{}", run.dump());
}

#[test]
fn an_endless_loop_is_stopped_by_the_call_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(
        &misbehaving_filter(dir.path(), "loop", "limits = { call-timeout-ms = 300 }"),
        1,
    );
    assert!(
        run.stderr
            .contains("plugin `bad` ran longer than its 300 ms call timeout"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_memory_bomb_is_stopped_by_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(
        &misbehaving_filter(dir.path(), "memory", "limits = { memory-mb = 32 }"),
        1,
    );
    assert!(
        run.stderr
            .contains("plugin `bad` tried to use more than its memory limit of 32 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_wrong_number_of_results_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(&misbehaving_filter(dir.path(), "wrong-count", ""), 1);
    assert!(
        run.stderr.contains("plugin `bad` returned"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("must answer every entry"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_rejected_configuration_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(&misbehaving_filter(dir.path(), "reject", ""), 2);
    assert!(
        run.stderr
            .contains("plugin `bad` rejected its configuration"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rejected on purpose"), "{}", run.stderr);
}

#[test]
fn a_fail_open_filter_failure_is_counted_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let m = misbehaving_filter(dir.path(), "trap", "failure = \"fail-open\"");
    let run = run_json_with(&m, 0);
    assert_eq!(run.total("copied"), 20, "the failed batches are included");
    assert!(run.total("plugin_failures") > 0, "{}", run.dump());
}

#[test]
fn a_failing_comparator_stops_the_run() {
    let az = azurite();
    let container = unique_container("badcmp");
    let src = source_tree();
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[comparator]\nname = \"cmp\"\nsource = {:?}\nconfig = {{ mode = \"wrong-count\" }}\n",
            fixture("misbehaving-comparator")
        ),
    );
    let run = blobsync(&["sync", s(src.path()), &az.url(&container), "--plugins", &m]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plugin `cmp` returned 19 results for a batch of 20"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_trapping_hook_is_fail_open_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[hook]]\nname = \"noisy\"\nsource = {:?}\nconfig = {{ mode = \"trap\" }}\n",
            fixture("misbehaving-hook")
        ),
    );
    let az = azurite();
    let src = source_tree();
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&unique_container("plugin")),
        "--plugins",
        &m,
    ])
    .ok();
    assert_eq!(run.total("copied"), 20);
    assert!(run.total("plugin_failures") >= 1);
    // Named, with what it said, in the summary and in the job record.
    let by = &run.summary()["plugin_failures_by_plugin"];
    assert_eq!(by[0]["plugin"], "noisy", "{by}");
    assert_eq!(by[0]["count"].as_u64(), Some(run.total("plugin_failures")));
    assert!(
        by[0]["last_error"].as_str().unwrap().contains("noisy"),
        "{by}"
    );
    let job = run.events[0]["job"].as_str().unwrap().to_string();
    let show = blobsync(&["jobs", "show", &job, "--output-type", "json"]).ok();
    let shown = json_lines(&show.stdout);
    let item = shown[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["action"] == "plugin")
        .unwrap_or_else(|| panic!("no plugin item in:\n{}", show.stdout));
    assert_eq!(item["path"], "noisy");
    assert_eq!(item["status"], "Failed");
}

#[test]
fn a_hook_writes_only_to_the_output_the_manifest_grants() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("records/out.txt");
    let m = manifest(
        dir.path(),
        &format!(
            "[[hook]]\nname = \"writer\"\nsource = {:?}\noutput = \"records/out.txt\"\nconfig = {{ mode = \"write\" }}\n",
            fixture("misbehaving-hook")
        ),
    );
    run_with(&m, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().count(),
        21,
        "20 paths and the completion line:\n{text}"
    );
    assert!(text.ends_with("complete copied=20\n"), "{text}");
    // Without `output`, writes fail inside the plugin (which logs it) and nothing is written.
    let m = manifest(
        dir.path(),
        &format!(
            "[[hook]]\nname = \"writer\"\nsource = {:?}\nconfig = {{ mode = \"write\" }}\n",
            fixture("misbehaving-hook")
        ),
    );
    let az = azurite();
    let src = source_tree();
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&unique_container("noout")),
        "--plugins",
        &m,
        "--log-level",
        "error",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("has no output file"), "{}", run.stderr);
}

/// A manifest `sync` refuses with `needle` in the message: `plugin inspect` refuses it
/// too, with the same reason.
fn load_error(manifest_body: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), manifest_body);
    let run = run_with(&m, 2);
    assert!(
        run.stderr.contains(needle),
        "expected {needle:?} in:\n{}",
        run.stderr
    );
    let inspect = blobsync(&["plugin", "inspect", &m]);
    assert_eq!(
        inspect.code, 2,
        "inspect: {}\n{}",
        inspect.stdout, inspect.stderr
    );
    assert!(
        inspect.stderr.contains(needle) && inspect.stdout.contains("loadable:  no"),
        "inspect: expected {needle:?} in:\n{}\n{}",
        inspect.stdout,
        inspect.stderr
    );
}

#[test]
fn a_core_module_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    load_error(
        &format!(
            "[[filter]]\nname = \"core\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "core WebAssembly module, not a component",
    );
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, b"this is not webassembly").unwrap();
    load_error(
        &format!(
            "[[filter]]\nname = \"text\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "not a WebAssembly file",
    );
}

#[test]
fn a_digest_mismatch_refuses_to_load() {
    load_error(
        &format!(
            "[[filter]]\nname = \"pinned\"\nsource = {:?}\nsha256 = \"{}\"\n",
            fixture("misbehaving-filter"),
            "0".repeat(64)
        ),
        "sha256 mismatch",
    );
}

#[test]
fn an_incompatible_interface_version_names_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let wit = plugin_wit().replace(
        "package blobsync:plugin@0.2.1;",
        "package blobsync:plugin@1.0.0;",
    );
    let path = dir.path().join("future.wasm");
    std::fs::write(&path, component_for_wit(&wit, "filter")).unwrap();
    load_error(
        &format!(
            "[[filter]]\nname = \"future\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "plugin `future`",
    );
    load_error(
        &format!(
            "[[filter]]\nname = \"future\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "built against blobsync:plugin@1.0.0, but this blobsync implements blobsync:plugin@0.2.1 \
         (and still loads @0.1.0)",
    );
}

#[test]
fn a_plugin_importing_an_interface_outside_wasi_02_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let wit = plugin_wit().replace(
        "world filter {\n    import host;",
        "world filter {\n    import host;\n    import acme:spy/exfiltrate@1.0.0;",
    ) + "\npackage acme:spy@1.0.0 { interface exfiltrate { send: func(data: list<u8>); } }\n";
    let path = dir.path().join("spy.wasm");
    std::fs::write(&path, component_for_wit(&wit, "filter")).unwrap();
    load_error(
        &format!(
            "[[filter]]\nname = \"spy\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "cannot load plugin `spy`",
    );
    load_error(
        &format!(
            "[[filter]]\nname = \"spy\"\nsource = {:?}\n",
            path.display().to_string()
        ),
        "it imports `acme:spy/exfiltrate@1.0.0`, which is neither WASI 0.2 nor a blobsync \
         interface",
    );
    // inspect agrees with the loader.
    let run = blobsync(&["plugin", "inspect", s(&path)]);
    assert_eq!(run.code, 2, "not loadable: {}", run.stdout);
    assert!(
        run.stdout
            .contains("loadable:  no: it imports `acme:spy/exfiltrate@1.0.0`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("refused    acme:spy/exfiltrate@1.0.0"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_plugin_importing_wasi_02_loads_and_inspect_says_so() {
    // A filter importing WASI's environment: linked, with nothing granted.
    let dir = tempfile::tempdir().unwrap();
    let wit = plugin_wit().replace(
        "world filter {\n    import host;",
        "world filter {\n    import host;\n    import wasi:cli/environment@0.2.0;",
    ) + "\npackage wasi:cli@0.2.0 { interface environment { get-environment: func() -> list<tuple<string, string>>; } }\n";
    let path = dir.path().join("wasi.wasm");
    std::fs::write(&path, component_for_wit(&wit, "filter")).unwrap();
    let run = blobsync(&["plugin", "inspect", s(&path)]).ok();
    assert!(run.stdout.contains("loadable:  yes"), "{}", run.stdout);
    assert!(
        run.stdout.contains("WASI 0.2   wasi:cli/environment@0.2.0"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_plugin_of_the_wrong_kind_is_refused() {
    load_error(
        &format!(
            "[[filter]]\nname = \"hooky\"\nsource = {:?}\n",
            fixture("misbehaving-hook")
        ),
        "it is a hook plugin, but it is listed as a filter",
    );
}

#[test]
fn a_malformed_manifest_is_a_configuration_error_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "version = 1\n[[filter]]\nsource = \"x.wasm\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let run = blobsync(&[
        "sync",
        s(dir.path()),
        &azurite().url("anything"),
        "--plugins",
        s(&p),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("bad.toml")
            && run.stderr.contains("colour")
            && run.stderr.contains("line 4"),
        "{}",
        run.stderr
    );
    let run = blobsync(&[
        "sync",
        s(dir.path()),
        &azurite().url("anything"),
        "--plugins",
        "/no/such/manifest.toml",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/no/such/manifest.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_plugin_file_names_the_path() {
    load_error(
        "[[filter]]\nname = \"gone\"\nsource = \"gone.wasm\"\n",
        "gone.wasm",
    );
}

#[test]
fn inspect_shows_world_version_and_sha256() {
    let path = fixture("misbehaving-filter");
    let run = blobsync(&["plugin", "inspect", &path]).ok();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&path).unwrap()))
    };
    assert!(run.stdout.contains("world:     filter"), "{}", run.stdout);
    assert!(
        run.stdout.contains("interface: blobsync:plugin@0.2.1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&sha), "{}", run.stdout);
    assert!(run.stdout.contains("loadable:  yes"), "{}", run.stdout);
    let run = blobsync(&["plugin", "inspect", "/etc/hostname"]);
    assert_eq!(run.code, 2);
    // A manifest whose plugins all load: inspect says so, exit 0.
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!("[[filter]]\nname = \"ok\"\nsource = {path:?}\n"),
    );
    let run = blobsync(&["plugin", "inspect", &m]).ok();
    assert!(run.stdout.contains("loadable:  yes"), "{}", run.stdout);
}
