//! `--shard K/N` and `--shards N` (K from `JOB_COMPLETION_INDEX`): N processes run at once
//! and together do exactly what one run does — each path written or deleted once, by the
//! shard it hashes to — and each job record names its shard.

use std::collections::BTreeMap;

use blobsync_tests::*;

const SHARDS: u32 = 4;

/// What one job did, from its record (`jobs show --output-type json`).
struct Job {
    shard: Option<String>,
    totals: BTreeMap<&'static str, i64>,
    /// (action, path) of each successful copy or delete.
    writes: Vec<(String, String)>,
}

const TOTALS: &[&str] = &[
    "source_files",
    "destination_files",
    "up_to_date",
    "copied",
    "bytes_copied",
    "deleted",
    "failed",
];

fn job(run: &Outcome) -> Job {
    let id = run.summary()["job"].as_str().unwrap().to_string();
    let show = blobsync(&["jobs", "show", &id, "--output-type", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    let writes = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "Success")
        .map(|i| {
            (
                i["action"].as_str().unwrap().to_string(),
                i["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Job {
        shard: v["shard"].as_str().map(String::from),
        totals: TOTALS
            .iter()
            .map(|k| (*k, v[*k].as_i64().unwrap()))
            .collect(),
        writes,
    }
}

/// Runs `args` as `SHARDS` processes at once: with `--shard K/N`, or with `--shards N` and
/// `JOB_COMPLETION_INDEX=K` as a Kubernetes Indexed Job sets it.
fn run_shards(args: &[&str], kubernetes: bool) -> Vec<Outcome> {
    let children: Vec<_> = (0..SHARDS)
        .map(|k| {
            let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let mut cmd = if kubernetes {
                args.extend(["--shards".into(), SHARDS.to_string()]);
                let mut cmd =
                    blobsync_json_command(&args.iter().map(String::as_str).collect::<Vec<_>>());
                cmd.env("JOB_COMPLETION_INDEX", k.to_string());
                cmd
            } else {
                args.extend(["--shard".into(), format!("{k}/{SHARDS}")]);
                blobsync_json_command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            };
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn blobsync")
        })
        .collect();
    children
        .into_iter()
        .map(|c| Outcome::of(c.wait_with_output().unwrap().into()).ok())
        .collect()
}

/// Checks that the shards' jobs add up to the single run's: the same writes, none twice,
/// the same totals, each record naming its shard.
fn assert_shards_add_up(single: &Outcome, shards: &[Outcome]) {
    let single = job(single);
    assert_eq!(single.shard, None);
    let mut union: Vec<(String, String)> = Vec::new();
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    let mut busy = 0;
    for (k, run) in shards.iter().enumerate() {
        let job = job(run);
        assert_eq!(job.shard.as_deref(), Some(&*format!("{k}/{SHARDS}")));
        assert_eq!(
            run.summary()["shard"].as_str(),
            Some(&*format!("{k}/{SHARDS}")),
            "{}",
            run.dump()
        );
        busy += usize::from(!job.writes.is_empty());
        union.extend(job.writes);
        for (name, n) in job.totals {
            *sums.entry(name).or_default() += n;
        }
    }
    assert!(busy >= 3, "the work is spread over the shards");
    let mut sorted = union.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        union.len(),
        "a path was written twice: {union:?}"
    );
    let mut expected = single.writes.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(sums, single.totals);
}

/// A tree of 40 files; the first 10 are then synced to `container` and changed, and
/// `container` gets 12 blobs the source does not have.
fn source_and_destination(container: &str) -> tempfile::TempDir {
    let az = azurite();
    let blobs = Blobs::new(az);
    let src = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            src.path(),
            &format!("d{}/file-{i}.bin", i % 5),
            &bytes(i, 100 + i as usize * 37),
        );
    }
    blobs.create_container(container);
    for i in 0..10 {
        let name = format!("d{}/file-{i}.bin", i % 5);
        let data = if i % 2 == 0 {
            std::fs::read(src.path().join(&name)).unwrap()
        } else {
            b"an older version".to_vec()
        };
        blobs.put(container, &name, &data, &[]);
    }
    for i in 0..12 {
        blobs.put(container, &format!("stale/{i}.txt"), b"stale", &[]);
    }
    src
}

#[test]
fn four_shards_upload_and_delete_exactly_what_one_run_does() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (one, many) = (
        unique_container("shard-one"),
        unique_container("shard-many"),
    );
    let src = source_and_destination(&one);
    source_and_destination(&many);
    // The same source for both (the second call wrote a tree of its own).
    let flags = ["--delete-destination=true"];
    let single =
        blobsync_json(&[&["sync", s(src.path()), &az.url(&one)], &flags[..]].concat()).ok();
    assert_eq!(single.total("deleted"), 12, "{}", single.dump());
    let mut stale: Vec<String> = (0..12).map(|i| format!("stale/{i}.txt")).collect();
    stale.sort();
    assert_eq!(single.done("delete"), stale);
    let shards = run_shards(
        &[&["sync", s(src.path()), &az.url(&many)], &flags[..]].concat(),
        false,
    );
    assert_shards_add_up(&single, &shards);
    let listing = |c: &str| {
        blobs
            .list(c)
            .into_iter()
            .map(|b| (b.name, b.md5))
            .collect::<Vec<_>>()
    };
    assert_eq!(listing(&many), listing(&one));
    // Together they are done: every shard finds nothing more to do.
    for run in run_shards(&["sync", s(src.path()), &az.url(&many)], false) {
        assert_eq!(run.total("copied"), 0, "{}", run.dump());
    }
}

