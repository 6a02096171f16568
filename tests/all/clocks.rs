//! File systems that keep coarse modification times: a loop-mounted ext2 with 128-byte
//! inodes keeps whole seconds. Needs root (to mount); elsewhere the test says why it did
//! not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use blobsync_tests::*;

/// An ext2 file system with whole-second times, mounted until dropped.
struct CoarseMount {
    dir: PathBuf,
    _scratch: tempfile::TempDir,
}

impl CoarseMount {
    fn new() -> Result<CoarseMount, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root".into());
        }
        let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = scratch.path().join("fs.img");
        let dir = scratch.path().join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let run = |cmd: &mut Command| -> Result<(), String> {
            let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{cmd:?}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        run(Command::new("truncate").args(["-s", "16M"]).arg(&image))?;
        run(Command::new("mkfs.ext2")
            .args(["-q", "-F", "-I", "128"])
            .arg(&image))?;
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&dir))?;
        Ok(CoarseMount {
            dir,
            _scratch: scratch,
        })
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for CoarseMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn whole_second_file_systems_round_trip_without_copying_again() {
    let mount = match CoarseMount::new() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("NOT RUN: cannot mount a whole-second file system here ({why})");
            return;
        }
    };
    // The mount really keeps whole seconds.
    let probe = write(mount.path(), "probe", b"x");
    set_mtime(&probe, 1_700_000_001, 123_456_789);
    assert_eq!(
        mtime_ns(&probe) % 1_000_000_000,
        0,
        "not a whole-second file system"
    );
    std::fs::remove_file(&probe).unwrap();

    let az = azurite();
    let container = unique_container("coarse");
    // Files with nanosecond times, uploaded from a nanosecond file system.
    let fine = tempfile::tempdir().unwrap();
    for (i, name) in ["a.txt", "dir/b.txt", "c.bin"].iter().enumerate() {
        let p = write(fine.path(), name, format!("content {i}").as_bytes());
        set_mtime(&p, 1_700_000_100 + i as u64, 123_456_789);
    }
    blobsync(&["sync", s(fine.path()), &az.url(&container)]).ok();

    let local = mount.path().join("restore");
    let first = blobsync(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(first.count("Copied:"), 3);
    let second = blobsync(&["sync", &az.url(&container), s(&local)]).ok();
    assert_eq!(
        second.count("Copied:"),
        0,
        "download again: {}",
        second.stdout
    );
    assert_eq!(second.count("Up to date (skipped):"), 3);
    // And back up from the coarse file system: nothing differs either.
    let up = blobsync(&["sync", s(&local), &az.url(&container)]).ok();
    assert_eq!(up.count("Copied:"), 0, "upload again: {}", up.stdout);

    // A real change is still seen.
    let changed = write(&local, "a.txt", b"changed content");
    set_mtime(&changed, 1_700_000_500, 0);
    let run = blobsync(&["sync", s(&local), &az.url(&container)]).ok();
    assert_eq!(run.count("Copied:"), 1);
}
