//! Filters run on both sides, in wasm: an excluded path is neither copied nor compared,
//! and an excluded directory is pruned.

use blobsync_tests::*;

#[test]
fn include_pattern_uploads_only_matching_names() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("include");
    let src = tempfile::tempdir().unwrap();
    for p in [
        "a.json",
        "b.csv",
        "c.txt",
        "sub/d.json",
        "sub/e.log",
        "json/readme.md",
    ] {
        write(src.path(), p, p.as_bytes());
    }
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--include-pattern",
        "*.json;*.csv",
    ])
    .ok();
    assert_eq!(run.total("copied"), 3);
    assert_eq!(run.done("upload"), ["a.json", "b.csv", "sub/d.json"]);
    assert_eq!(blobs.names(&container), ["a.json", "b.csv", "sub/d.json"]);
}

#[test]
fn exclusions_apply_to_the_destination_side_too() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("bothsides");
    blobs.create_container(&container);
    // At the destination: a different scratch file and something under build/.
    blobs.put(&container, "scratch.tmp", b"remote version", &[]);
    blobs.put(&container, "build/out.o", b"remote object", &[]);
    let before = blobs.list(&container);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "scratch.tmp", b"local version, different size");
    write(src.path(), "build/out.o", b"local object, different");
    write(src.path(), "build/deeper/x.o", b"x");
    write(src.path(), "buildings.txt", b"not under build/");
    write(src.path(), "src/main.rs", b"fn main() {}");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--exclude-pattern",
        "*.tmp",
        "--exclude-path",
        "build",
    ])
    .ok();
    assert_eq!(run.total("copied"), 2, "{}", run.dump());
    assert_eq!(run.done("upload"), ["buildings.txt", "src/main.rs"]);
    let excluded = |side: &str, path: &str, reason: &str| {
        run.of_type("excluded").any(|e| {
            e["side"] == side
                && e["path"] == path
                && e["plugin"] == "glob-filter"
                && e["reason"].as_str().is_some_and(|r| r.starts_with(reason))
        })
    };
    assert!(
        excluded("source", "build/", "under --exclude-path build"),
        "{}",
        run.dump()
    );
    assert!(
        excluded(
            "destination",
            "scratch.tmp",
            "matches --exclude-pattern *.tmp"
        ),
        "{}",
        run.dump()
    );
    let after = blobs.list(&container);
    for name in ["scratch.tmp", "build/out.o"] {
        let b = before.iter().find(|b| b.name == name).unwrap();
        let a = after.iter().find(|b| b.name == name).unwrap();
        assert_eq!(a.etag, b.etag, "{name} was left alone");
    }
    assert_eq!(
        blobs.names(&container),
        ["build/out.o", "buildings.txt", "scratch.tmp", "src/main.rs"]
    );
}

#[test]
fn regexes_match_relative_paths() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("regex");
    let src = tempfile::tempdir().unwrap();
    for p in [
        "logs/2024/a.log",
        "logs/2024/secret.log",
        "logs/old/b.log",
        "other/2024/c.log",
    ] {
        write(src.path(), p, b"x");
    }
    blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--include-regex",
        r"^logs/\d{4}/",
        "--exclude-regex",
        "secret",
    ])
    .ok();
    assert_eq!(blobs.names(&container), ["logs/2024/a.log"]);
}

#[test]
fn an_invalid_pattern_is_a_configuration_error_naming_it() {
    let az = azurite();
    let container = unique_container("badpattern");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"x");
    for (flag, value) in [
        ("--include-pattern", "[a-"),
        ("--exclude-regex", "(unclosed"),
    ] {
        let run = blobsync(&["sync", s(src.path()), &az.url(&container), flag, value]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(value),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("glob-filter"),
            "names the plugin: {}",
            run.stderr
        );
    }
    assert!(
        !Blobs::new(az).container_exists(&container),
        "nothing was written"
    );
}
