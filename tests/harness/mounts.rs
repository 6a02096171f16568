//! File systems of other kinds, loop-mounted for a test: an ext2 with whole-second times
//! (128-byte inodes), exFAT through FUSE (case-insensitive), and FAT through fusefat. Mounting needs root, the
//! loop devices and FUSE; `scripts/setup.sh` installs the tools. A test that cannot mount
//! fails with the reason — unless `BLOBSYNC_TESTS_SKIP_UNAVAILABLE=1`, when it is reported
//! as not run (in its output and in `target/tmp/skipped-tests.txt`, which
//! `scripts/test.sh` prints at the end), never passed silently.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted scratch file system, unmounted (and its loop device freed) when dropped.
pub struct Mount {
    dir: PathBuf,
    device: Option<String>,
    _scratch: tempfile::TempDir,
}

impl Mount {
    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// An ext2 file system with 128-byte inodes: whole-second times, none past 2038.
    pub fn ext2_coarse() -> Result<Mount, String> {
        Mount::make("ext2", |image, dir| {
            run(Command::new("mkfs.ext2")
                .args(["-q", "-F", "-I", "128"])
                .arg(image))?;
            run(Command::new("mount")
                .args(["-o", "loop"])
                .arg(image)
                .arg(dir))?;
            Ok(None)
        })
    }

    /// An exFAT file system through FUSE (`mount.exfat-fuse`): names are
    /// case-insensitive, and the driver sets a file's time again when it is closed.
    pub fn exfat() -> Result<Mount, String> {
        Mount::make("exFAT", |image, dir| {
            run(Command::new("mkfs.exfat").arg(image))?;
            let device = output(Command::new("losetup").args(["-f", "--show"]).arg(image))?;
            if let Err(e) = run(Command::new("mount.exfat-fuse").arg(&device).arg(dir)) {
                let _ = Command::new("losetup").args(["-d", &device]).status();
                return Err(e);
            }
            Ok(Some(device))
        })
    }

    /// A FAT file system through `fusefat`: times in 2-second steps, and files cannot be
    /// sized in advance (`ftruncate` is refused).
    pub fn fusefat() -> Result<Mount, String> {
        Mount::make("FAT (fusefat)", |image, dir| {
            run(Command::new("mkfs.vfat").arg(image))?;
            run(Command::new("fusefat")
                .args(["-o", "rw+"])
                .arg(image)
                .arg(dir))?;
            Ok(None)
        })
    }

    /// A read-only tmpfs holding one empty folder, `existing`.
    pub fn read_only() -> Result<Mount, String> {
        Mount::make("a read-only tmpfs", |_, dir| {
            run(Command::new("mount")
                .args(["-t", "tmpfs", "tmpfs"])
                .arg(dir))?;
            std::fs::create_dir(dir.join("existing")).map_err(|e| e.to_string())?;
            run(Command::new("mount").args(["-o", "remount,ro"]).arg(dir))?;
            Ok(None)
        })
    }

    fn make(
        kind: &str,
        mount: impl FnOnce(&Path, &Path) -> Result<Option<String>, String>,
    ) -> Result<Mount, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(format!("mounting {kind} needs root"));
        }
        let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = scratch.path().join("fs.img");
        let dir = scratch.path().join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        run(Command::new("truncate").args(["-s", "64M"]).arg(&image))?;
        let device = mount(&image, &dir).map_err(|e| format!("cannot mount {kind}: {e}"))?;
        Ok(Mount {
            dir,
            device,
            _scratch: scratch,
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        if let Some(device) = &self.device {
            let _ = Command::new("losetup").args(["-d", device]).status();
        }
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    output(cmd).map(drop)
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// What a test needs, or `None` when it cannot have it here and skipping is allowed
/// (`BLOBSYNC_TESTS_SKIP_UNAVAILABLE=1`): the test is then recorded as not run. Without
/// that variable the test fails with the reason.
pub fn required<T>(test: &str, needed: Result<T, String>) -> Option<T> {
    let why = match needed {
        Ok(t) => return Some(t),
        Err(why) => why,
    };
    if std::env::var_os("BLOBSYNC_TESTS_SKIP_UNAVAILABLE").is_none() {
        panic!(
            "{test} cannot run here: {why}. scripts/setup.sh installs the tools the tests \
             need (mounts also need root, loop devices and FUSE); set \
             BLOBSYNC_TESTS_SKIP_UNAVAILABLE=1 to report it as not run instead"
        );
    }
    eprintln!("NOT RUN: {test}: {why}");
    let record = crate::cli::cache_dir().with_file_name("skipped-tests.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(record)
    {
        use std::io::Write as _;
        let _ = writeln!(f, "{test}: {why}");
    }
    None
}
