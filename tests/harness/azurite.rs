//! A real Azurite blob service on a free loopback port, started and stopped by the tests.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{ACCOUNT, Blobs, container_sas, repo_root, wait_for};

/// A running Azurite blob service.
pub struct Azurite {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
}

impl Azurite {
    /// `http://127.0.0.1:PORT/devstoreaccount1`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// A container URL without credentials (blobsync then uses the dev key).
    pub fn url(&self, container: &str) -> String {
        format!("{}/{container}", self.endpoint())
    }

    /// A container URL with a container SAS.
    pub fn sas_url(&self, container: &str, perms: &str) -> String {
        format!(
            "{}?{}",
            self.url(container),
            container_sas(container, perms)
        )
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// The Azurite executable: `BLOBSYNC_AZURITE`, else `.tools/node_modules/.bin/azurite-blob`.
pub fn azurite_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BLOBSYNC_AZURITE") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".tools/node_modules/.bin/azurite-blob");
    assert!(
        p.exists(),
        "Azurite is not installed at {}: run scripts/setup.sh (the README's test command does)",
        p.display()
    );
    p
}

/// Starts an Azurite with `args` on a free port; it is killed when the test process exits.
pub fn start_azurite(extra: &[&str]) -> Azurite {
    start_azurite_with(extra, false)
}

/// Starts an Azurite; with `https`, readiness is checked by connecting only.
pub fn start_azurite_with(extra: &[&str], https: bool) -> Azurite {
    for _ in 0..5 {
        if let Some(azurite) = try_start_azurite(free_port(), extra, https) {
            return azurite;
        }
    }
    panic!("Azurite did not start (tried 5 ports)");
}

impl Azurite {
    /// Kills this Azurite (for tests of outages); everything it stored is lost.
    pub fn kill(&self) {
        // SAFETY: kill(2) on a process this test started.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
        }
        wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        });
    }

    /// Starts a new, empty Azurite on the same port.
    pub fn restart(&mut self) {
        for _ in 0..50 {
            if let Some(a) = try_start_azurite(self.port, &[], false) {
                self.pid = a.pid;
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Azurite did not restart on port {}", self.port);
    }
}

fn try_start_azurite(port: u16, extra: &[&str], https: bool) -> Option<Azurite> {
    let binary = azurite_binary();
    {
        let workdir = tempfile::tempdir().expect("temp dir").keep();
        let mut args: Vec<String> = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // In memory, unless the caller keeps the data in a folder (to survive a restart).
        if !extra.contains(&"--location") {
            args.push("--inMemoryPersistence".into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let (tx, rx) = std::sync::mpsc::channel();
        let binary = binary.clone();
        // The child is spawned from a thread that lives as long as the process, with
        // PR_SET_PDEATHSIG, so Azurite dies with the test binary however it ends.
        std::thread::spawn(move || {
            use std::os::unix::process::CommandExt;
            let mut cmd = Command::new(&binary);
            cmd.args(&args)
                .current_dir(&workdir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            // SAFETY: prctl is async-signal-safe and touches no Rust state.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            match cmd.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.id()));
                    let stderr = child.stderr.take();
                    if let Some(stderr) = stderr {
                        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                            eprintln!("azurite: {line}");
                        }
                    }
                    let _ = child.wait();
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let pid = rx
            .recv()
            .expect("spawn thread reports")
            .expect("start azurite");
        let azurite = Azurite { port, pid };
        let ready = if https {
            wait_for(Duration::from_secs(30), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
        } else {
            wait_ready(&azurite)
        };
        if ready {
            return Some(azurite);
        }
        azurite.kill();
        None
    }
}

fn wait_ready(azurite: &Azurite) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", azurite.port)).is_ok() {
            let blobs = Blobs::new(azurite);
            if blobs.list_containers_ok() {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The Azurite shared by the tests of this process.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| start_azurite(&[]))
}

/// A container name unique to this test process.
pub fn unique_container(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{}-{}-{n}", &p[..p.len().min(40)], std::process::id())
}
