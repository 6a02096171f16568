//! Annotators: what each file about to be uploaded would get (`blobsync plugin try`), and
//! what a real sync sets on the blobs, read back through the Blob API.

use std::collections::HashMap;
use std::path::Path;

use blobsync_tests::*;

/// `plugin try --json` as path → line.
fn try_json(manifest: &str, dir: &Path) -> HashMap<String, serde_json::Value> {
    let run = blobsync(&["plugin", "try", manifest, s(dir), "--json"]).ok();
    json_lines(&run.stdout)
        .into_iter()
        .map(|v| (v["path"].as_str().unwrap().to_string(), v))
        .collect()
}

fn site() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    for (p, data) in [
        ("index.html", b"<p>home</p>".as_slice()),
        ("assets/app.3f2a9c1b.js", b"js"),
        ("assets/logo.png", b"png"),
        ("db/dump.bak", b"backup"),
        ("finance/q1.xlsx", b"numbers"),
        ("finance/old.bak", b"old numbers"),
    ] {
        write(src.path(), p, data);
    }
    src
}

#[test]
fn the_retention_policy_example_tiers_tags_and_caches() {
    let src = site();
    let manifest = repo_root().join("examples/retention-policy.toml");
    let files = try_json(s(&manifest), src.path());
    let a = |p: &str| files[p]["annotation"].clone();
    assert_eq!(a("db/dump.bak")["access-tier"], "cool");
    assert_eq!(a("db/dump.bak")["tags"]["retention"], "7y");
    assert_eq!(
        a("finance/q1.xlsx")["tags"]["classification"],
        "confidential"
    );
    assert_eq!(
        a("finance/old.bak")["tags"]["classification"],
        "confidential"
    );
    assert_eq!(a("finance/old.bak")["tags"]["retention"], "7y");
    assert_eq!(a("index.html")["cache-control"], "no-cache");
    assert_eq!(
        a("assets/logo.png")["cache-control"],
        serde_json::Value::Null
    );
    assert_eq!(a("assets/logo.png")["access-tier"], serde_json::Value::Null);
}

#[test]
fn a_wasm_annotator_sets_tiers_tags_and_headers_on_uploaded_blobs() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("annotate");
    let src = site();
    let manifest = repo_root().join("examples/retention-policy.toml");
    let args = [
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        s(&manifest),
        "--cache-control",
        "max-age=60",
    ];
    blobsync(&args).ok();
    let tags = |name: &str| blobs.tags(&container, name);
    assert_eq!(blobs.tier(&container, "db/dump.bak"), "Cool");
    assert_eq!(tags("db/dump.bak"), [("retention".into(), "7y".into())]);
    assert_eq!(
        tags("finance/old.bak"),
        [
            ("classification".into(), "confidential".into()),
            ("retention".into(), "7y".into())
        ]
    );
    assert_eq!(
        tags("finance/q1.xlsx"),
        [("classification".into(), "confidential".into())]
    );
    let head = |name: &str| blobs.head(&container, name);
    // The manifest's annotator overrides the flag for HTML only.
    assert_eq!(head("index.html")["cache-control"], "no-cache");
    assert_eq!(head("assets/logo.png")["cache-control"], "max-age=60");
    assert_eq!(head("assets/logo.png")["content-type"], "image/png");
    assert!(tags("assets/logo.png").is_empty());
    assert_ne!(
        head("assets/logo.png")
            .get("x-ms-access-tier")
            .map(String::as_str),
        Some("Cool")
    );

    // Settled: the next run changes nothing.
    let again = blobsync_json(&args).ok();
    assert_eq!(again.total("copied"), 0, "{}", again.dump());
    assert_eq!(again.total("updated"), 0, "{}", again.dump());
}

#[test]
fn chained_annotators_override_the_builtin_field_by_field() {
    let src = site();
    let dir = tempfile::tempdir().unwrap();
    let retention = component_path("examples/plugins/dist/retention-policy.wasm");
    let m = dir.path().join("plugins.toml");
    std::fs::write(
        &m,
        format!(
            "version = 1\n\
             [[annotator]]\nsource = \"builtin:annotator\"\n\
             config = {{ preset = \"static-site\", cache-control = \"max-age=300\", \
             block-blob-tier = \"hot\", metadata = \"owner=web;team=blue\", blob-tags = \"project=site\", \
             \"rule.10-finance.pattern\" = \"finance/**\", \"rule.10-finance.metadata\" = \"team=finance\" }}\n\
             [[annotator]]\nname = \"retention\"\nsource = {:?}\n\
             config = {{ html-cache-control = \"no-store\" }}\n",
            retention.display().to_string()
        ),
    )
    .unwrap();
    let files = try_json(s(&m), src.path());
    let a = |p: &str| files[p]["annotation"].clone();
    // The built-in's guessed type and flags, the preset, then the retention policy.
    assert_eq!(a("index.html")["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        a("index.html")["cache-control"],
        "no-store",
        "the later annotator wins"
    );
    assert_eq!(
        a("assets/app.3f2a9c1b.js")["cache-control"],
        "max-age=31536000, immutable"
    );
    assert_eq!(a("assets/logo.png")["cache-control"], "max-age=300");
    assert_eq!(a("assets/logo.png")["content-type"], "image/png");
    assert_eq!(a("assets/logo.png")["access-tier"], "hot");
    assert_eq!(
        a("db/dump.bak")["access-tier"],
        "cool",
        "the later tier wins"
    );
    assert_eq!(
        a("db/dump.bak")["tags"]["project"],
        "site",
        "tags merge by key"
    );
    assert_eq!(a("db/dump.bak")["tags"]["retention"], "7y");
    assert_eq!(
        a("finance/q1.xlsx")["metadata"]["team"],
        "finance",
        "a rule overrides a flag"
    );
    assert_eq!(a("finance/q1.xlsx")["metadata"]["owner"], "web");
}

#[test]
fn an_annotation_azure_would_refuse_is_an_error_naming_the_plugin_and_file() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"a");
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("plugins.toml");
    std::fs::write(
        &m,
        "version = 1\n[[annotator]]\nname = \"meta\"\nsource = \"builtin:annotator\"\n\
         config = { \"rule.x.pattern\" = \"*\", \"rule.x.metadata\" = \"bad-key=1\" }\n",
    )
    .unwrap();
    let run = blobsync(&["plugin", "try", s(&m), s(src.path())]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("config `rule.x.metadata`: metadata key \"bad-key\" is not an identifier"),
        "{}",
        run.stderr
    );
}
