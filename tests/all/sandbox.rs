//! WASI 0.2 is linked with nothing granted: a plugin that tries the environment, files, a
//! socket to Azurite or a name lookup gets an error inside the plugin, and the sync goes
//! on; a guest sleeping in the host is stopped at its call timeout.

use blobsync_tests::*;

fn probe() -> String {
    component_path("tests/fixtures/dist/wasi-probe.wasm")
        .display()
        .to_string()
}

#[test]
fn nothing_is_reachable_from_inside_the_sandbox() {
    let az = azurite();
    let container = unique_container("sandbox");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    let dir = tempfile::tempdir().unwrap();
    let port = az.port;
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"probe\"\nsource = {:?}\nconfig = {{ connect = \"127.0.0.1:{port}\", \
             lookup = \"localhost\", env = \"HOME;PATH\" }}\n",
            probe()
        ),
    );
    let run = blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        &m,
        "--log-level",
        "warn",
    ])
    .env("HOME", "/root")
    .env("PATH", "/usr/bin:/bin")
    .output()
    .unwrap();
    let run: Run = run.into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for needle in [
        "probe: env HOME: absent",
        "probe: env PATH: absent",
        "probe: env has 0 variables",
        "probe: files: 0 preopened directories",
        &format!("probe: connect 127.0.0.1:{port}: socket refused"),
        "access-denied",
        "probe: lookup localhost: refused",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stderr
        );
    }
    assert_eq!(
        Blobs::new(az).names(&container),
        ["a.txt"],
        "the sync went on"
    );
}

#[test]
fn listed_environment_variables_are_the_only_ones_visible() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"probe\"\nsource = {:?}\nenv = [\"PROBE_VISIBLE\"]\n\
             config = {{ env = \"PROBE_VISIBLE;PROBE_HIDDEN\" }}\n",
            probe()
        ),
    );
    let run: Run = blobsync_command(&["plugin", "try", &m, s(src.path()), "--log-level", "warn"])
        .env("PROBE_VISIBLE", "yes")
        .env("PROBE_HIDDEN", "no")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("probe: env PROBE_VISIBLE: present"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("probe: env PROBE_HIDDEN: absent"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("probe: env has 1 variables"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_guest_sleeping_in_the_host_is_stopped_at_its_call_timeout() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"sleepy\"\nsource = {:?}\nlimits = {{ call-timeout-ms = 300 }}\n\
             config = {{ sleep-ms = 20000 }}\n",
            probe()
        ),
    );
    let started = std::time::Instant::now();
    let run = blobsync(&["plugin", "try", &m, s(src.path())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plugin `sleepy` ran longer than its 300 ms call timeout"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the 20 s sleep was cut at the deadline, not slept through ({:?})",
        started.elapsed()
    );
}

#[test]
fn exit_ends_the_call_as_a_trap() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"quitter\"\nsource = {:?}\nconfig = {{ exit = true }}\n",
            probe()
        ),
    );
    let run = blobsync(&["plugin", "try", &m, s(src.path())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plugin `quitter` trapped: it called exit(1), which ends the call as a trap"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_plugin_that_prints_without_end_cannot_fill_the_disk() {
    let az = azurite();
    let container = unique_container("chatty");
    let src = tempfile::tempdir().unwrap();
    // A batch (a call) per folder.
    for i in 0..40 {
        write(src.path(), &format!("dir{i}/a.txt"), b"x");
    }
    let dir = tempfile::tempdir().unwrap();
    // 200 kB in every call: 8 MB in all.
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"chatty\"\nsource = {:?}\nconfig = {{ print-bytes = 200000 }}\n",
            probe()
        ),
    );
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container), "--plugins", &m]).ok();
    assert_eq!(run.total("copied"), 40);
    let job = run.events[0]["job"].as_str().unwrap().to_string();
    let log = data_dir().join("logs").join(format!("{job}.log"));
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 2 << 20, "the job log grew to {size} bytes");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("more than 64 KiB of output in one call"),
        "no note in the log"
    );
    assert!(
        text.contains("more than 1 MiB of output in this run"),
        "no note in the log"
    );
}
