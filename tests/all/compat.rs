//! Plugins built against `blobsync:plugin@0.1.0` keep loading: the components committed
//! before 0.2 (`tests/fixtures/v0.1`) run in syncs against Azurite, misbehave as they did,
//! and are reported as they were.

use blobsync_tests::*;

fn v01(name: &str) -> String {
    component_path(&format!("tests/fixtures/v0.1/{name}.wasm"))
        .display()
        .to_string()
}

#[test]
fn the_committed_01_components_are_01() {
    for name in [
        "compliance-filter",
        "audit-hook",
        "misbehaving-filter",
        "misbehaving-comparator",
        "misbehaving-hook",
    ] {
        let run = blobsync(&["plugin", "inspect", &v01(name)]).ok();
        assert!(
            run.stdout.contains("interface: blobsync:plugin@0.1.0"),
            "{name}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("loadable:  yes"),
            "{name}: {}",
            run.stdout
        );
    }
}

#[test]
fn a_01_filter_comparator_and_hook_run_in_a_sync() {
    let az = azurite();
    let container = unique_container("compat");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "site/index.html", b"<p>public</p>");
    write(
        src.path(),
        "site/server.pem",
        b"-----BEGIN PRIVATE KEY-----",
    );
    write(src.path(), "site/readme.md", b"docs");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"compliance\"\nsource = {:?}\nconfig = {{ deny-extensions = \"pem\" }}\n\
             [comparator]\nname = \"everything\"\nsource = {:?}\nconfig = {{ mode = \"ok\" }}\n\
             [[hook]]\nname = \"audit\"\nsource = {:?}\noutput = \"audit.jsonl\"\n",
            v01("compliance-filter"),
            v01("misbehaving-comparator"),
            v01("audit-hook")
        ),
    );
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container), "--plugins", &m]).ok();
    assert_eq!(
        Blobs::new(az).names(&container),
        ["site/index.html", "site/readme.md"]
    );
    assert!(
        run.of_type("excluded")
            .any(|e| e["path"] == "site/server.pem"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("compliance: .pem files are never synced"))),
        "{}",
        run.dump()
    );
    // The 0.1 comparator sees the pairs of a second run (and transfers them all).
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container), "--plugins", &m]).ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("upload"), ["site/index.html", "site/readme.md"]);
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let records = json_lines(&audit);
    assert_eq!(
        records.iter().filter(|r| r["record"] == "event").count(),
        4,
        "{audit}"
    );
    assert_eq!(
        records.iter().filter(|r| r["record"] == "run").count(),
        2,
        "{audit}"
    );
}

#[test]
fn a_trapping_01_filter_is_reported_with_its_panic() {
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"a");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        &format!(
            "[[filter]]\nname = \"old\"\nsource = {:?}\nconfig = {{ mode = \"trap\" }}\n",
            v01("misbehaving-filter")
        ),
    );
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&unique_container("compat-trap")),
        "--plugins",
        &m,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("plugin `old` trapped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("misbehaving filter panics on purpose"),
        "{}",
        run.stderr
    );
}
