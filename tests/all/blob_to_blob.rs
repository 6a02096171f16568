//! Blob → blob syncs: server-side where the destination's service can read the source
//! (no content passes through blobsync), streamed through blobsync where it cannot, with
//! the source's content headers, Content-MD5, metadata (and stored time), tier and tags.

use std::collections::BTreeMap;

use blobsync_tests::*;

const MIB: usize = 1 << 20;

/// A stored modification time (as blobsync and rclone write it).
const STORED_MTIME: &str = "2024-05-06T07:08:09.123456789Z";

/// Fills `container` with blobs carrying headers, metadata, a tier, tags, an archived
/// one, and a 20 MiB one; returns the total size of what is to be copied.
fn source_container(blobs: &Blobs, container: &str) -> usize {
    blobs.create_container(container);
    let page = b"<html>hello</html>".to_vec();
    blobs.put_with(
        container,
        "site/index.html",
        &page,
        &[
            ("x-ms-blob-content-type", "text/html; charset=utf-8"),
            ("x-ms-blob-cache-control", "max-age=60"),
            ("x-ms-blob-content-language", "en"),
            ("x-ms-blob-content-disposition", "inline"),
            ("x-ms-meta-owner", "web"),
            ("x-ms-meta-mtime", STORED_MTIME),
        ],
    );
    let big = bytes(7, 20 * MIB + 123);
    blobs.put(container, "data/big.bin", &big, &[("project", "apollo")]);
    blobs.put(container, "cold.txt", b"rarely read", &[]);
    blobs.set_tier(container, "cold.txt", "Cool");
    blobs.put_with(
        container,
        "tagged.txt",
        b"with tags",
        &[("x-ms-tags", "team=web&env=prod")],
    );
    blobs.put(container, "archived.bin", b"offline", &[]);
    blobs.set_tier(container, "archived.bin", "Archive");
    page.len() + big.len() + "rarely read".len() + "with tags".len()
}

/// The properties a copy must keep, from a HEAD.
fn kept(blobs: &Blobs, container: &str, name: &str) -> BTreeMap<String, String> {
    blobs
        .head(container, name)
        .into_iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "content-type"
                    | "cache-control"
                    | "content-language"
                    | "content-disposition"
                    | "content-encoding"
                    | "content-md5"
                    | "content-length"
            ) || (k.starts_with("x-ms-meta-") && k != "x-ms-meta-mtime")
        })
        .collect()
}

