//! Running the documentation's `sh` blocks as a reader would: in a [`Scratch`] folder,
//! against an Azurite of the page's own, with `blobsync` on `PATH`, `$SAS` holding an
//! account SAS and the docs' account URL pointing at the emulator. Blocks a page marks
//! as not run have their `blobsync` command lines parsed by blobsync's own parser.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::docs::{Block, DOCS_ACCOUNT_URL, Mark, Scratch, blocks};
use crate::{account_sas, blobsync_binary, cache_dir, pty, start_azurite};

/// How long one block may take.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(240);

/// What a block printed.
#[derive(Debug)]
pub struct BlockRun {
    /// Its exit code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs every runnable `sh` block of `page`, in order, each in a fresh shell in one scratch
/// folder against one Azurite; fails on the first that exits non-zero or runs too long.
/// Returns how many blocks ran.
pub fn run_page(page: &str) -> usize {
    let runnable: Vec<Block> = blocks(page)
        .into_iter()
        .filter(|b| b.lang == "sh" && b.mark.runs())
        .collect();
    assert!(!runnable.is_empty(), "{page} has no runnable sh block");
    let az = start_azurite(&[]);
    let scratch = Scratch::new();
    for block in &runnable {
        let script = block.text.replace(DOCS_ACCOUNT_URL, &az.endpoint());
        let run = run_shell(&script, scratch.path(), &block.mark);
        assert!(
            run.code == 0,
            "{}: the block failed (exit {}):\n{}\nstdout:\n{}\nstderr:\n{}",
            block.place(),
            run.code,
            block.text,
            tail(&run.stdout),
            tail(&run.stderr)
        );
    }
    runnable.len()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Runs `script` with `bash -e` in `dir`, as a reader's shell would (`blobsync` on
/// `PATH`, `$SAS` set, a home of its own), with a time limit — interrupted (SIGINT to
/// its process group, as Ctrl-C) after the time a [`Mark::RunFor`] gives, and with its
/// input on a terminal for [`Mark::Answering`].
pub fn run_shell(script: &str, dir: &Path, mark: &Mark) -> BlockRun {
    use std::io::Write as _;
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut shell = reader_shell(dir);
    shell
        .arg("-c")
        .arg(script)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    let mut terminal = None;
    match mark {
        Mark::Answering(_) => {
            let (master, slave) = pty(80);
            shell.stdin(Stdio::from(slave));
            terminal = Some(std::fs::File::from(master));
        }
        _ => {
            shell.stdin(Stdio::null());
        }
    }
    let mut child = shell.spawn().expect("run bash");
    if let (Some(terminal), Mark::Answering(answers)) = (&mut terminal, mark) {
        terminal.write_all(answers.as_bytes()).unwrap();
        terminal.write_all(b"\n").unwrap();
    }
    let started = Instant::now();
    let interrupt_at = match mark {
        Mark::RunFor(d) => Some(started + *d),
        _ => None,
    };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        let now = Instant::now();
        if interrupt_at.is_some_and(|at| now > at) {
            // SAFETY: signalling the process group the child leads.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
            let status = child.wait().unwrap();
            break Some(status);
        }
        if now > started + BLOCK_TIMEOUT {
            // SAFETY: signalling the process group the child leads.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(terminal);
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let mut stderr = read(&stderr);
    if status.is_none() {
        stderr.push_str(&format!("\n(killed after {BLOCK_TIMEOUT:?})"));
    }
    BlockRun {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: read(&stdout),
        stderr,
    }
}

/// `bash -e` in `dir` with a reader's environment and nothing of the test's.
fn reader_shell(dir: &Path) -> Command {
    use std::os::unix::process::CommandExt as _;
    let bin = blobsync_binary();
    let mut path = OsString::from(bin.parent().unwrap());
    path.push(":/usr/local/bin:/usr/bin:/bin");
    let mut cmd = Command::new("/bin/bash");
    cmd.args(["--noprofile", "--norc", "-e"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir.join("home"))
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb")
        .env("SAS", account_sas())
        .env("BLOBSYNC_CACHE_DIR", cache_dir())
        .process_group(0);
    cmd
}

/// Every `blobsync …` command a not-run block holds, as the shell would pass its
/// arguments (quotes removed, `$(date +%F)` and `$SAS` expanded), without running
/// anything else: only lines naming blobsync as a command are evaluated, with `blobsync`
/// a function that records its arguments and a `PATH` of harmless tools.
pub fn blobsync_invocations(block: &Block) -> Vec<Vec<OsString>> {
    invocations_in(&block.command_lines(), &block.place())
}

/// [`blobsync_invocations`] of shell command lines (`place` names them in messages).
pub fn invocations_in(lines: &[String], place: &str) -> Vec<Vec<OsString>> {
    let scratch = tempfile::tempdir().unwrap();
    let tools = scratch.path().join("tools");
    std::fs::create_dir(&tools).unwrap();
    for tool in ["date", "cat", "echo", "head", "tr", "basename", "dirname"] {
        for dir in ["/usr/bin", "/bin"] {
            let from = Path::new(dir).join(tool);
            if from.exists() {
                let _ = std::os::unix::fs::symlink(&from, tools.join(tool));
                break;
            }
        }
    }
    let capture = scratch.path().join("capture");
    let mut invocations = Vec::new();
    for line in lines {
        if !names_blobsync_as_command(line) {
            continue;
        }
        let line = without_redirections(line);
        let script = format!(
            "exec 3>\"$CAPTURE\"\n\
             blobsync() {{ {{ printf '%s\\0' blobsync \"$@\"; printf '\\1\\0'; }} >&3; }}\n\
             sudo() {{ \"$@\"; }}\n\
             {line}\n"
        );
        let _ = Command::new("/bin/bash")
            .args(["--noprofile", "--norc", "-c", &script])
            .current_dir(scratch.path())
            .env_clear()
            .env("PATH", &tools)
            .env("HOME", scratch.path())
            .env("SAS", "sv=2024-01-01&sig=REDACTED")
            .env("CAPTURE", &capture)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run bash");
        let found = split_capture(&std::fs::read(&capture).unwrap_or_default());
        assert!(
            !found.is_empty(),
            "{place}: no blobsync command could be read from: {line}"
        );
        invocations.extend(found);
    }
    invocations
}

/// `line` without its output redirections (`> FILE`, `>> FILE`, `2>&1`): a file a
/// not-run block writes may be in a folder that does not exist here.
fn without_redirections(line: &str) -> String {
    let mut out = Vec::new();
    let mut words = line.split(' ').peekable();
    while let Some(word) = words.next() {
        let bare = word.trim_start_matches(|c: char| c.is_ascii_digit());
        if bare == ">" || bare == ">>" {
            words.next();
        } else if !bare.starts_with('>') || bare.starts_with(">(") {
            out.push(word);
        }
    }
    out.join(" ")
}

/// Whether `line` runs blobsync: at its start (after `sudo`, `env` or assignments) or
/// after `&&`, `||`, `;`, `|`, `$(` or `(`.
pub fn names_blobsync_as_command(line: &str) -> bool {
    let mut rest = line.trim_start();
    loop {
        let word = rest.split_whitespace().next().unwrap_or("");
        if word == "sudo" || word == "env" || (word.contains('=') && !word.starts_with('-')) {
            rest = rest[word.len()..].trim_start();
        } else {
            break;
        }
    }
    if rest.starts_with("blobsync ") || rest == "blobsync" {
        return true;
    }
    ["&& ", "|| ", "; ", "| ", "$(", "("]
        .iter()
        .any(|sep| line.contains(&format!("{sep}blobsync ")))
}

fn split_capture(bytes: &[u8]) -> Vec<Vec<OsString>> {
    use std::os::unix::ffi::OsStringExt as _;
    let mut invocations = Vec::new();
    let mut current = Vec::new();
    for field in bytes.split(|b| *b == 0) {
        match field {
            [1] => invocations.push(std::mem::take(&mut current)),
            [] => {}
            arg => current.push(OsString::from_vec(arg.to_vec())),
        }
    }
    invocations
}

/// Parses one invocation as the blobsync binary would, through the settings a sync or
/// check is validated into; the error, as the user would see it, when refused. Relative
/// `--plugins` manifests are found under `base`. What only the place a command runs in
/// gives is taken as given once clap has read it: a terminal for
/// `--delete-destination=prompt`, and the Indexed Job's `JOB_COMPLETION_INDEX` for
/// `--shards N` (read as shard 0).
pub fn parse_invocation(args: &[OsString], base: &Path) -> Result<(), String> {
    use blobsync::cli::{Cli, Command, Environment};
    use clap::Parser as _;
    let args = blobsync::cli::join_dash_values(args.iter().cloned());
    match Cli::try_parse_from(&args) {
        Ok(_) => {}
        Err(e) if !e.use_stderr() => return Ok(()),
        Err(e) => return Err(e.to_string()),
    }
    let cli = Cli::try_parse_from(as_placed(&args, base)).map_err(|e| e.to_string())?;
    let env = Environment::capture();
    match cli.command {
        Command::Sync(args) => blobsync::cli::settings(&args, &env).map(drop),
        Command::Check(args) => blobsync::cli::check_settings(&args, &env).map(drop),
        _ => Ok(()),
    }
    .map_err(|e| e.to_string())
}

/// The arguments as if run where they are meant to run (see [`parse_invocation`]).
fn as_placed(args: &[OsString], base: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut args = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes = ["--plugins", "--shards", "--delete-destination"].contains(&flag.as_str());
        if !takes {
            out.push(arg.into());
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None if flag == "--delete-destination" => {
                out.push(arg.into());
                continue;
            }
            None => args.next().unwrap_or_default(),
        };
        let placed = match flag.as_str() {
            "--plugins" if Path::new(&value).is_relative() => {
                format!("--plugins={}", base.join(&value).display())
            }
            "--shards" => format!("--shard=0/{value}"),
            "--delete-destination" if value == "prompt" => "--delete-destination=true".into(),
            _ => format!("{flag}={value}"),
        };
        out.push(placed.into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobsync_is_found_only_where_it_runs() {
        assert!(names_blobsync_as_command("blobsync sync a b"));
        assert!(names_blobsync_as_command("sudo blobsync man --out-dir x"));
        assert!(names_blobsync_as_command("X=1 blobsync jobs list"));
        assert!(names_blobsync_as_command("cd x && blobsync jobs list"));
        assert!(!names_blobsync_as_command(
            "sudo cp examples/backup/blobsync-backup.cron /etc/cron.d/blobsync-backup"
        ));
        assert!(!names_blobsync_as_command(
            "systemctl status blobsync-backup"
        ));
        assert_eq!(
            without_redirections("blobsync completions bash > ~/x/y 2>&1 >>z"),
            "blobsync completions bash"
        );
    }
}
