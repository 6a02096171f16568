//! Bad and unusual inputs get a clear error (exit 2, naming the flag or variable) before
//! anything is transferred, and unusual entries are reported rather than skipped silently.

use blobsync_tests::*;

fn usage_error(args: &[&str], envs: &[(&str, &str)], needle: &str) {
    let mut cmd = blobsync_command(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().unwrap().into();
    assert_eq!(
        run.code, 2,
        "{args:?} {envs:?}: {}\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
}

#[test]
fn bad_urls_and_credentials_are_usage_errors_that_say_why() {
    let src = tempfile::tempdir().unwrap();
    let src = s(src.path());
    usage_error(
        &[
            "sync",
            src,
            "https://acct.blob.core.windows.net/cont?sv=2022-11-02&sp=rl",
        ],
        &[],
        "no SAS signature",
    );
    usage_error(
        &["sync", src, "ftp://host/dir"],
        &[],
        "`ftp://` is not supported",
    );
    usage_error(
        &[
            "sync",
            src,
            "https://acct.blob.core.windows.net/cont",
            "--identity",
            "--account-key",
            "a2V5",
        ],
        &[],
        "--identity and --account-key",
    );
    usage_error(
        &[
            "sync",
            src,
            "https://acct.blob.core.windows.net/cont",
            "--identity",
        ],
        &[("AZURE_STORAGE_KEY", "a2V5")],
        "AZURE_STORAGE_KEY",
    );
    usage_error(
        &[
            "sync",
            src,
            "https://acct.blob.core.windows.net/cont",
            "--auth",
            "key",
            "--identity",
        ],
        &[],
        "--auth key and --identity",
    );
}

#[test]
fn environment_variables_are_named_in_their_errors() {
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    let url = az.url(&unique_container("envs"));
    usage_error(
        &["sync", s(src.path()), &url],
        &[("AZCOPY_CONCURRENCY_VALUE", "lots")],
        "AZCOPY_CONCURRENCY_VALUE=lots",
    );
    usage_error(
        &["sync", s(src.path()), &url],
        &[("BLOBSYNC_BUFFER_MB", "2")],
        "BLOBSYNC_BUFFER_MB=2",
    );
    usage_error(
        &["sync", s(src.path()), &url],
        &[("AZCOPY_REQUEST_TRY_TIMEOUT", "soon")],
        "AZCOPY_REQUEST_TRY_TIMEOUT=soon",
    );
    // azcopy's own value for "choose for me" is accepted.
    write(src.path(), "x.txt", b"x");
    let mut cmd = blobsync_json_command(&["sync", s(src.path()), &url]);
    cmd.env("AZCOPY_CONCURRENCY_VALUE", "AUTO");
    let run = Outcome::of(cmd.output().unwrap().into()).ok();
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["x.txt"]);
}

#[test]
fn bad_numbers_and_durations_name_their_flag() {
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    let url = az.url(&unique_container("flags"));
    let src = s(src.path());
    usage_error(
        &["sync", src, &url, "--max-delete", "-1"],
        &[],
        "--max-delete -1: it must be 0 or more",
    );
    usage_error(
        &["sync", src, &url, "--watch", "--watch-rescan", "0s"],
        &[],
        "--watch-rescan 0s",
    );
    usage_error(
        &["sync", src, &url, "--try-timeout", "fast"],
        &[],
        "--try-timeout",
    );
    usage_error(
        &["sync", src, &url, "--stall-timeout", "0s"],
        &[],
        "--stall-timeout",
    );
    usage_error(
        &["sync", src, &url, "--retry-status-codes", "500;abc"],
        &[],
        "--retry-status-codes",
    );
}

#[test]
fn special_files_are_reported_and_counted() {
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "plain.txt", b"plain");
    let fifo = std::ffi::CString::new(src.path().join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let run = blobsync_json(&["sync", s(src.path()), &az.url(&unique_container("fifo"))]).ok();
    assert_eq!(run.total("special_skipped"), 1, "{}", run.dump());
    assert!(
        run.of_type("skipped").any(|e| e["path"] == "pipe"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("not a regular file"))),
        "{}",
        run.dump()
    );
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["plain.txt"]);
}

#[test]
fn a_damaged_database_is_named_with_the_way_out_and_the_run_goes_on() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("blobsync.db");
    std::fs::write(&db, vec![0x42; 16384]).unwrap();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "x.txt", b"x");
    let mut cmd =
        blobsync_json_command(&["sync", s(src.path()), &az.url(&unique_container("baddb"))]);
    cmd.env("BLOBSYNC_DATA_DIR", data.path());
    let run = Outcome::of(cmd.output().unwrap().into()).ok();
    assert!(
        run.stderr.contains(db.to_str().unwrap()) && run.stderr.contains("mv "),
        "{}",
        run.stderr
    );
    assert_eq!(run.total("copied"), 1);
    assert_eq!(run.done("upload"), ["x.txt"]);
}

#[test]
fn a_job_killed_outright_shows_what_it_copied() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    for i in 0..400 {
        write(src.path(), &format!("f{i:03}.bin"), &bytes(i, 8_000));
    }
    let container = unique_container("killjob");
    let mut cmd = blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "4",
        "--concurrency",
        "4",
    ]);
    cmd.env("BLOBSYNC_DATA_DIR", data.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let blobs = Blobs::new(az);
    assert!(wait_for(std::time::Duration::from_secs(30), || {
        blobs.container_exists(&container) && blobs.names(&container).len() >= 40
    }));
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let landed = blobs.names(&container).len() as u64;
    let mut list = blobsync_command(&["jobs", "list", "--output-type", "json"]);
    list.env("BLOBSYNC_DATA_DIR", data.path());
    let out: Run = list.output().unwrap().into();
    let jobs = json_lines(&out.stdout);
    assert_eq!(jobs[0]["status"], "Interrupted", "{}", out.stdout);
    let copied = jobs[0]["copied"].as_u64().unwrap();
    // Items are written as they finish, a fraction of a second behind.
    assert!(
        copied >= landed.saturating_sub(40) && copied <= landed && copied > 0,
        "the record shows {copied} copied; {landed} landed"
    );
}

#[test]
fn block_sizes_are_whole_bytes_and_not_absurdly_small() {
    let src = tempfile::tempdir().unwrap();
    let dst = "http://127.0.0.1:9/devstoreaccount1/never";
    for (value, says) in [
        ("1e-9", "whole number of bytes"),
        ("0.0001", "whole number of bytes"),
        ("0.03125", "at least 0.0625"),
        ("0", "more than 0"),
        ("4001", "at most 4000"),
    ] {
        usage_error(
            &["sync", s(src.path()), dst, "--block-size-mb", value],
            &[],
            says,
        );
    }
    usage_error(
        &["sync", s(src.path()), dst, "--put-blob-size-mb", "0.3"],
        &[],
        "whole number of bytes",
    );
}
