//! Running the `blobsync` binary with an isolated environment, and reading its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The `blobsync` binary built by `cargo test` (or `BLOBSYNC_BIN`).
pub fn blobsync_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BLOBSYNC_BIN") {
        return PathBuf::from(p);
    }
    // tests/…/target/debug/deps/all-HASH → target/debug/blobsync
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let p = dir.join("blobsync");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The result of running blobsync.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// A line of the text summary, e.g. `summary("Copied:")` → "3 (1.00 KiB)".
    pub fn summary(&self, label: &str) -> String {
        self.stdout
            .lines()
            .find_map(|l| {
                l.trim_start()
                    .strip_prefix(label)
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {label:?} in the output:\n{}\n{}",
                    self.stdout, self.stderr
                )
            })
    }

    /// The count at the start of a summary line.
    pub fn count(&self, label: &str) -> u64 {
        let v = self.summary(label);
        v.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Asserts a zero exit code, printing the output otherwise.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "blobsync failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

/// A `blobsync` command with a clean, isolated environment.
pub fn blobsync_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(blobsync_binary());
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("AZURE_STORAGE_KEY")
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env_remove("AZCOPY_CONCURRENCY_VALUE")
        .env_remove("BLOBSYNC_LOG")
        .env("BLOBSYNC_CACHE_DIR", cache_dir())
        .env("BLOBSYNC_DATA_DIR", data_dir());
    cmd
}

/// The data directory (database, job logs) of this test process's runs.
pub fn data_dir() -> PathBuf {
    cache_dir().with_file_name(format!("blobsync-data-{}", std::process::id()))
}

/// Runs `blobsync ARGS`.
pub fn blobsync(args: &[&str]) -> Run {
    blobsync_command(args)
        .output()
        .expect("run blobsync")
        .into()
}

/// The compiled-plugin cache shared by the tests of this run (under the target dir).
pub fn cache_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/all-HASH → target/tmp/blobsync-cache
    let target = exe.ancestors().nth(3).unwrap_or(Path::new("."));
    target.join("tmp").join("blobsync-cache")
}

/// Runs blobsync with stdin on a pseudo-terminal (so it may prompt), with `answers`
/// already typed.
pub fn blobsync_with_terminal(args: &[&str], answers: &str) -> Run {
    use std::io::Write as _;
    let (master, slave) = pty(80);
    let child = blobsync_command(args)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn blobsync");
    let mut writer = std::fs::File::from(master);
    writer.write_all(answers.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(writer);
    out.into()
}

/// Runs blobsync with stderr (and stdin) on a pseudo-terminal 160 columns wide, as a
/// person at a terminal sees it; returns the exit code and everything written to the
/// terminal (stdout is captured apart).
pub fn blobsync_on_terminal(args: &[&str]) -> (Run, String) {
    use std::io::Read as _;
    let (master, slave) = pty(160);
    let child = blobsync_command(args)
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn blobsync");
    let mut terminal = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last writer (the child) has gone.
        while let Ok(n) = terminal.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = child.wait_with_output().unwrap();
    let seen = reader.join().unwrap();
    (out.into(), seen)
}

/// A pseudo-terminal `cols` columns wide (40 rows): its master and slave ends.
pub fn pty(cols: u16) -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own; `size` outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just created and are owned here.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Starts blobsync in the background.
pub fn spawn_blobsync(args: &[&str]) -> std::process::Child {
    blobsync_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn blobsync")
}

/// Waits up to `timeout` for `condition`.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Parses JSON-lines output (one object per line); a line that is not JSON fails the test
/// and shows it.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}
