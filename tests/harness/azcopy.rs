//! The real azcopy, for interoperability tests.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{Run, repo_root};

/// The azcopy binary that scripts/setup.sh installs (npm `@azure-tools/azcopy-linux`).
pub fn azcopy_binary() -> PathBuf {
    let p = repo_root()
        .join(".tools/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64");
    assert!(
        p.exists(),
        "azcopy is not installed at {}: run scripts/setup.sh",
        p.display()
    );
    p
}

/// Runs azcopy with its logs and plans in a scratch folder, and stdin an open pipe that
/// is never written (with stdin at end of file azcopy busy-waits).
pub fn azcopy(args: &[&str]) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = Command::new(azcopy_binary())
        .args(args)
        .env("AZCOPY_LOG_LOCATION", scratch.path().join("logs"))
        .env("AZCOPY_JOB_PLAN_LOCATION", scratch.path().join("plans"))
        .env("AZCOPY_DISABLE_SYSLOG", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run azcopy");
    let stdin = child.stdin.take();
    let out = child.wait_with_output().expect("azcopy output");
    drop(stdin);
    out.into()
}
