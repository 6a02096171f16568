//! `kill -9` at random moments of an upload and of a download: whatever moment the process
//! dies, no blob and no file under its real name holds anything but its source's full
//! content, and a clean rerun converges to an identical copy.

use std::time::Duration;

use blobsync_tests::*;

/// A small xorshift generator, seeded from the clock (the seed is printed, so a failure
/// can be replayed with `BLOBSYNC_CRASH_SEED`).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("BLOBSYNC_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("crash test seed: {seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn tree() -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let src = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..24 {
        files.push((
            format!("small/f{i:02}.bin"),
            bytes(i, 1_000 + 2_000 * i as usize),
        ));
    }
    for i in 0..3 {
        files.push((format!("big/b{i}.bin"), bytes(100 + i, (3 << 20) + 12_345)));
    }
    for (name, data) in &files {
        write(src.path(), name, data);
    }
    (src, files)
}

fn kill_at_random(args: &[&str], rng: &mut Rng) {
    let mut child = spawn_blobsync(args);
    std::thread::sleep(Duration::from_millis(30 + rng.below(1500)));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn kill_9_at_random_moments_never_leaves_anything_partial() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("crash");
    let url = az.url(&container);
    let (src, sources) = tree();
    let content = |name: &str| sources.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let mut rng = Rng::new();
    let upload = [
        "sync",
        s(src.path()),
        &url,
        "--block-size-mb",
        "1",
        "--cap-mbps",
        "48",
    ];

    for round in 0..20 {
        kill_at_random(&upload, &mut rng);
        for blob in blobs.list(&container) {
            let expected =
                content(&blob.name).unwrap_or_else(|| panic!("stray blob {}", blob.name));
            assert_eq!(
                blobs.get(&container, &blob.name),
                *expected,
                "round {round}: {} is partial",
                blob.name
            );
        }
    }
    blobsync(&upload[..3]).ok();
    assert_eq!(blobs.names(&container).len(), sources.len());
    for (name, data) in &sources {
        assert_eq!(
            &blobs.get(&container, name),
            data,
            "{name} after the clean rerun"
        );
    }

    let dst = tempfile::tempdir().unwrap();
    let download = ["sync", &url, s(dst.path()), "--cap-mbps", "48"];
    for round in 0..20 {
        kill_at_random(&download, &mut rng);
        for name in files(dst.path()) {
            let visible = !name.starts_with(".blobsync-partial/");
            if visible {
                let expected = content(&name).unwrap_or_else(|| panic!("stray file {name}"));
                assert_eq!(
                    std::fs::read(dst.path().join(&name)).unwrap(),
                    *expected,
                    "round {round}: {name} is partial"
                );
            } else {
                assert!(
                    !name.contains("big") && !name.contains(".txt"),
                    "round {round}: {name}"
                );
            }
        }
    }
    blobsync(&download[..3]).ok();
    let mut expected: Vec<String> = sources.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(files(dst.path()), expected, "nothing partial is left");
    for (name, data) in &sources {
        assert_eq!(
            &std::fs::read(dst.path().join(name)).unwrap(),
            data,
            "{name}"
        );
    }
}

/// A local folder and a container synced both ways once and then changed on both sides:
/// what each path must hold on both sides once a run converges.
struct TwoWay {
    dir: tempfile::TempDir,
    container: String,
    url: String,
    /// Paths and what both sides must hold under them.
    settled: std::collections::BTreeMap<String, Vec<u8>>,
    /// Paths changed on both sides, with both versions: one keeps the name, the other
    /// is its one conflict copy, on both sides.
    conflicts: Vec<(String, [Vec<u8>; 2])>,
}

fn changed_pair(blobs: &Blobs, extra: &[&str]) -> TwoWay {
    let container = unique_container("bicrash");
    blobs.create_container(&container);
    let url = azurite().url(&container);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let name = |i: u64| format!("d{}/f{i:02}.bin", i % 3);
    let mut settled = std::collections::BTreeMap::new();
    for i in 0..20 {
        let data = bytes(i, 2_000 + 500 * i as usize);
        set_mtime(&write(root, &name(i), &data), 1_700_000_000 + i, 0);
        settled.insert(name(i), data);
    }
    let mut first = vec!["bisync", s(root), &url];
    first.extend(extra);
    blobsync(&first).ok();
    let local = |path: String, data: Vec<u8>, settled: &mut std::collections::BTreeMap<_, _>| {
        set_mtime(&write(root, &path, &data), 1_800_000_000, 0);
        settled.insert(path, data);
    };
    for i in 0..3 {
        local(name(i), bytes(100 + i, 3_000), &mut settled);
    }
    for i in 3..6 {
        let data = bytes(200 + i, 4_000);
        blobs.put(&container, &name(i), &data, &[]);
        settled.insert(name(i), data);
    }
    let mut conflicts = Vec::new();
    for i in 6..8 {
        let (mine, theirs) = (bytes(300 + i, 5_000), bytes(400 + i, 5_100));
        set_mtime(&write(root, &name(i), &mine), 1_800_000_000, 0);
        blobs.put(&container, &name(i), &theirs, &[]);
        settled.remove(&name(i));
        conflicts.push((name(i), [mine, theirs]));
    }
    for i in [8, 9] {
        std::fs::remove_file(root.join(name(i))).unwrap();
        settled.remove(&name(i));
    }
    for i in [10, 11] {
        blobs.delete(&container, &name(i));
        settled.remove(&name(i));
    }
    for k in 0..2 {
        local(
            format!("new/l{k}.bin"),
            bytes(500 + k, 3 << 20),
            &mut settled,
        );
        let data = bytes(600 + k, 1 << 20);
        blobs.put(&container, &format!("new/r{k}.bin"), &data, &[]);
        settled.insert(format!("new/r{k}.bin"), data);
    }
    TwoWay {
        dir,
        container,
        url,
        settled,
        conflicts,
    }
}