#[test]
fn four_indexed_job_pods_download_exactly_what_one_run_does() {
    let az = azurite();
    let container = unique_container("shard-down");
    let src = source_and_destination(&container);
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let (one, many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dst in [&one, &many] {
        write(dst.path(), "d1/file-1.bin", b"local and outdated");
        write(dst.path(), "only-here/x.txt", b"deleted by the sync");
        write(dst.path(), "only-here/y.txt", b"deleted by the sync");
    }
    let flags = ["--delete-destination=true"];
    let single =
        blobsync_json(&[&["sync", &az.url(&container), s(one.path())], &flags[..]].concat()).ok();
    assert_eq!(single.total("deleted"), 2, "{}", single.dump());
    assert_eq!(
        single.done("delete"),
        ["only-here/x.txt", "only-here/y.txt"]
    );
    let shards = run_shards(
        &[&["sync", &az.url(&container), s(many.path())], &flags[..]].concat(),
        true,
    );
    assert_shards_add_up(&single, &shards);
    assert_eq!(files(many.path()), files(one.path()));
    for f in files(one.path()) {
        assert_eq!(
            std::fs::read(many.path().join(&f)).unwrap(),
            std::fs::read(one.path().join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn bad_shards_are_usage_errors_naming_the_flag() {
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    let url = az.url(&unique_container("shard-bad"));
    for (flags, needle) in [
        (&["--shard", "5/4"][..], "--shard \"5/4\""),
        (&["--shard", "0/0"][..], "--shard \"0/0\""),
        (&["--shards", "4"][..], "--shards 4"),
        (
            &["--shard", "1/4", "--shards", "4"][..],
            "--shard K/N and --shards N",
        ),
    ] {
        let run = blobsync(&[&["sync", s(src.path()), &url], flags].concat());
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{flags:?}: {}", run.stderr);
    }
    let mut cmd = blobsync_command(&["sync", s(src.path()), &url, "--shards", "4"]);
    let run = Run::from(cmd.env("JOB_COMPLETION_INDEX", "7").output().unwrap());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("JOB_COMPLETION_INDEX=7"),
        "{}",
        run.stderr
    );
    assert!(!Blobs::new(az).container_exists(url.rsplit('/').next().unwrap()));
}
