//! The two example plugins, used through their example manifests as a user would.

use blobsync_tests::*;

#[test]
fn the_compliance_filter_keeps_secrets_out_and_says_why() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("compliance");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "site/index.html", b"<p>public</p>");
    write(
        src.path(),
        "site/tls/server.PEM",
        b"-----BEGIN PRIVATE KEY-----",
    );
    write(src.path(), "site/app/secrets/token.txt", b"hunter2");
    write(src.path(), "site/.env", b"PASSWORD=hunter2");
    write(src.path(), "site/readme.md", b"docs");
    let manifest = repo_root().join("examples/compliance.toml");
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        s(&manifest),
        "--verbose",
    ])
    .ok();
    assert_eq!(
        blobs.names(&container),
        ["site/index.html", "site/readme.md"]
    );
    for needle in [
        "excluded by compliance (source): site/tls/server.PEM: compliance: .pem files are never synced",
        "excluded by compliance (source): site/app/secrets/: compliance: path matches denied glob **/secrets",
        "excluded by compliance (source): site/.env: compliance: path matches denied glob **/.env",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_example_manifests_pin_the_committed_components() {
    use sha2::Digest;
    for (manifest, component) in [
        (
            "examples/compliance.toml",
            "examples/plugins/dist/compliance-filter.wasm",
        ),
        (
            "examples/audit.toml",
            "examples/plugins/dist/audit-hook.wasm",
        ),
        (
            "examples/secret-scanner.toml",
            "examples/plugins/dist/secret-scanner.wasm",
        ),
        (
            "examples/webhook.toml",
            "examples/plugins/dist/webhook.wasm",
        ),
        (
            "examples/retention-policy.toml",
            "examples/plugins/dist/retention-policy.wasm",
        ),
    ] {
        let text = std::fs::read_to_string(repo_root().join(manifest)).unwrap();
        let sha = hex::encode(sha2::Sha256::digest(
            std::fs::read(component_path(component)).unwrap(),
        ));
        assert!(
            text.contains(&sha),
            "{manifest} must pin {component} ({sha}): run scripts/build-plugins.sh"
        );
    }
}

#[test]
fn the_audit_hook_records_every_transfer_and_the_run() {
    let az = azurite();
    let container = unique_container("audit");
    let src = tempfile::tempdir().unwrap();
    let files = [
        ("a.txt", b"alpha".as_slice()),
        ("dir/b.txt", b"bravo"),
        ("dir/c.bin", b"charlie"),
    ];
    for (p, data) in files {
        write(src.path(), p, data);
    }
    // The example manifest, placed where its relative paths resolve to a scratch output.
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("examples/audit.toml")).unwrap();
    let component = component_path("examples/plugins/dist/audit-hook.wasm");
    let text = text.replace(
        "\"plugins/dist/audit-hook.wasm\"",
        &format!("{:?}", component.display().to_string()),
    );
    let manifest = work.path().join("audit.toml");
    std::fs::write(&manifest, text).unwrap();

    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        s(&manifest),
    ])
    .ok();
    let log = std::fs::read_to_string(work.path().join("audit.jsonl"))
        .expect("the hook wrote its output");
    let records = json_lines(&log);
    assert_eq!(records.len(), 4, "{log}");
    for (p, data) in files {
        let r = records
            .iter()
            .find(|r| r["path"] == p)
            .unwrap_or_else(|| panic!("no record for {p}: {log}"));
        assert_eq!(r["record"], "event");
        assert_eq!(r["action"], "upload");
        assert!(
            r["direction"].is_null(),
            "a one-way run has no direction: {r}"
        );
        assert_eq!(r["outcome"], "success");
        assert_eq!(r["bytes"], data.len());
        assert_eq!(r["md5"], md5_hex(data));
        assert_eq!(r["label"], "example");
        assert_eq!(r["reason"], "not at the destination");
    }
    let run = records.last().unwrap();
    assert_eq!(run["record"], "run");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["copied"], 3);

    // A second run appends: nothing transferred, one more run record.
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        s(&manifest),
    ])
    .ok();
    let log = std::fs::read_to_string(work.path().join("audit.jsonl")).unwrap();
    let records = json_lines(&log);
    assert_eq!(records.len(), 5);
    assert_eq!(records.last().unwrap()["copied"], 0);
}
