//! What uploads set on blobs from flags — content headers, access tier, user metadata,
//! blob index tags — read back with an independent REST client; what changes in place
//! when only the settings change; and bad values refused before anything moves.

use blobsync_tests::*;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", b"<h1>hello</h1>");
    write(dir.path(), "css/site.css", b"body{}");
    write(dir.path(), "data.bin", &bytes(9, 5_000));
    dir
}

const FILES: [&str; 3] = ["index.html", "css/site.css", "data.bin"];

/// [`FILES`] sorted, as [`Outcome::done`] lists paths.
const SORTED: [&str; 3] = ["css/site.css", "data.bin", "index.html"];

#[test]
fn flags_set_headers_tier_metadata_and_tags_on_every_upload() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("settings");
    let src = site();
    let url = az.url(&container);
    let flags = [
        "--cache-control",
        "max-age=600",
        "--content-language",
        "en-GB",
        "--content-disposition",
        "inline",
        "--block-blob-tier",
        "cool",
        "--metadata",
        "Project=apollo;owner=web",
        "--blob-tags",
        "team=data&retention=7y",
    ];
    let mut args = vec!["sync", s(src.path()), &url];
    args.extend(flags);
    let first = blobsync_json(&args).ok();
    assert_eq!(first.total("copied"), 3);
    assert_eq!(first.done("upload"), SORTED);
    for name in FILES {
        let head = blobs.head(&container, name);
        assert_eq!(head["cache-control"], "max-age=600", "{name}");
        assert_eq!(head["content-language"], "en-GB", "{name}");
        assert_eq!(head["content-disposition"], "inline", "{name}");
        assert_eq!(head["x-ms-access-tier"], "Cool", "{name}");
        assert_eq!(head["x-ms-meta-project"], "apollo", "{name}");
        assert_eq!(head["x-ms-meta-owner"], "web", "{name}");
        assert!(
            head.contains_key("x-ms-meta-mtime"),
            "blobsync's own key stays"
        );
        assert_eq!(
            blobs.tags(&container, name),
            [
                ("retention".to_string(), "7y".to_string()),
                ("team".to_string(), "data".to_string())
            ],
            "{name}"
        );
    }
    // Guessing goes on for what the flags leave unset.
    assert_eq!(
        blobs.head(&container, "index.html")["content-type"],
        "text/html; charset=utf-8"
    );

    // The same flags again: nothing to copy and nothing to update.
    let again = blobsync_json(&args).ok();
    assert_eq!(again.total("copied"), 0, "{}", again.dump());
    assert_eq!(again.total("up_to_date"), 3);
    assert_eq!(again.total("updated"), 0, "{}", again.dump());
}

#[test]
fn changed_settings_are_applied_in_place_without_uploading_again() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("inplace");
    let src = site();
    let url = az.url(&container);
    blobsync(&[
        "sync",
        s(src.path()),
        &url,
        "--cache-control",
        "max-age=600",
        "--content-language",
        "en-GB",
    ])
    .ok();
    let before: Vec<_> = FILES.iter().map(|n| blobs.head(&container, n)).collect();

    // Only the Cache-Control, the tier, a metadata key and a tag change.
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &url,
        "--cache-control",
        "no-cache",
        "--content-language",
        "en-GB",
        "--block-blob-tier",
        "Cold",
        "--metadata",
        "build=42",
        "--blob-tags",
        "env=prod",
    ])
    .ok();
    assert_eq!(run.total("copied"), 0, "{}", run.dump());
    assert_eq!(run.total("updated"), 3, "{}", run.dump());
    assert_eq!(run.done("update"), SORTED);
    for name in FILES {
        assert!(
            run.reason("update", name)
                .is_some_and(|r| r.contains("Cache-Control")),
            "{name}: the reason names what changed:\n{}\n{}",
            run.dump(),
            run.stderr
        );
    }
    for (name, old) in FILES.iter().zip(&before) {
        let head = blobs.head(&container, name);
        assert_eq!(head["cache-control"], "no-cache", "{name}");
        assert_eq!(
            head["content-language"], "en-GB",
            "{name}: other headers kept"
        );
        assert_eq!(head["content-type"], old["content-type"], "{name}");
        assert_eq!(head["content-md5"], old["content-md5"], "{name}: MD5 kept");
        assert_eq!(
            head["x-ms-meta-mtime"], old["x-ms-meta-mtime"],
            "{name}: not uploaded again"
        );
        assert_eq!(head["x-ms-meta-build"], "42", "{name}");
        assert_eq!(head["x-ms-access-tier"], "Cold", "{name}");
        assert_eq!(
            blobs.tags(&container, name),
            [("env".to_string(), "prod".to_string())]
        );
    }
    assert_eq!(blobs.get(&container, "data.bin"), bytes(9, 5_000));

    // Settled: a third run changes nothing.
    let settled = blobsync_json(&[
        "sync",
        s(src.path()),
        &url,
        "--cache-control",
        "no-cache",
        "--block-blob-tier",
        "cold",
        "--metadata",
        "build=42",
        "--blob-tags",
        "env=prod",
    ])
    .ok();
    assert_eq!(settled.total("updated"), 0, "{}", settled.dump());
    assert_eq!(settled.total("up_to_date"), 3);
}

