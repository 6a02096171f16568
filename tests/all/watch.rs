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
    // The new Azurite is empty: the retry's full sync restores everything.
    own.restart();
    let blobs = Blobs::new(&own);
    wait_until("recovery", || {
        blobs.container_exists(&container) && blobs.names(&container) == ["a.txt", "b.txt"]
    });
    let out = stop(child);
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
