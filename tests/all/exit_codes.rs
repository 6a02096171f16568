//! Every exit code the reference documents (docs/src/reference/exit-codes.md) for `sync`
//! and `check`, triggered by a run that should end with it — and no code documented
//! that no run here produces.

use std::collections::BTreeMap;
use std::time::Duration;

use blobsync_tests::*;

/// The codes of the table under `## heading` of the reference page.
fn documented(heading: &str) -> Vec<i32> {
    let page =
        std::fs::read_to_string(repo_root().join("docs/src/reference/exit-codes.md")).unwrap();
    let section = page
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading} in the exit-code reference"));
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next()?.trim().parse().ok())
        .collect()
}

/// A local folder, a container holding it, and a blob URL with a broken signature.
struct Setup {
    az: &'static Azurite,
    src: tempfile::TempDir,
    container: String,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let az = azurite();
        let src = tempfile::tempdir().unwrap();
        for i in 0..4 {
            write(src.path(), &format!("f{i}.txt"), format!("{i}").as_bytes());
        }
        let container = unique_container(name);
        blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
        Setup { az, src, container }
    }

    fn src(&self) -> &str {
        s(self.src.path())
    }

    fn url(&self) -> String {
        self.az.url(&self.container)
    }

    fn forged(&self) -> String {
        let sas = account_sas();
        let signature = sas_signature(&format!("?{sas}"));
        format!(
            "{}?{}",
            self.url(),
            sas.replace(&signature, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D")
        )
    }

    /// A folder of two 4 MiB files, slow to move at 4 Mbit/s.
    fn big(&self) -> tempfile::TempDir {
        let big = tempfile::tempdir().unwrap();
        write(big.path(), "a.bin", &bytes(1, 4 << 20));
        write(big.path(), "b.bin", &bytes(2, 4 << 20));
        big
    }
}

/// Runs blobsync and interrupts it after a second and a half.
fn interrupted(args: &[&str]) -> i32 {
    let child = spawn_blobsync(args);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    Run::from(child.wait_with_output().unwrap()).code
}

fn code(args: &[&str]) -> i32 {
    let run = blobsync(args);
    eprintln!("{args:?}: exit {}\n{}", run.code, run.stderr);
    run.code
}

#[test]
fn every_documented_sync_exit_code_is_the_one_a_run_ends_with() {
    let setup = Setup::new("exit-sync");
    let (src, url) = (setup.src(), setup.url());
    let mut seen = BTreeMap::new();
    seen.insert(0, code(&["sync", src, &url]));
    let links = tempfile::tempdir().unwrap();
    write(links.path(), "ok.txt", b"ok");
    std::os::unix::fs::symlink("/nonexistent/target", links.path().join("dangling")).unwrap();
    let other = unique_container("exit-sync-links");
    seen.insert(
        1,
        code(&[
            "sync",
            s(links.path()),
            &setup.az.url(&other),
            "--follow-symlinks",
        ]),
    );
    seen.insert(2, code(&["sync", src, &url, "--max-changes", "lots"]));
    seen.insert(3, code(&["sync", src, &setup.forged()]));
    for i in 0..3 {
        write(setup.src.path(), &format!("f{i}.txt"), b"changed");
    }
    seen.insert(7, code(&["sync", src, &url, "--max-changes", "1"]));
    let big = setup.big();
    let slow = unique_container("exit-sync-slow");
    let slow_url = setup.az.url(&slow);
    seen.insert(
        8,
        code(&[
            "sync",
            s(big.path()),
            &slow_url,
            "--max-transfer",
            "1M",
            "--concurrency",
            "1",
        ]),
    );
    seen.insert(
        10,
        code(&[
            "sync",
            s(big.path()),
            &slow_url,
            "--max-duration",
            "1s",
            "--cap-mbps",
            "4",
        ]),
    );
    let slower = setup.az.url(&unique_container("exit-sync-int"));
    seen.insert(
        130,
        interrupted(&["sync", s(big.path()), &slower, "--cap-mbps", "4"]),
    );
    let expected: BTreeMap<i32, i32> = seen.keys().map(|&c| (c, c)).collect();
    assert_eq!(seen, expected, "documented code → what the run exited with");
    assert_eq!(
        documented("`blobsync sync`"),
        seen.keys().copied().collect::<Vec<_>>(),
        "the reference's sync table lists exactly these codes"
    );
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for code in seen.keys() {
        assert!(
            readme.contains(&format!("| {code} |")),
            "README lacks exit {code}"
        );
    }
}

#[test]
fn every_documented_check_exit_code_is_the_one_a_check_ends_with() {
    let setup = Setup::new("exit-check");
    let (src, url) = (setup.src(), setup.url());
    let mut seen = BTreeMap::new();
    seen.insert(0, code(&["check", src, &url]));
    seen.insert(2, code(&["check", src, &url, "--compare-hash", "SHA1"]));
    seen.insert(3, code(&["check", src, &setup.forged()]));
    let big = setup.big();
    let big_url = setup.az.url(&unique_container("exit-check-big"));
    blobsync(&["sync", s(big.path()), &big_url]).ok();
    seen.insert(
        130,
        interrupted(&[
            "check",
            s(big.path()),
            &big_url,
            "--download",
            "--cap-mbps",
            "4",
        ]),
    );
    write(setup.src.path(), "f0.txt", b"changed");
    seen.insert(1, code(&["check", src, &url]));
    let expected: BTreeMap<i32, i32> = seen.keys().map(|&c| (c, c)).collect();
    assert_eq!(
        seen, expected,
        "documented code → what the check exited with"
    );
    assert_eq!(
        documented("`blobsync check`"),
        seen.keys().copied().collect::<Vec<_>>()
    );
}
