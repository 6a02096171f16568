//! The local walk: how long listing a tree takes with folders read ahead on other threads
//! (the default) and with each folder read as the walk enters it, beside `find` stat'ing
//! every entry of the same tree. Median wall time of interleaved runs, warm caches (and,
//! with `BENCH_DROP_CACHES=1` as root, each run after dropping the page cache).
//!
//! `BENCH_TREE=DIR cargo bench -p blobsync --bench local_walk`
//!
//! Without `BENCH_TREE`, a tree of `BENCH_FILES` (200,000) empty files in folders of 100 is
//! made in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use blobsync::endpoint::{Endpoint, ListOrder, ListRequest, Listed, LocalEndpoint};

/// Makes `files` empty files, 100 a folder, folders 50 to a parent.
fn make_tree(root: &Path, files: usize) {
    for i in 0..files {
        let dir = root.join(format!("g{:04}/d{:06}", i / 5_000, i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).unwrap();
        }
        std::fs::File::create(dir.join(format!("f{i:07}.dat"))).unwrap();
    }
}

/// Lists `root` through blobsync's walk: the entries and the time it took.
fn walk(root: &Path, read_ahead: bool) -> (usize, Duration) {
    let endpoint = LocalEndpoint::new(root.to_path_buf(), false, false).with_read_ahead(read_ahead);
    let request = ListRequest {
        order: ListOrder::UTF16,
        ..ListRequest::default()
    };
    let started = Instant::now();
    let mut lister = endpoint.list(&request).unwrap();
    let mut entries = 0;
    while let Some(batch) = lister.next_batch() {
        entries += batch
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Listed::File(_) | Listed::Dir(_)))
            .count();
    }
    (entries, started.elapsed())
}

/// `find ROOT -mindepth 1 -printf '%s %T@\n'`: every entry stat'ed, as the walk does.
fn find(root: &Path) -> (usize, Duration) {
    let started = Instant::now();
    let out = Command::new("find")
        .arg(root)
        .args(["-mindepth", "1", "-printf", "%s %T@\n"])
        .output()
        .expect("run find");
    (
        out.stdout.iter().filter(|&&b| b == b'\n').count(),
        started.elapsed(),
    )
}

fn drop_caches() {
    if std::env::var_os("BENCH_DROP_CACHES").is_some() {
        let _ = Command::new("sync").status();
        if let Err(e) = std::fs::write("/proc/sys/vm/drop_caches", "3") {
            eprintln!("cannot drop the page cache ({e}): measuring warm");
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let scratch = tempfile::tempdir().unwrap();
    let root: PathBuf = match std::env::var_os("BENCH_TREE") {
        Some(tree) => PathBuf::from(tree),
        None => {
            let files = std::env::var("BENCH_FILES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(200_000);
            make_tree(scratch.path(), files);
            scratch.path().to_path_buf()
        }
    };
    let runs = 5;
    let (mut ahead, mut serial, mut finds) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts = (0, 0, 0);
    for _ in 0..runs {
        drop_caches();
        let (n, t) = walk(&root, true);
        ahead.push(t);
        counts.0 = n;
        drop_caches();
        let (n, t) = walk(&root, false);
        serial.push(t);
        counts.1 = n;
        drop_caches();
        let (n, t) = find(&root);
        finds.push(t);
        counts.2 = n;
    }
    let (ahead, serial, finds) = (median(ahead), median(serial), median(finds));
    println!(
        "tree: {} ({} entries; find: {})",
        root.display(),
        counts.0,
        counts.2
    );
    assert_eq!(counts.0, counts.1, "both walks list the same entries");
    let row = |name: &str, t: Duration| {
        println!(
            "{name:<28} {:>8.3} s  {:>5.2}× find",
            t.as_secs_f64(),
            t.as_secs_f64() / finds.as_secs_f64()
        )
    };
    row("walk, folders read ahead", ahead);
    row("walk, one folder at a time", serial);
    row("find -printf '%s %T@'", finds);
}
