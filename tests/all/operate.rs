//! Operating blobsync: job records, JSON output, logs, exit codes, interrupts, and
//! concurrent runs sharing one database.

use std::time::Duration;

use blobsync_tests::*;

fn tree(n: usize) -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    for i in 0..n {
        write(
            src.path(),
            &format!("d{}/f{i}.txt", i % 4),
            format!("file {i}").as_bytes(),
        );
    }
    src
}

/// A blobsync command with its own data directory (database and logs).
fn with_data(args: &[&str], data: &std::path::Path) -> std::process::Command {
    let mut cmd = blobsync_command(args);
    cmd.env("BLOBSYNC_DATA_DIR", data);
    cmd
}

/// [`with_data`], with `--output-type json --verbose`.
fn json_with_data(args: &[&str], data: &std::path::Path) -> std::process::Command {
    let mut cmd = blobsync_json_command(args);
    cmd.env("BLOBSYNC_DATA_DIR", data);
    cmd
}

fn run(cmd: &mut std::process::Command) -> Run {
    cmd.output().unwrap().into()
}

fn jobs_json(data: &std::path::Path) -> Vec<serde_json::Value> {
    let out = run(&mut with_data(
        &["jobs", "list", "--output-type", "json"],
        data,
    ))
    .ok();
    json_lines(&out.stdout)
}

#[test]
fn every_run_is_recorded_with_its_items_and_a_redacted_command_line() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let container = unique_container("jobs");
    Blobs::new(az).create_container(&container);
    let url = az.sas_url(&container, "racwdl");
    let sig = sas_signature(&url);
    let src = tree(6);
    let first = Outcome::of(run(&mut json_with_data(
        &["sync", s(src.path()), &url],
        data.path(),
    )))
    .ok();
    write(src.path(), "d0/f0.txt", b"changed content");
    let second = Outcome::of(run(&mut json_with_data(
        &["sync", s(src.path()), &url],
        data.path(),
    )))
    .ok();

    let jobs = jobs_json(data.path());
    assert_eq!(jobs.len(), 2);
    let (newest, oldest) = (&jobs[0], &jobs[1]);
    assert_eq!(oldest["copied"], 6);
    assert_eq!(newest["copied"], 1);
    assert_eq!(newest["up_to_date"], 5);
    assert_eq!(newest["status"], "Completed");
    assert_eq!(first.summary()["job"], oldest["id"], "{}", first.dump());
    assert_eq!(second.summary()["job"], newest["id"], "{}", second.dump());
    let command = newest["command"].as_str().unwrap();
    assert!(
        command.contains("sig=REDACTED") && !command.contains(&sig),
        "{command}"
    );

    let id = newest["id"].as_str().unwrap();
    let show = run(&mut with_data(
        &["jobs", "show", &id[..8], "--output-type", "json"],
        data.path(),
    ))
    .ok();
    let job: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    let items = job["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "one copy and five skips: {items:?}");
    let copied: Vec<_> = items.iter().filter(|i| i["status"] == "Success").collect();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0]["path"], "d0/f0.txt");
    assert!(
        copied[0]["reason"]
            .as_str()
            .unwrap()
            .contains("size differs")
    );
    assert!(
        items
            .iter()
            .filter(|i| i["status"] == "Skipped")
            .all(|i| i["reason"] == "same size and modification time")
    );

    let text = run(&mut with_data(
        &["jobs", "show", id, "--with-status=Success"],
        data.path(),
    ))
    .ok();
    assert!(
        text.stdout.contains("Status:       Completed"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("d0/f0.txt") && !text.stdout.contains("d1/f1.txt"),
        "{}",
        text.stdout
    );
    assert!(
        !std::fs::read_to_string(data.path().join("blobsync.db"))
            .unwrap_or_default()
            .contains(&sig)
    );

    let out = run(&mut with_data(
        &["jobs", "show", "nonexistent"],
        data.path(),
    ));
    assert_eq!(out.code, 2);
    let out = run(&mut with_data(
        &["jobs", "clean", "--older-than", "1d"],
        data.path(),
    ))
    .ok();
    assert!(out.stdout.contains("removed 0 jobs"), "{}", out.stdout);
    let out = run(&mut with_data(&["jobs", "clean"], data.path())).ok();
    assert!(out.stdout.contains("removed 2 jobs"), "{}", out.stdout);
    assert!(jobs_json(data.path()).is_empty());
}

