//! Capabilities a manifest grants one plugin at a time: `read-content` (N bytes of the
//! batch's own local files, nothing else), `allowed-outbound-hosts` (wasi:http to listed
//! origins only), `env` with `${env:NAME}` secrets (never in logs, job records or
//! `plugin inspect`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use blobsync_tests::*;

#[test]
fn read_content_gives_n_bytes_of_the_batch_files_and_nothing_else() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"0123456789");
    write(src.path(), "outside/secret.txt", b"not yours");
    let dir = tempfile::tempdir().unwrap();
    let probe = component_path("tests/fixtures/dist/wasi-probe.wasm");
    let m = manifest_named(
        dir.path(),
        "plugins.toml",
        &format!(
            "[[filter]]\nsource = \"builtin:glob-filter\"\nconfig = {{ exclude-path = \"outside\" }}\n\
             [[filter]]\nname = \"probe\"\nsource = {:?}\nread-content = {{ max-bytes = 4 }}\n\
             config = {{ read = \"../../etc/passwd;/etc/passwd;outside/secret.txt;a.txt/../outside/secret.txt\" }}\n",
            probe.display().to_string()
        ),
    );
    let run = blobsync(&["plugin", "try", &m, s(src.path()), "--log-level", "warn"]).ok();
    let stderr = &run.stderr;
    assert!(stderr.contains("probe: read a.txt: 4 bytes"), "{stderr}");
    for refused in [
        "../../etc/passwd",
        "/etc/passwd",
        "outside/secret.txt",
        "a.txt/../outside/secret.txt",
    ] {
        let needle = format!(
            "probe: read {refused}: error: {refused:?} is not a local source file of the batch"
        );
        assert!(stderr.contains(&needle), "missing {needle:?} in:\n{stderr}");
    }

    // Without the grant, nothing is readable.
    let m = manifest_named(
        dir.path(),
        "ungranted.toml",
        &format!(
            "[[filter]]\nname = \"probe\"\nsource = {:?}\nconfig = {{ read = \"\" }}\n",
            probe.display().to_string()
        ),
    );
    let run = blobsync(&["plugin", "try", &m, s(src.path()), "--log-level", "warn"]).ok();
    assert!(
        run.stderr
            .contains("probe: read a.txt: error: this plugin may not read file contents"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_secret_scanner_keeps_keys_out_and_says_why() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "notes.md", b"nothing secret");
    write(
        src.path(),
        "deploy/id_ed25519",
        b"comment\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n",
    );
    write(
        src.path(),
        "app/.env",
        b"X=1\nY=2\nAWS_KEY=AKIAIOSFODNN7EXAMPLE\n",
    );
    write(
        src.path(),
        "late.txt",
        &[b"x".repeat(70_000).as_slice(), b"AKIAIOSFODNN7EXAMPLE"].concat(),
    );
    let manifest = repo_root().join("examples/secret-scanner.toml");
    let run = blobsync(&["plugin", "try", s(&manifest), s(src.path())]).ok();
    for needle in [
        "deploy/id_ed25519                        excluded by secret-scanner: secret-scanner: contains a private key (line 2)",
        "app/.env                                 excluded by secret-scanner: secret-scanner: contains an AWS access key id (line 3)",
        "notes.md                                 included",
        // Past the 64 KiB the manifest grants: not seen.
        "late.txt                                 included",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_secret_scanner_reads_content_in_a_real_sync() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("scan");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "notes.md", b"nothing secret");
    write(
        src.path(),
        "deploy/id_ed25519",
        b"comment\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n",
    );
    let manifest = repo_root().join("examples/secret-scanner.toml");
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        s(&manifest),
        "-v",
    ])
    .ok();
    assert_eq!(blobs.names(&container), ["notes.md"]);
    assert!(
        run.stdout.contains("deploy/id_ed25519")
            && run.stdout.contains("contains a private key (line 2)"),
        "{}",
        run.stdout
    );
}

/// The requests a test server received: each one's first line and body.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback HTTP server answering 204 and keeping each request's first line and body.
fn http_server() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap_or(0);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock().unwrap().push((
                first.trim().to_string(),
                String::from_utf8_lossy(&body).to_string(),
            ));
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (port, seen)
}

