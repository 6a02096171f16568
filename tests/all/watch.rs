//! `sync --watch`: new and changed files are picked up, deletes follow, outages are
//! survived, and a signal stops it cleanly.

use std::time::Duration;

use blobsync_tests::*;

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    assert!(
        wait_for(Duration::from_secs(30), &mut f),
        "timed out waiting for {what}"
    );
}

fn stop(child: std::process::Child) -> Run {
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().unwrap().into()
}

#[test]
fn watch_picks_up_new_changed_and_deleted_files_and_stops_on_a_signal() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("watch");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "initial.txt", b"there from the start");
    write(src.path(), "skip/ignored.tmp", b"excluded");
    let child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--watch",
        "--watch-debounce-ms",
        "200",
        "--delete-destination=true",
        "--exclude-pattern",
        "*.tmp",
    ]);
    wait_until("the initial sync", || {
        blobs.container_exists(&container) && blobs.names(&container) == ["initial.txt"]
    });

    write(src.path(), "new/dir/added.txt", b"added while watching");
    wait_until("the new file", || {
        blobs
            .names(&container)
            .contains(&"new/dir/added.txt".to_string())
    });

    write(src.path(), "initial.txt", b"changed while watching!");
    wait_until("the change", || {
        blobs.get(&container, "initial.txt") == b"changed while watching!"
    });

    std::fs::remove_file(src.path().join("new/dir/added.txt")).unwrap();
    wait_until("the delete", || {
        !blobs
            .names(&container)
            .contains(&"new/dir/added.txt".to_string())
    });

    write(src.path(), "skip/another.tmp", b"excluded too");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        blobs.names(&container),
        ["initial.txt"],
        "filters apply in watch mode"
    );

    let out = stop(child);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn watch_survives_an_outage_and_catches_up() {
    let mut own = start_azurite(&[]);
    let container = unique_container("outage");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"a");
    let child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &own.url(&container),
        "--watch",
        "--watch-debounce-ms",
        "200",
    ]);
    {
        let blobs = Blobs::new(&own);
        wait_until("the initial sync", || {
            blobs.container_exists(&container) && blobs.names(&container) == ["a.txt"]
        });
    }
    own.kill();
    write(src.path(), "b.txt", b"written during the outage");
    std::thread::sleep(Duration::from_secs(2));
    // The run the change started waits out the outage, retrying, and completes when the
    // service is back (a new, empty one here).
    own.restart();
    let blobs = Blobs::new(&own);
    let caught_up = wait_for(Duration::from_secs(40), || {
        blobs.container_exists(&container) && blobs.names(&container).contains(&"b.txt".into())
    });
    // And the watch goes on.
    write(src.path(), "c.txt", b"after the outage");
    let goes_on = caught_up
        && wait_for(Duration::from_secs(30), || {
            blobs.names(&container).contains(&"c.txt".into())
        });
    let out = stop(child);
    assert!(caught_up && goes_on, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn watch_needs_a_local_source() {
    let az = azurite();
    let dst = tempfile::tempdir().unwrap();
    let out = blobsync(&["sync", &az.url("any-container"), s(dst.path()), "--watch"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--watch"), "{}", out.stderr);
}

/// The job records of this test process's runs whose source is `src`.
fn runs_of(src: &std::path::Path) -> Vec<serde_json::Value> {
    let out = blobsync(&["jobs", "list", "--limit", "1000", "--output-type", "json"]);
    json_lines(&out.stdout)
        .into_iter()
        .filter(|j| j["source"] == s(src))
        .collect()
}

#[test]
fn an_idle_watch_rests_and_each_change_makes_exactly_one_scoped_run() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("rest");
    let src = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(
            src.path(),
            &format!("d{}/f{i}.txt", i % 7),
            format!("file {i}").as_bytes(),
        );
    }
    let child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--watch",
        "--watch-debounce-ms",
        "300",
        "--delete-destination=true",
    ]);
    wait_until("the first full sync", || {
        blobs.container_exists(&container) && blobs.names(&container).len() == 300
    });
    wait_until("its job record", || {
        runs_of(src.path())
            .iter()
            .any(|j| j["status"] == "Completed")
    });
    // Idle: the watch's own reads of the tree must not start runs.
    std::thread::sleep(Duration::from_secs(30));
    assert_eq!(runs_of(src.path()).len(), 1, "an idle watch made runs");

    let settle = |expected: usize, what: &str| {
        wait_until(what, || runs_of(src.path()).len() >= expected);
        std::thread::sleep(Duration::from_secs(2));
        let runs = runs_of(src.path());
        assert_eq!(runs.len(), expected, "{what}: exactly one run");
        runs
    };
    write(src.path(), "d1/new.txt", b"created");
    settle(2, "a created file");
    write(src.path(), "d2/f2.txt", b"modified");
    settle(3, "a modified file");
    std::fs::rename(
        src.path().join("d3/f3.txt"),
        src.path().join("d3/renamed.txt"),
    )
    .unwrap();
    settle(4, "a renamed file");
    std::fs::remove_file(src.path().join("d4/f4.txt")).unwrap();
    let runs = settle(5, "a deleted file");
    assert!(
        runs.iter().filter(|j| j["status"] == "Completed").count() == 5,
        "{runs:?}"
    );
    let names = blobs.names(&container);
    assert!(names.contains(&"d1/new.txt".to_string()));
    assert!(names.contains(&"d3/renamed.txt".to_string()));
    assert!(!names.contains(&"d3/f3.txt".to_string()));
    assert!(!names.contains(&"d4/f4.txt".to_string()));
    assert_eq!(blobs.get(&container, "d2/f2.txt"), b"modified");
    let out = stop(child);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn a_changed_manifest_is_loaded_between_runs_and_a_broken_one_keeps_the_old_plugins() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("reload");
    let src = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let manifest = conf.path().join("plugins.toml");
    let filter = |pattern: &str| {
        format!(
            "version = 1\n[[filter]]\nname = \"no-{pattern}\"\nsource = \"builtin:glob-filter\"\n\
             config = {{ exclude-pattern = \"*.{pattern}\" }}\n"
        )
    };
    std::fs::write(&manifest, filter("log")).unwrap();
    write(src.path(), "a.txt", b"a");
    write(src.path(), "first.log", b"excluded by the first manifest");
    let child = spawn_blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--watch",
        "--watch-debounce-ms",
        "200",
        "--plugins",
        s(&manifest),
    ]);
    wait_until("the initial sync", || {
        blobs.container_exists(&container) && blobs.names(&container) == ["a.txt"]
    });

    // The new manifest excludes *.tmp instead: the excluded log is synced by the full run
    // that follows a reload, and a new .tmp file is not.
    std::fs::write(&manifest, filter("tmp")).unwrap();
    wait_until("the reload's full sync", || {
        blobs.names(&container) == ["a.txt", "first.log"]
    });
    write(src.path(), "new.tmp", b"excluded by the second manifest");
    write(src.path(), "b.txt", b"b");
    wait_until("the next change", || {
        blobs.names(&container).contains(&"b.txt".to_string())
    });
    assert!(!blobs.names(&container).contains(&"new.tmp".to_string()));

    // A broken manifest: the running plugins stay.
    std::fs::write(
        &manifest,
        "version = 1\n[[filter]]\nsource = \"gone.wasm\"\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    write(src.path(), "later.tmp", b"still excluded");
    write(src.path(), "c.txt", b"c");
    wait_until("a change after the broken manifest", || {
        blobs.names(&container).contains(&"c.txt".to_string())
    });
    assert_eq!(
        blobs.names(&container),
        ["a.txt", "b.txt", "c.txt", "first.log"]
    );

    let out = stop(child);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("plugins reloaded"), "{said}");
    assert!(
        said.contains("plugins not reloaded") && said.contains("gone.wasm"),
        "{said}"
    );
}