#[test]
fn a_run_that_cannot_start_is_recorded_as_failed() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let src = tree(1);
    let wrong =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    let out = run(&mut with_data(
        &[
            "sync",
            s(src.path()),
            &az.url(&unique_container("fails")),
            "--account-key",
            wrong,
        ],
        data.path(),
    ));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let jobs = jobs_json(data.path());
    assert_eq!(jobs[0]["status"], "Failed");
    assert!(
        jobs[0]["error"].as_str().unwrap().contains("403"),
        "{:?}",
        jobs[0]
    );
    assert!(
        jobs[0]["command"]
            .as_str()
            .unwrap()
            .contains("--account-key REDACTED")
    );
    assert!(!jobs[0]["command"].as_str().unwrap().contains(wrong));
}

#[test]
fn json_output_is_one_object_per_line_with_a_stable_schema() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("json");
    blobs.create_container(&container);
    blobs.put(&container, "remote-only.txt", b"x", &[]);
    let src = tree(3);
    write(src.path(), "big.bin", &bytes(1, 3 * 1024 * 1024));
    // Slow enough for progress objects (every two seconds).
    let out = run(&mut blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--output-type",
        "json",
        "--cap-mbps",
        "8",
        "--delete-destination",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let start = &lines[0];
    assert_eq!(start["type"], "start");
    assert_eq!(start["schema"], 1);
    let job = start["job"].as_str().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "progress" && l["job"] == job),
        "{}",
        out.stdout
    );
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "summary");
    assert_eq!(end["job"], job);
    assert_eq!(end["exit_code"], 0);
    assert_eq!(end["status"], "Completed");
    assert_eq!(end["copied"], 4);
    assert_eq!(end["deleted"], 1);
    assert!(
        out.stderr.is_empty(),
        "nothing else on stderr: {}",
        out.stderr
    );

    let out = run(&mut blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--output-type",
        "json",
        "--dry-run",
        "--delete-destination",
    ]));
    let lines = json_lines(&out.stdout);
    assert!(
        lines.iter().all(|l| l["type"] != "dry-run"),
        "nothing to do"
    );
    write(src.path(), "new.txt", b"new");
    let out = run(&mut blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--output-type",
        "json",
        "--dry-run",
    ]));
    let lines = json_lines(&out.stdout);
    let planned = lines.iter().find(|l| l["type"] == "dry-run").unwrap();
    assert_eq!(planned["action"], "copy");
    assert_eq!(planned["reason"], "not at the destination");

    let dst = tempfile::tempdir().unwrap();
    blobs.put(&container, "new.txt", b"other", &[]);
    blobs.set_content_md5(&container, "new.txt", &[0; 16]);
    let out = run(&mut blobsync_command(&[
        "sync",
        &az.url(&container),
        s(dst.path()),
        "--output-type",
        "json",
    ]));
    assert_eq!(out.code, 1);
    let lines = json_lines(&out.stdout);
    let error = lines.iter().find(|l| l["type"] == "error").unwrap();
    assert_eq!(error["path"], "new.txt");
    assert_eq!(error["action"], "download");
    assert_eq!(lines.last().unwrap()["exit_code"], 1);
    assert_eq!(lines.last().unwrap()["status"], "CompletedWithErrors");
}