#[test]
fn a_container_syncs_to_another_server_side_with_every_property() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (src, dst) = (unique_container("b2b-src"), unique_container("b2b-dst"));
    let data = source_container(&blobs, &src);
    blobs.create_container(&dst);
    blobs.put(&dst, "stale.txt", b"not at the source", &[]);
    // blobsync reaches Azurite only through the proxy, which counts what passes.
    let proxy = FaultProxy::start(az.port);
    let url = |c: &str| format!("{}/devstoreaccount1/{c}", proxy.url());
    let flags = [
        "--delete-destination=true",
        "--block-size-mb",
        "4",
        "--s2s-preserve-blob-tags",
    ];

    let dry =
        blobsync_json(&[&["sync", &url(&src), &url(&dst), "--dry-run"], &flags[..]].concat()).ok();
    let removes = dry.planned("remove");
    assert!(
        dry.planned("copy").len() == 4 && removes.len() == 1 && removes[0].ends_with("stale.txt"),
        "{}",
        dry.dump()
    );
    assert_eq!(
        blobs.names(&dst),
        ["stale.txt"],
        "a dry run changes nothing"
    );

    proxy.reset_stats();
    let run = blobsync_json(&[&["sync", &url(&src), &url(&dst)], &flags[..]].concat()).ok();
    assert_eq!(run.total("copied"), 4, "{}", run.dump());
    assert_eq!(
        run.done("copy"),
        ["cold.txt", "data/big.bin", "site/index.html", "tagged.txt"]
    );
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(run.done("delete"), ["stale.txt"]);
    assert_eq!(run.total("archived"), 1);
    assert_eq!(
        run.reason("copy", "data/big.bin").as_deref(),
        Some("not at the destination"),
        "{}",
        run.dump()
    );
    let stats = proxy.stats();
    let through = stats.request_body_bytes + stats.response_body_bytes;
    assert!(
        through < (data / 20) as u64,
        "{through} bytes passed through blobsync for {data} bytes copied: {stats:?}"
    );
    assert!(stats.count("PUT block") >= 6, "{stats:?}");
    assert_eq!(stats.count("GET blob"), 0, "{stats:?}");
    // Each small blob is one Copy Blob From URL; only the big one is staged and committed.
    assert_eq!(stats.count("PUT blob"), 3, "{stats:?}");
    assert_eq!(stats.count("PUT blocklist"), 1, "{stats:?}");

    assert_eq!(
        blobs.names(&dst),
        ["cold.txt", "data/big.bin", "site/index.html", "tagged.txt"]
    );
    for name in ["cold.txt", "data/big.bin", "site/index.html", "tagged.txt"] {
        assert_eq!(blobs.get(&dst, name), blobs.get(&src, name), "{name}");
        assert_eq!(kept(&blobs, &dst, name), kept(&blobs, &src, name), "{name}");
    }
    let index = kept(&blobs, &dst, "site/index.html");
    assert_eq!(index["content-type"], "text/html; charset=utf-8");
    assert_eq!(index["cache-control"], "max-age=60");
    assert_eq!(index["x-ms-meta-owner"], "web");
    assert!(index.contains_key("content-md5"));
    let meta = |c: &str, n: &str| blobs.head(c, n).get("x-ms-meta-mtime").cloned();
    assert_eq!(
        meta(&dst, "site/index.html").as_deref(),
        Some(STORED_MTIME),
        "the stored source time is kept"
    );
    assert!(
        meta(&dst, "data/big.bin").is_some(),
        "a source without a stored time gives its Last-Modified"
    );
    assert_eq!(blobs.tier(&dst, "cold.txt"), "Cool");
    assert_eq!(
        blobs.tags(&dst, "tagged.txt"),
        [
            ("env".to_string(), "prod".to_string()),
            ("team".to_string(), "web".to_string())
        ]
    );

    proxy.reset_stats();
    let again = blobsync_json(&[&["sync", &url(&src), &url(&dst)], &flags[..]].concat()).ok();
    assert_eq!(again.total("copied"), 0, "{}", again.dump());
    assert_eq!(again.total("up_to_date"), 4);
    assert_eq!(proxy.stats().count("PUT block"), 0);

    let job_id = run.summary()["job"].as_str().unwrap().to_string();
    let job = blobsync(&["jobs", "show", &job_id, "--output-type", "json"]).ok();
    assert!(job.stdout.contains(r#""action":"copy""#), "{}", job.stdout);
}

#[test]
fn a_source_sas_authorises_the_destination_to_read_it() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (src, dst) = (
        unique_container("b2b-sas-src"),
        unique_container("b2b-sas-dst"),
    );
    blobs.create_container(&src);
    let big = bytes(3, 9 * MIB);
    blobs.put(&src, "a/big.bin", &big, &[]);
    blobs.put(&src, "b.txt", b"small", &[]);
    let proxy = FaultProxy::start(az.port);
    let src_url = format!(
        "{}/devstoreaccount1/{src}?{}",
        proxy.url(),
        container_sas(&src, "rl")
    );
    let dst_url = format!("{}/devstoreaccount1/{dst}", proxy.url());
    let run = blobsync_json(&["sync", &src_url, &dst_url, "--block-size-mb", "2"]).ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("copy"), ["a/big.bin", "b.txt"]);
    let stats = proxy.stats();
    assert!(
        stats.request_body_bytes + stats.response_body_bytes < (big.len() / 20) as u64,
        "{stats:?}"
    );
    assert_eq!(blobs.get(&dst, "a/big.bin"), big);
    let signature = sas_signature(&src_url);
    assert!(!run.dump().contains(&signature) && !run.stderr.contains(&signature));
}