#[test]
fn content_type_flag_wins_over_the_guess_and_the_dry_run_only_says_so() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("ctype");
    let src = site();
    let url = az.url(&container);
    blobsync(&["sync", s(src.path()), &url]).ok();
    let dry = blobsync_json(&[
        "sync",
        s(src.path()),
        &url,
        "--content-type",
        "application/x-custom",
        "--dry-run",
    ])
    .ok();
    assert_eq!(dry.total("updated"), 3, "{}", dry.dump());
    assert_eq!(dry.planned("update").len(), 3, "{}", dry.dump());
    assert_eq!(
        blobs.head(&container, "index.html")["content-type"],
        "text/html; charset=utf-8",
        "a dry run changes nothing"
    );
    blobsync(&[
        "sync",
        s(src.path()),
        &url,
        "--content-type",
        "application/x-custom",
    ])
    .ok();
    for name in FILES {
        assert_eq!(
            blobs.head(&container, name)["content-type"],
            "application/x-custom"
        );
    }
}

#[test]
fn uploads_go_to_each_tier_and_an_archived_upload_is_left_alone_afterwards() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let src = site();
    for tier in ["Hot", "Cool", "Cold", "Archive"] {
        let container = unique_container(&format!("tier{}", tier.to_ascii_lowercase()));
        let url = az.url(&container);
        let args = ["sync", s(src.path()), &url, "--block-blob-tier", tier];
        blobsync(&args).ok();
        for name in FILES {
            assert_eq!(blobs.tier(&container, name), tier, "{name}");
        }
        let again = blobsync_json(&args).ok();
        assert_eq!(again.total("up_to_date"), 3, "{tier}: {}", again.dump());
        assert_eq!(again.total("copied"), 0);
        assert_eq!(again.total("updated"), 0, "{}", again.dump());
    }
}

#[test]
fn bad_values_are_usage_errors_naming_the_flag_and_nothing_is_written() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("badset");
    let src = site();
    let url = az.url(&container);
    let long_tag = format!("k={}", "v".repeat(257));
    for (flag, value, says) in [
        ("--metadata", "my-key=v", "not a valid metadata name"),
        ("--metadata", "mtime=1", "blobsync's own key"),
        ("--blob-tags", "a=1&a=2", "given twice"),
        ("--blob-tags", "bad!key=1", "cannot hold"),
        ("--blob-tags", long_tag.as_str(), "at most 256"),
        ("--block-blob-tier", "Premium", "Hot, Cool, Cold or Archive"),
        ("--cache-control", "a\u{7}b", "one line"),
        ("--cache-control-preset", "fast", "static-site"),
    ] {
        let run = blobsync(&["sync", s(src.path()), &url, flag, value]);
        assert_eq!(run.code, 2, "{flag} {value:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(says),
            "{flag} {value:?}: {}",
            run.stderr
        );
    }
    assert!(!blobs.container_exists(&container), "nothing was written");

    let dst = tempfile::tempdir().unwrap();
    let run = blobsync(&["sync", &url, s(dst.path()), "--cache-control", "no-cache"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--cache-control") && run.stderr.contains("local folder"),
        "{}",
        run.stderr
    );
}