#[test]
fn each_job_has_a_redacted_log_file_with_skip_reasons_at_debug() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let container = unique_container("logs");
    Blobs::new(az).create_container(&container);
    let url = az.sas_url(&container, "racwdl");
    let sig = sas_signature(&url);
    let src = tree(2);
    run(&mut with_data(&["sync", s(src.path()), &url], data.path())).ok();
    run(&mut with_data(
        &["sync", s(src.path()), &url, "--log-level", "debug"],
        data.path(),
    ))
    .ok();
    let jobs = jobs_json(data.path());
    let log = std::fs::read_to_string(jobs[0]["log_path"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("skip: same size and modification time"),
        "{log}"
    );
    assert!(!log.contains(&sig), "the SAS signature leaked into the log");
    let first = std::fs::read_to_string(jobs[1]["log_path"].as_str().unwrap()).unwrap();
    assert!(first.contains("upload: not at the destination"), "{first}");
    assert!(
        !first.contains("skip:"),
        "debug lines only at --log-level debug"
    );
}

#[test]
fn exit_codes_for_each_class() {
    let az = azurite();
    let src = tree(1);
    let ok = blobsync(&["sync", s(src.path()), &az.url(&unique_container("exit0"))]);
    assert_eq!(ok.code, 0);
    let usage = blobsync(&[
        "sync",
        s(src.path()),
        "not-a-url-and-not-local-either-for-both",
    ]);
    assert_eq!(usage.code, 2);
    let bad_level = blobsync(&[
        "--log-level",
        "loud",
        "sync",
        s(src.path()),
        &az.url("exitx"),
    ]);
    assert_eq!(bad_level.code, 2);
    // Auth: covered with a wrong key in a_run_that_cannot_start_is_recorded_as_failed;
    // partial failure (1): the check-md5 and listing-error tests.
}

#[test]
fn an_interrupted_sync_is_cancelled_cleanly_and_the_next_run_converges() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let data = tempfile::tempdir().unwrap();
    let container = unique_container("interrupt");
    let src = tree(20);
    write(src.path(), "big/a.bin", &bytes(3, 4 * 1024 * 1024));
    write(src.path(), "big/b.bin", &bytes(4, 4 * 1024 * 1024));
    // 4 Mbit/s: about sixteen seconds for the two 4 MiB files, far longer than the
    // grace period after the interrupt.
    let child = json_with_data(
        &[
            "sync",
            s(src.path()),
            &az.url(&container),
            "--cap-mbps",
            "4",
            "--block-size-mb",
            "1",
        ],
        data.path(),
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let out: Run = child.wait_with_output().unwrap().into();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped within the grace period"
    );
    let out = Outcome::of(out).code(130);
    assert_eq!(out.status(), "Cancelled", "{}", out.dump());
    let jobs = jobs_json(data.path());
    assert_eq!(jobs[0]["status"], "Cancelled");
    // Nothing partial: every blob that exists is complete.
    for b in blobs.list(&container) {
        assert_eq!(
            b.md5,
            md5_hex(&std::fs::read(src.path().join(&b.name)).unwrap()),
            "{}",
            b.name
        );
    }
    let out = Outcome::of(run(&mut json_with_data(
        &["sync", s(src.path()), &az.url(&container)],
        data.path(),
    )))
    .ok();
    assert!(out.total("copied") > 0, "{}", out.dump());
    assert_eq!(blobs.names(&container).len(), 22, "converged");
}

#[test]
fn concurrent_runs_share_one_database() {
    let az = azurite();
    let data = tempfile::tempdir().unwrap();
    let trees: Vec<_> = (0..2).map(|_| tree(200)).collect();
    let children: Vec<_> = trees
        .iter()
        .map(|t| {
            with_data(
                &[
                    "sync",
                    s(t.path()),
                    &az.url(&unique_container("concurrent")),
                ],
                data.path(),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out: Run = c.wait_with_output().unwrap().into();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stderr.contains("database"), "{}", out.stderr);
    }
    let jobs = jobs_json(data.path());
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert_eq!(j["status"], "Completed");
        let show = run(&mut with_data(
            &[
                "jobs",
                "show",
                j["id"].as_str().unwrap(),
                "--output-type",
                "json",
            ],
            data.path(),
        ))
        .ok();
        let v: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 200);
    }
}

