//! A hostile network, made by a real fault-injecting proxy between blobsync and Azurite:
//! errors before and after the write happened, throttling with Retry-After, resets and
//! stalls mid-body, truncated and corrupted bodies — in both directions. A faulted run
//! ends 0 (or 1 with per-item errors where a retry cannot help), a clean rerun converges,
//! and every blob and file is byte-identical to its source when read straight from
//! Azurite. Each case prints one row of the table in the closing note.

use std::time::{Duration, Instant};

use blobsync_tests::*;

/// The files every case syncs: three small ones (single requests) and one of three blocks
/// and a 777-byte tail. Blocks and ranges go in parallel and any may reach the proxy first,
/// so body faults act within the first 500 bytes, which every piece has.
fn sources() -> Vec<(String, Vec<u8>)> {
    vec![
        ("a.txt".into(), bytes(1, 3_000)),
        ("dir/b.bin".into(), bytes(2, 40_000)),
        ("dir/c.bin".into(), bytes(3, 70_000)),
        ("big.bin".into(), bytes(4, (3 << 20) + 777)),
    ]
}

fn total() -> u64 {
    sources().iter().map(|(_, d)| d.len() as u64).sum()
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in sources() {
        write(dir.path(), &name, &data);
    }
    dir
}

/// What a faulted run did.
struct Outcome {
    code: i32,
    retries: u64,
    wall: Duration,
    resent: i64,
    summary: serde_json::Value,
    stderr: String,
}

const TIMEOUTS: [&str; 4] = ["--stall-timeout", "2s", "--try-timeout", "4s"];

fn run_through(proxy: &FaultProxy, args: &[&str], upload: bool) -> Outcome {
    proxy.reset_stats();
    let started = Instant::now();
    let run = blobsync(args);
    let wall = started.elapsed();
    let lines = json_lines(&run.stdout);
    let summary = lines
        .iter()
        .rev()
        .find(|l| l["type"] == "summary")
        .cloned()
        .unwrap_or_else(|| panic!("no summary:\n{}\n{}", run.stdout, run.stderr));
    let stats = proxy.stats();
    let moved = if upload {
        stats.request_body_bytes
    } else {
        stats.response_body_bytes
    } as i64;
    Outcome {
        code: run.code,
        retries: summary["retries"].as_u64().unwrap_or(0),
        wall,
        resent: moved - total() as i64,
        summary,
        stderr: run.stderr,
    }
}

/// One case: `fault` on requests matching `matcher`, in one direction.
fn case(name: &str, upload: bool, matcher: Match, fault: Fault, times: usize) -> Outcome {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("fault");
    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    let src = tree();
    let dst = tempfile::tempdir().unwrap();
    let direction = if upload { "upload" } else { "download" };
    if !upload {
        blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    }
    proxy.add(Rule::new(matcher, fault).times(times));
    let mut args = if upload {
        vec!["sync", s(src.path()), &through]
    } else {
        vec!["sync", &through, s(dst.path())]
    };
    args.extend(["--block-size-mb", "1", "--output-type", "json"]);
    args.extend(TIMEOUTS);
    let outcome = run_through(&proxy, &args, upload);

    // A clean rerun, straight to Azurite, converges…
    let clean = if upload {
        blobsync(&["sync", s(src.path()), &az.url(&container)])
    } else {
        blobsync(&["sync", &az.url(&container), s(dst.path())])
    };
    assert_eq!(
        clean.code, 0,
        "{name} {direction}: clean rerun\n{}",
        clean.stderr
    );
    // …and everything is byte-identical, read straight from Azurite or the disk.
    for (file, data) in sources() {
        let got = if upload {
            blobs.get(&container, &file)
        } else {
            std::fs::read(dst.path().join(&file)).unwrap()
        };
        assert!(got == data, "{name} {direction}: {file} differs");
        if upload {
            let listed = blobs.list(&container);
            let blob = listed.iter().find(|b| b.name == file).unwrap();
            assert_eq!(blob.md5, md5_hex(&data), "{name}: {file}'s Content-MD5");
        }
    }
    let hidden: Vec<String> = files(dst.path())
        .into_iter()
        .filter(|f| f.contains(".blobsync-partial"))
        .collect();
    assert!(hidden.is_empty(), "{name}: partial files left: {hidden:?}");
    eprintln!(
        "| {name} | {direction} | {} | {} | {:.1} s | {} B | yes |",
        outcome.code,
        outcome.retries,
        outcome.wall.as_secs_f64(),
        outcome.resent.max(0)
    );
    outcome
}

