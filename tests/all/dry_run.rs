//! `--dry-run` prints what would happen, with reasons, and changes nothing at all.

use blobsync_tests::*;

#[test]
fn a_dry_run_upload_prints_copies_and_creates_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("dry");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "one.txt", b"1");
    write(src.path(), "sub/two.txt", b"22");
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&container), "--dry-run"]).ok();
    let url = az.url(&container);
    let one = src.path().join("one.txt").display().to_string();
    let two = src.path().join("sub/two.txt").display().to_string();
    assert_eq!(run.planned("copy"), [one.clone(), two.clone()]);
    let copy_of = |source: &str| {
        run.of_type("dry-run")
            .find(|e| e["action"] == "copy" && e["source"] == source)
            .unwrap_or_else(|| panic!("no copy of {source}:\n{}", run.dump()))
            .clone()
    };
    let copy = copy_of(&one);
    assert_eq!(copy["destination"], format!("{url}/one.txt"), "{copy}");
    assert_eq!(copy["reason"], "not at the destination", "{copy}");
    let copy = copy_of(&two);
    assert_eq!(copy["destination"], format!("{url}/sub/two.txt"), "{copy}");
    assert_eq!(run.total("copied"), 2);
    assert!(
        !blobs.container_exists(&container),
        "not even the container is created"
    );
}

#[test]
fn a_dry_run_with_deletes_prints_removes_and_deletes_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("drydel");
    blobs.create_container(&container);
    blobs.put(&container, "obsolete.txt", b"old", &[]);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "new.txt", b"new");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--dry-run",
        "--delete-destination=true",
    ])
    .ok();
    let obsolete = format!("{}/obsolete.txt", az.url(&container));
    assert_eq!(run.planned("remove"), std::slice::from_ref(&obsolete));
    let remove = run
        .of_type("dry-run")
        .find(|e| e["action"] == "remove")
        .unwrap();
    assert_eq!(remove["destination"], obsolete.as_str(), "{remove}");
    assert_eq!(remove["reason"], "not at the source", "{remove}");
    assert_eq!(run.total("deleted"), 1);
    assert_eq!(blobs.names(&container), ["obsolete.txt"]);
}

#[test]
fn a_dry_run_download_writes_nothing_locally() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("drydl");
    blobs.create_container(&container);
    blobs.put(&container, "a.txt", b"a", &[]);
    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("not-yet");
    let run = blobsync_json(&["sync", &az.url(&container), s(&target), "--dry-run"]).ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(
        run.planned("copy"),
        [format!("{}/a.txt", az.url(&container))]
    );
    assert!(!target.exists());
}

#[test]
fn a_json_dry_run_names_what_it_removes_as_the_destination_and_what_uploads_would_carry() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("dryjson");
    blobs.create_container(&container);
    blobs.put(&container, "stale.txt", b"old", &[]);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "index.html", b"<h1>hi</h1>");
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--dry-run",
        "--delete-destination=true",
        "--cache-control",
        "no-cache",
        "--block-blob-tier",
        "Cool",
        "--metadata",
        "project=apollo",
        "--blob-tags",
        "retention=7y",
    ])
    .ok();
    let remove = run
        .of_type("dry-run")
        .find(|e| e["action"] == "remove")
        .unwrap();
    assert!(remove["source"].is_null(), "{remove}");
    assert!(
        remove["destination"]
            .as_str()
            .unwrap()
            .ends_with("/stale.txt"),
        "{remove}"
    );
    let copy = run
        .of_type("dry-run")
        .find(|e| e["action"] == "copy")
        .unwrap();
    let carries = copy["carries"].as_str().unwrap();
    for part in [
        "Content-Type: text/html",
        "Cache-Control: no-cache",
        "tier Cool",
        "metadata project=apollo",
        "tags retention=7y",
    ] {
        assert!(carries.contains(part), "{part} in {carries}");
    }
    assert_eq!(
        blobs.names(&container),
        ["stale.txt"],
        "a dry run changes nothing"
    );
}