#[test]
fn completions_and_man_page() {
    let out = blobsync(&["completions", "bash"]).ok();
    assert!(out.stdout.contains("blobsync") && out.stdout.contains("--delete-destination"));
    let out = blobsync(&["man"]).ok();
    assert!(
        out.stdout.contains(".TH blobsync") && out.stdout.contains("sync"),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
}

/// The metrics file as name → value (labels dropped), checking the text format: every
/// sample has HELP and TYPE lines before it and its labels name source and destination.
fn metrics(path: &std::path::Path) -> std::collections::BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut helped = std::collections::BTreeSet::new();
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if line.starts_with("# TYPE ") {
            assert!(line.ends_with(" gauge"), "{line}");
            continue;
        }
        let (name, rest) = line
            .split_once('{')
            .unwrap_or_else(|| panic!("no labels: {line}"));
        let (labels, value) = rest.split_once("} ").unwrap();
        assert!(
            labels.starts_with("source=\"") && labels.contains(",destination=\""),
            "{line}"
        );
        assert!(helped.contains(name), "{name} has no HELP");
        out.insert(name.to_string(), value.parse::<f64>().unwrap());
    }
    out
}

#[test]
fn the_metrics_file_says_how_each_run_ended_and_keeps_the_last_success() {
    let az = azurite();
    let container = unique_container("metrics");
    let src = tree(3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blobsync.prom");
    blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--metrics-file",
        s(&file),
    ])
    .ok();
    let first = metrics(&file);
    assert_eq!(first["blobsync_run_success"], 1.0);
    assert_eq!(first["blobsync_run_exit_code"], 0.0);
    assert_eq!(first["blobsync_files_copied"], 3.0);
    let succeeded = first["blobsync_last_success_timestamp_seconds"];
    assert!(succeeded > 1.7e9, "{succeeded}");
    // A refused run: not a success, and the last success stays.
    let empty = tempfile::tempdir().unwrap();
    blobsync_json(&[
        "sync",
        s(empty.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--metrics-file",
        s(&file),
    ])
    .code(7);
    let second = metrics(&file);
    assert_eq!(second["blobsync_run_success"], 0.0);
    assert_eq!(second["blobsync_run_exit_code"], 7.0);
    assert_eq!(second["blobsync_last_success_timestamp_seconds"], succeeded);
    assert!(second["blobsync_run_timestamp_seconds"] >= succeeded);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "no temporary file is left beside it");
}

#[test]
fn manual_pages_are_one_per_subcommand_and_a_closed_pipe_ends_quietly() {
    let sync = blobsync(&["man", "sync"]).ok();
    assert!(
        sync.stdout.contains(".TH blobsync-sync 1"),
        "{}",
        &sync.stdout[..200]
    );
    assert!(
        sync.stdout.contains("\\-\\-delete\\-destination"),
        "the flags are there"
    );
    let nested = blobsync(&["man", "plugin", "build"]).ok();
    assert!(nested.stdout.contains(".TH blobsync-plugin-build 1"));
    assert_eq!(blobsync(&["man", "nope"]).code, 2);
    let dir = tempfile::tempdir().unwrap();
    blobsync(&["man", "--out-dir", s(dir.path())]).ok();
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for page in [
        "blobsync.1",
        "blobsync-sync.1",
        "blobsync-check.1",
        "blobsync-jobs-show.1",
    ] {
        assert!(pages.contains(&page.to_string()), "{page} in {pages:?}");
    }
    // `| head -1`: the reader has gone before the output is written.
    for args in [&["completions", "bash"][..], &["man"], &["man", "sync"]] {
        use std::os::fd::{FromRawFd, OwnedFd};
        use std::os::unix::process::ExitStatusExt;
        let mut ends = [0; 2];
        // SAFETY: pipe writes two descriptors we then own.
        assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
        // SAFETY: both were just created and are owned here.
        let (read, write) =
            unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        drop(read);
        let out = blobsync_command(args)
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let ended_by_pipe =
            out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(141);
        assert!(ended_by_pipe, "{args:?}: {:?}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