fn put() -> Match {
    Match::any().method("PUT").header("content-length")
}

fn put_block() -> Match {
    Match::any().method("PUT").query("comp=block")
}

fn get_big() -> Match {
    Match::any().method("GET").path("big.bin")
}

fn ok(name: &str, o: &Outcome) {
    assert_eq!(o.code, 0, "{name}: {}\n{}", o.summary, o.stderr);
    assert!(
        o.retries > 0,
        "{name}: the fault was retried ({})",
        o.summary
    );
}

#[test]
fn errors_before_the_write_are_retried() {
    let o = case(
        "500 before forwarding",
        true,
        put(),
        Fault::StatusBefore {
            status: 500,
            retry_after: None,
        },
        3,
    );
    ok("500 before, upload", &o);
    let o = case(
        "500 before forwarding",
        false,
        get_big(),
        Fault::StatusBefore {
            status: 500,
            retry_after: None,
        },
        3,
    );
    ok("500 before, download", &o);
}

#[test]
fn errors_after_the_write_are_retried_idempotently() {
    let blocklist = Match::any().method("PUT").query("comp=blocklist");
    let o = case(
        "500 after forwarding",
        true,
        blocklist,
        Fault::StatusAfter { status: 500 },
        1,
    );
    ok("500 after, upload (a commit that landed)", &o);
    let single = Match::any().method("PUT").path("a.txt");
    let o = case(
        "500 after forwarding",
        true,
        single,
        Fault::StatusAfter { status: 500 },
        1,
    );
    ok("500 after, upload (a Put Blob that landed)", &o);
    let o = case(
        "500 after forwarding",
        false,
        get_big(),
        Fault::StatusAfter { status: 500 },
        2,
    );
    ok("500 after, download", &o);
}

#[test]
fn throttling_honours_retry_after() {
    for status in [429, 503] {
        let name = format!("{status} Retry-After: 1");
        let o = case(
            &name,
            true,
            put(),
            Fault::StatusBefore {
                status,
                retry_after: Some(1),
            },
            2,
        );
        ok(&name, &o);
        assert!(
            o.wall >= Duration::from_secs(2),
            "{name}: waited {:?}",
            o.wall
        );
        // The two throttled ranges may be in flight together: they wait together.
        let o = case(
            &name,
            false,
            get_big(),
            Fault::StatusBefore {
                status,
                retry_after: Some(1),
            },
            2,
        );
        ok(&name, &o);
        assert!(
            o.wall >= Duration::from_secs(1),
            "{name}: waited {:?}",
            o.wall
        );
    }
}

#[test]
fn resets_mid_body_are_retried() {
    let o = case(
        "reset mid-request-body",
        true,
        put_block(),
        Fault::ResetRequestBody { after: 500 },
        2,
    );
    ok("reset mid-request-body", &o);
    let o = case(
        "reset mid-response-body",
        false,
        get_big(),
        Fault::ResetResponseBody { after: 500 },
        2,
    );
    ok("reset mid-response-body", &o);
    assert!(
        o.resent < 2 * (1 << 20) + 200_000,
        "only the broken ranges were fetched again: {} bytes",
        o.resent
    );
}

#[test]
fn stalls_are_abandoned_and_retried() {
    let o = case(
        "stall before the head",
        true,
        put_block(),
        Fault::StallHead {
            duration: Duration::from_secs(20),
        },
        1,
    );
    ok("stall before the head, upload", &o);
    assert!(
        o.wall < Duration::from_secs(15),
        "abandoned, not waited out: {:?}",
        o.wall
    );
    let o = case(
        "stall before the head",
        false,
        get_big(),
        Fault::StallHead {
            duration: Duration::from_secs(20),
        },
        1,
    );
    ok("stall before the head, download", &o);
    assert!(
        o.wall < Duration::from_secs(15),
        "abandoned, not waited out: {:?}",
        o.wall
    );
    let o = case(
        "stall mid-body",
        false,
        get_big(),
        Fault::StallBody {
            after: 500,
            duration: Duration::from_secs(20),
        },
        1,
    );
    ok("stall mid-body, download", &o);
    assert!(
        o.wall < Duration::from_secs(15),
        "abandoned, not waited out: {:?}",
        o.wall
    );
}