#[test]
fn a_destination_that_cannot_reach_the_source_gets_the_data_streamed() {
    let az = azurite();
    let other = start_azurite(&[]);
    let (blobs, far) = (Blobs::new(az), Blobs::new(&other));
    let (src, dst) = (
        unique_container("b2b-far-src"),
        unique_container("b2b-far-dst"),
    );
    source_container(&blobs, &src);
    let run = blobsync_json(&[
        "sync",
        &az.url(&src),
        &other.url(&dst),
        "--block-size-mb",
        "4",
    ])
    .ok();
    assert_eq!(run.total("copied"), 4, "{}", run.dump());
    assert_eq!(
        run.done("copy"),
        ["cold.txt", "data/big.bin", "site/index.html", "tagged.txt"]
    );
    assert!(
        run.warnings()
            .iter()
            .any(|w| w.contains("copying through blobsync instead")
                && w.contains("CannotVerifyCopySource")),
        "{}\n{}",
        run.dump(),
        run.stderr
    );
    for name in ["cold.txt", "data/big.bin", "site/index.html", "tagged.txt"] {
        assert_eq!(far.get(&dst, name), blobs.get(&src, name), "{name}");
        assert_eq!(kept(&far, &dst, name), kept(&blobs, &src, name), "{name}");
    }
    assert_eq!(far.tier(&dst, "cold.txt"), "Cool");
    assert_eq!(
        far.head(&dst, "site/index.html")["x-ms-meta-mtime"],
        STORED_MTIME
    );
    let again = blobsync_json(&["sync", &az.url(&src), &other.url(&dst)]).ok();
    assert_eq!(again.total("copied"), 0, "{}", again.dump());
}

#[test]
fn s2s_stream_sends_the_content_through_blobsync() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (src, dst) = (
        unique_container("b2b-str-src"),
        unique_container("b2b-str-dst"),
    );
    blobs.create_container(&src);
    let data = bytes(11, 3 * MIB);
    blobs.put_with(
        &src,
        "x.bin",
        &data,
        &[("x-ms-blob-content-type", "application/x-thing")],
    );
    let proxy = FaultProxy::start(az.port);
    let url = |c: &str| format!("{}/devstoreaccount1/{c}", proxy.url());
    blobsync(&["sync", &url(&src), &url(&dst), "--s2s-stream"]).ok();
    let stats = proxy.stats();
    assert!(
        stats.request_body_bytes >= data.len() as u64
            && stats.response_body_bytes >= data.len() as u64,
        "{stats:?}"
    );
    assert_eq!(blobs.get(&dst, "x.bin"), data);
    assert_eq!(
        blobs.head(&dst, "x.bin")["content-type"],
        "application/x-thing"
    );

    let src_dir = tempfile::tempdir().unwrap();
    let upload = blobsync(&["sync", s(src_dir.path()), &url(&dst), "--s2s-stream"]);
    assert_eq!(upload.code, 2, "{}", upload.stderr);
    assert!(upload.stderr.contains("--s2s-stream"), "{}", upload.stderr);
}

#[test]
fn hooks_hear_of_a_blob_copy_as_an_upload() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (src, dst) = (
        unique_container("b2b-hook-src"),
        unique_container("b2b-hook-dst"),
    );
    blobs.create_container(&src);
    blobs.put(&src, "a.txt", b"alpha", &[]);
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("examples/audit.toml")).unwrap();
    let component = component_path("examples/plugins/dist/audit-hook.wasm");
    let manifest = work.path().join("audit.toml");
    std::fs::write(
        &manifest,
        text.replace(
            "\"plugins/dist/audit-hook.wasm\"",
            &format!("{:?}", component.display().to_string()),
        ),
    )
    .unwrap();
    blobsync(&[
        "sync",
        &az.url(&src),
        &az.url(&dst),
        "--plugins",
        s(&manifest),
    ])
    .ok();
    let log = std::fs::read_to_string(work.path().join("audit.jsonl")).unwrap();
    let records = json_lines(&log);
    let event = records
        .iter()
        .find(|r| r["path"] == "a.txt")
        .unwrap_or_else(|| panic!("no record of the copy: {log}"));
    assert_eq!(event["action"], "upload", "{log}");
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["bytes"], 5);
    assert_eq!(event["md5"], md5_hex(b"alpha"));
}

#[test]
fn a_destination_sas_that_cannot_write_is_an_authorisation_error() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (src, dst) = (
        unique_container("b2b-ro-src"),
        unique_container("b2b-ro-dst"),
    );
    blobs.create_container(&src);
    blobs.create_container(&dst);
    blobs.put(&src, "a.txt", b"a", &[]);
    blobs.put(&src, "b.txt", b"b", &[]);
    let read_only = az.sas_url(&dst, "rl");
    let run = blobsync(&["sync", &az.url(&src), &read_only]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&az.url(&dst)) && run.stderr.contains("403"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&sas_signature(&read_only)));
    assert!(blobs.names(&dst).is_empty());
}
