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