#[test]
fn truncated_and_corrupted_bodies_are_caught() {
    let o = case(
        "truncated body, full Content-Length",
        false,
        get_big(),
        Fault::Truncate { keep: 500 },
        2,
    );
    ok("truncated body", &o);
    let o = case(
        "one flipped byte",
        true,
        put_block(),
        Fault::FlipRequestByte { at: 500 },
        1,
    );
    ok("flipped byte in an uploaded block", &o);
    let single = Match::any().method("PUT").path("c.bin");
    let o = case(
        "one flipped byte",
        true,
        single,
        Fault::FlipRequestByte { at: 777 },
        1,
    );
    ok("flipped byte in a single-request upload", &o);
    // A damaged block list (a block ID) is refused as InvalidBlockList: every block was
    // staged, so the list is sent again rather than the item failed.
    let o = case(
        "one flipped byte",
        true,
        Match::any().method("PUT").query("comp=blocklist"),
        Fault::FlipRequestByte { at: 70 },
        1,
    );
    ok("flipped byte in a block list", &o);
    let o = case(
        "one flipped byte",
        false,
        get_big(),
        Fault::FlipResponseByte { at: 500 },
        1,
    );
    ok("flipped byte in a download", &o);
}

#[test]
fn a_fault_that_does_not_go_away_fails_the_item_with_its_reason_and_the_run_goes_on() {
    let az = azurite();
    let container = unique_container("persist");
    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    let src = tree();
    proxy.add(
        Rule::new(
            Match::any().method("PUT").path("c.bin"),
            Fault::StatusBefore {
                status: 503,
                retry_after: None,
            },
        )
        .always(),
    );
    let run = blobsync_json(&["sync", s(src.path()), &through, "--max-retries", "2"]).code(1);
    assert_eq!(run.failed("upload"), ["dir/c.bin"], "{}", run.dump());
    assert!(
        run.of_type("error")
            .any(|e| e["path"] == "dir/c.bin"
                && e["error"].as_str().is_some_and(|m| m.contains("503"))),
        "{}",
        run.dump()
    );
    assert_eq!(run.total("copied"), 3, "{}", run.dump());
    assert_eq!(run.done("upload"), ["a.txt", "big.bin", "dir/b.bin"]);
    assert_eq!(run.total("retries"), 2);
}

#[test]
fn an_interrupt_during_retries_ends_the_run_within_the_grace_period() {
    // Nothing listens on this port: every request is refused and retried.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let src = tree();
    let url = format!("http://127.0.0.1:{port}/{ACCOUNT}/unreachable");
    let child = blobsync_json_command(&["sync", s(src.path()), &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out: Run = child.wait_with_output().unwrap().into();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?} after the signal",
        started.elapsed()
    );
    let out = blobsync_tests::Outcome::of(out).code(130);
    assert_eq!(out.status(), "Cancelled", "{}", out.dump());
}

#[test]
fn after_an_interrupt_the_summary_counts_every_commit_that_landed() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("lostanswer");
    blobs.create_container(&container);
    let proxy = FaultProxy::start(az.port);
    let through = format!("{}/{ACCOUNT}/{container}", proxy.url());
    let src = tempfile::tempdir().unwrap();
    for i in 0..6 {
        write(
            src.path(),
            &format!("f{i}.txt"),
            format!("file {i}").as_bytes(),
        );
    }
    // Every upload lands, but its answer never comes back before the run stops.
    proxy.add(
        Rule::new(
            Match::any().method("PUT").header("x-ms-blob-type"),
            Fault::StallHead {
                duration: Duration::from_secs(60),
            },
        )
        .always(),
    );
    let child = blobsync_json_command(&["sync", s(src.path()), &through])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || blobs.names(&container).len()
            == 6),
        "the uploads landed"
    );
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let run = blobsync_tests::Outcome::of(child.wait_with_output().unwrap().into()).code(130);
    assert_eq!(run.status(), "Cancelled");
    assert_eq!(
        run.total("copied"),
        6,
        "what landed is counted: {}",
        run.dump()
    );
}