fn webhook_manifest(dir: &Path, allowed_port: u16) -> String {
    let text = std::fs::read_to_string(repo_root().join("examples/webhook.toml"))
        .unwrap()
        .replace(
            "\"plugins/dist/webhook.wasm\"",
            &format!(
                "{:?}",
                component_path("examples/plugins/dist/webhook.wasm")
                    .display()
                    .to_string()
            ),
        )
        .replace(
            "\"https://hooks.example.com\"",
            &format!("\"http://127.0.0.1:{allowed_port}\""),
        );
    let p = dir.join("webhook.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn the_webhook_reaches_the_allowed_server_and_secrets_stay_out_of_logs_and_records() {
    let (port, seen) = http_server();
    let az = azurite();
    let container = unique_container("webhook");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    write(src.path(), "b.txt", b"bravo");
    let dir = tempfile::tempdir().unwrap();
    let m = webhook_manifest(dir.path(), port);
    let secret = format!("tok-{}-Zq8", std::process::id());
    let url = format!("http://127.0.0.1:{port}/hooks/{secret}");
    let run: Run = blobsync_command(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        &m,
        "--log-level",
        "trace",
        "--output-type",
        "json",
    ])
    .env("WEBHOOK_URL", &url)
    .output()
    .unwrap()
    .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}\n{}", run.stderr);
    let (line, body) = &requests[0];
    assert_eq!(line, &format!("POST /hooks/{secret} HTTP/1.1"));
    let summary: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["copied"], 2);
    assert!(summary["failures"].is_array(), "{summary}");
    let job = summary["job_id"].as_str().unwrap();
    assert!(run.stdout.contains(job), "the summary is this run's");

    // The secret is in no log line, output, job record or job log.
    assert!(!run.stdout.contains(&secret), "stdout has the secret");
    assert!(
        !run.stderr.contains(&secret),
        "stderr (trace) has the secret"
    );
    assert!(
        run.stderr.contains("summary posted (HTTP 204)"),
        "{}",
        run.stderr
    );
    for file in files_below(&data_dir()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "{} has the secret",
            file.display()
        );
    }
    let inspect = blobsync_command(&["plugin", "inspect", &m])
        .env("WEBHOOK_URL", &url)
        .output()
        .unwrap();
    let inspect: Run = inspect.into();
    assert!(
        inspect.stdout.contains("url = \"${env:WEBHOOK_URL}\""),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("granted: env = [WEBHOOK_URL]"),
        "{}",
        inspect.stdout
    );
    assert!(!inspect.stdout.contains(&secret));
}

#[test]
fn the_webhook_is_refused_for_another_port() {
    let (allowed, _) = http_server();
    let (other, other_seen) = http_server();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    let dir = tempfile::tempdir().unwrap();
    let m = webhook_manifest(dir.path(), allowed);
    let run: Run = blobsync_command(&["plugin", "try", &m, s(src.path())])
        .env("WEBHOOK_URL", format!("http://127.0.0.1:{other}/hooks/x"))
        .output()
        .unwrap()
        .into();
    assert_eq!(
        run.code, 0,
        "a hook's failure does not fail the run: {}",
        run.stderr
    );
    assert!(
        other_seen.lock().unwrap().is_empty(),
        "nothing reached the other port"
    );
    assert!(
        run.stderr.contains(&format!(
            "refused an HTTP request to http://127.0.0.1:{other}: its `allowed-outbound-hosts` \
             are http://127.0.0.1:{allowed}"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("cannot post the summary: blobsync refused the request"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_secret_from_an_unlisted_variable_is_a_load_error_that_names_no_value() {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest_named(
        dir.path(),
        "plugins.toml",
        &format!(
            "[[hook]]\nname = \"webhook\"\nsource = {:?}\nconfig = {{ url = \"${{env:HOME}}\" }}\n",
            component_path("examples/plugins/dist/webhook.wasm")
                .display()
                .to_string()
        ),
    );
    let run: Run = blobsync_command(&["plugin", "try", &m, s(dir.path())])
        .env("HOME", "/very/secret/home")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("uses ${env:HOME}, but `HOME` is not listed in the plugin's `env`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("/very/secret/home"));
}

fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_below(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