impl TwoWay {
    /// Both sides hold the same, every version the changes wrote is there — under its
    /// name, or as a conflict's one copy — and nothing else is.
    fn check(&self, blobs: &Blobs, moment: &str) {
        let root = self.dir.path();
        let here: std::collections::BTreeMap<String, Vec<u8>> = files(root)
            .into_iter()
            .filter(|n| !n.starts_with(".blobsync-partial/"))
            .map(|n| (n.clone(), std::fs::read(root.join(&n)).unwrap()))
            .collect();
        let there: std::collections::BTreeMap<String, Vec<u8>> = blobs
            .names(&self.container)
            .into_iter()
            .filter(|n| !n.starts_with(".blobsync/"))
            .map(|n| (n.clone(), blobs.get(&self.container, &n)))
            .collect();
        let names =
            |m: &std::collections::BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&here), names(&there), "{moment}: the same names");
        assert!(here == there, "{moment}: the same content");
        let mut left = here;
        for (path, data) in &self.settled {
            let held = left.remove(path);
            assert!(held.as_ref() == Some(data), "{moment}: {path}");
        }
        for (path, versions) in &self.conflicts {
            let stem = path.trim_end_matches(".bin");
            let copies: Vec<String> = left
                .keys()
                .filter(|n| n.starts_with(&format!("{stem}.conflict-")))
                .cloned()
                .collect();
            assert_eq!(
                copies.len(),
                1,
                "{moment}: one conflict copy of {path}: {copies:?}"
            );
            let mut held = [left.remove(path), left.remove(&copies[0])];
            held.sort();
            let mut want = versions.clone().map(Some);
            want.sort();
            assert!(held == want, "{moment}: both versions of {path}");
        }
        assert!(
            left.is_empty(),
            "{moment}: nothing else: {:?}",
            left.keys().collect::<Vec<_>>()
        );
    }
}

/// `kill -9` of a two-way sync at `moments` random moments, each on a fresh pair changed
/// on both sides: after each, a plain rerun (no `--resync`) ends with exit 0 and leaves
/// both sides identical with every version kept, and the run after it has nothing to do.
/// `BLOBSYNC_KILL_SWEEP=N` runs N moments per test instead.
fn bisync_killed_at_random_moments(moments: u64, extra: &[&str]) {
    let moments = std::env::var("BLOBSYNC_KILL_SWEEP")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(moments);
    let blobs = Blobs::new(azurite());
    let mut rng = Rng::new();
    for round in 0..moments {
        let pair = changed_pair(&blobs, extra);
        let mut plain = vec!["bisync", s(pair.dir.path()), &pair.url];
        plain.extend(extra);
        let mut run = plain.clone();
        run.extend(["--cap-mbps", "48"]);
        let after = 20 + rng.below(600);
        let mut child = spawn_blobsync(&run);
        std::thread::sleep(Duration::from_millis(after));
        let _ = child.kill();
        let _ = child.wait();
        let moment = format!("round {round}, killed after {after} ms");
        let rerun = blobsync(&plain);
        assert_eq!(
            rerun.code, 0,
            "{moment}: the rerun\n{}\n{}",
            rerun.stdout, rerun.stderr
        );
        eprintln!("{moment}: the rerun copied {}", rerun.summary("Copied:"));
        pair.check(&blobs, &moment);
        let quiet = blobsync_json(&plain).ok();
        assert_eq!(
            quiet.total("copied") + quiet.total("deleted"),
            0,
            "{moment}: nothing left to do: {}",
            quiet.dump()
        );
    }
}

#[test]
fn bisync_killed_at_random_moments_converges_1() {
    bisync_killed_at_random_moments(5, &[]);
}

#[test]
fn bisync_killed_at_random_moments_converges_2() {
    bisync_killed_at_random_moments(5, &[]);
}

#[test]
fn bisync_killed_at_random_moments_converges_3() {
    bisync_killed_at_random_moments(5, &[]);
}

#[test]
fn bisync_killed_at_random_moments_converges_4() {
    bisync_killed_at_random_moments(5, &[]);
}

#[test]
fn bisync_killed_at_random_moments_with_the_state_in_the_container_converges() {
    bisync_killed_at_random_moments(5, &["--state-in-container"]);
}
