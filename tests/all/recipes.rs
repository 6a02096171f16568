//! The scheduled-job examples as cron, systemd and Kubernetes would read them: cron files
//! by cron's rules, systemd units by `systemd-analyze verify` (failing on any warning),
//! Kubernetes manifests strictly into the API types; the nightly backup script run as cron
//! runs it; and the blobsync command lines all of them hold, parsed by blobsync.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use blobsync_tests::cron::{CronTable, parse_cron};
use blobsync_tests::doc_runner::{self, parse_invocation};
use blobsync_tests::docs::{blocks, doc_pages};
use blobsync_tests::kube::{KubeObject, parse_manifest};
use blobsync_tests::*;
use k8s_openapi::api::core::v1::PodTemplateSpec;

fn example(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `blobsync` invocations of a command line that names the binary by its path, as
/// the shell would pass their arguments.
fn blobsync_args(command: &str, place: &str) -> Vec<Vec<OsString>> {
    let line = command.replace("/usr/local/bin/blobsync", "blobsync");
    if !doc_runner::names_blobsync_as_command(&line) {
        return Vec::new();
    }
    doc_runner::invocations_in(&[line], place)
}

/// The value of each metric `name` in a Prometheus text file.
fn metric(path: &Path, name: &str) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// Every cron file — in `examples/` and shown in the docs — is one cron reads as meant.
#[test]
fn cron_files_follow_crons_rules() {
    let mut files = vec![(
        "examples/backup/blobsync-backup.cron".to_string(),
        example("examples/backup/blobsync-backup.cron"),
    )];
    for page in doc_pages() {
        for block in blocks(&page).into_iter().filter(|b| b.lang == "cron") {
            files.push((block.place(), block.expanded()));
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let mut problems = Vec::new();
    for (place, text) in &files {
        match parse_cron(text, CronTable::System) {
            Ok(entries) => {
                assert!(!entries.is_empty(), "{place}: no entry");
                for entry in entries {
                    let at = format!("{place}:{}", entry.line);
                    for args in blobsync_args(&entry.command, &at) {
                        if let Err(e) = parse_invocation(&args, &repo_root()) {
                            problems.push(format!("{at}: {e}"));
                        }
                    }
                }
            }
            Err(errors) => problems.extend(errors.into_iter().map(|e| format!("{place}: {e}"))),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The backup entry runs the script the docs install.
    let entries = parse_cron(
        &example("examples/backup/blobsync-backup.cron"),
        CronTable::System,
    )
    .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.command == "/usr/local/lib/blobsync/nightly-backup.sh")
    );
}

/// `systemd-analyze verify` on each unit, with its programs where the unit expects them
/// replaced by the repository's script and the built binary; any line it prints fails
/// (it exits 0 on an unknown key).
#[test]
fn systemd_units_verify_without_a_warning() {
    let Some(analyze) = required("systemd_units_verify", systemd_analyze()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("examples/backup/nightly-backup.sh");
    let binary = blobsync_binary();
    let units = [
        "blobsync-backup.service",
        "blobsync-backup.timer",
        "blobsync-watch.service",
    ];
    for unit in units {
        let text = example(&format!("examples/systemd/{unit}"))
            .replace(
                "/usr/local/lib/blobsync/nightly-backup.sh",
                &script.display().to_string(),
            )
            .replace("/usr/local/bin/blobsync", &binary.display().to_string());
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    for unit in units {
        let out = Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(dir.path().join(unit))
            .env("SYSTEMD_LOG_COLOR", "0")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        // Outside a booted systemd the verifier says so; that is not about the unit.
        let complaints: Vec<&str> = said
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("System has not been booted"))
            .collect();
        assert!(
            out.status.success() && complaints.is_empty(),
            "systemd-analyze verify {unit}:\n{said}"
        );
    }
}

fn systemd_analyze() -> Result<std::path::PathBuf, String> {
    ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| "systemd-analyze is not installed (Debian package systemd)".to_string())
}

/// What each unit promises a scheduler: the backup treats only a busy lock (75) as
/// success, so refusals (7) and failures alert; the watch service does not restart on a
/// configuration or credential error; the commands parse.
#[test]
fn systemd_units_treat_refusals_as_failures() {
    let backup = example("examples/systemd/blobsync-backup.service");
    let key = |text: &str, key: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(key(&backup, "SuccessExitStatus"), ["75"]);
    assert_eq!(key(&backup, "StateDirectory"), ["blobsync"]);
    assert!(
        key(&backup, "Environment").contains(&"BLOBSYNC_DATA_DIR=/var/lib/blobsync".to_string())
    );
    let watch = example("examples/systemd/blobsync-watch.service");
    assert_eq!(key(&watch, "RestartPreventExitStatus"), ["2 3"]);
    let execs = key(&watch, "ExecStart");
    assert_eq!(execs.len(), 1);
    for args in blobsync_args(&execs[0], "blobsync-watch.service") {
        parse_invocation(&args, &repo_root()).unwrap_or_else(|e| panic!("{}: {e}", execs[0]));
    }
}

fn manifest(path: &str) -> Vec<KubeObject> {
    parse_manifest(&example(path)).unwrap_or_else(|errors| panic!("{path}:\n{}", errors.join("\n")))
}

/// The pod template of a Job or CronJob, and its failure policy's exit codes by action.
fn job_parts(object: &KubeObject) -> (PodTemplateSpec, Vec<(String, Vec<i32>)>) {
    let spec = match object {
        KubeObject::Job(job) => job.spec.clone().unwrap(),
        KubeObject::CronJob(cron) => cron.spec.clone().job_template.spec.unwrap(),
        other => panic!("not a job: {other:?}"),
    };
    let rules = spec
        .pod_failure_policy
        .map(|p| p.rules)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| Some((r.action, r.on_exit_codes?.values)))
        .collect();
    (spec.template, rules)
}

/// Every manifest reads strictly into the API types, and they fit together and with the
/// rest of the repository: the image the Containerfile builds, its user, the service
/// account and volume claim, exit codes as the docs define them, arguments blobsync takes.
#[test]
fn kubernetes_manifests_are_valid_api_objects_that_fit_together() {
    let shared = manifest("examples/kubernetes/serviceaccount.yaml");
    let account = shared
        .iter()
        .find_map(|o| match o {
            KubeObject::ServiceAccount(sa) => sa.metadata.name.clone(),
            _ => None,
        })
        .unwrap();
    let claims: BTreeSet<String> = shared
        .iter()
        .filter_map(|o| match o {
            KubeObject::PersistentVolumeClaim(c) => c.metadata.name.clone(),
            _ => None,
        })
        .collect();
    let containerfile = example("Containerfile");
    let version = env!("CARGO_PKG_VERSION");
    let image = format!("blobsync:{version}");
    assert!(
        containerfile.contains(&format!("-t {image}")),
        "the Containerfile's build command tags {image}"
    );
    assert!(containerfile.contains("USER 10001"));
    for path in [
        "examples/kubernetes/cronjob.yaml",
        "examples/kubernetes/indexed-job.yaml",
    ] {
        for object in manifest(path) {
            let (template, rules) = job_parts(&object);
            let pod = template.spec.unwrap();
            assert_eq!(pod.service_account_name.as_deref(), Some(account.as_str()));
            let container = &pod.containers[0];
            assert_eq!(container.image.as_deref(), Some(image.as_str()), "{path}");
            let fail: Vec<i32> = rules
                .iter()
                .filter(|(action, _)| action == "FailJob")
                .flat_map(|(_, codes)| codes.clone())
                .collect();
            assert_eq!(
                fail,
                [2, 3, 7],
                "{path}: configuration, credentials, refusals"
            );
            assert!(
                !rules.iter().any(|(_, codes)| codes.contains(&1)),
                "{path}: exit 1 is retried"
            );
            if let Some(security) = pod.security_context {
                assert_eq!(security.run_as_user, Some(10001), "{path}");
            }
            for volume in pod.volumes.unwrap_or_default() {
                if let Some(claim) = volume.persistent_volume_claim
                    && claim.claim_name.starts_with("blobsync")
                {
                    assert!(claims.contains(&claim.claim_name), "{path}: {claim:?}");
                }
            }
            let mut args = vec![OsString::from("blobsync")];
            args.extend(
                container
                    .args
                    .clone()
                    .unwrap()
                    .into_iter()
                    .map(OsString::from),
            );
            parse_invocation(&args, &repo_root()).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}

/// The Indexed Job runs one shard per completion index: its completions match `--shards`,
/// and blobsync given the Job's arguments and an index acts as that shard (the run then
/// stops at the credentials, which only exist in a cluster: exit 3).
#[test]
fn the_indexed_job_runs_one_shard_per_completion_index() {
    let objects = manifest("examples/kubernetes/indexed-job.yaml");
    let KubeObject::Job(job) = &objects[0] else {
        panic!("not a Job");
    };
    let spec = job.spec.clone().unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let completions = spec.completions.unwrap();
    let args = spec.template.spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap();
    assert!(
        args.contains(&format!("--shards={completions}")),
        "{args:?}"
    );
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--dry-run");
    let run = Run::from(
        blobsync_command(&args)
            .env("JOB_COMPLETION_INDEX", "5")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_FEDERATED_TOKEN_FILE")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let shard = json_lines(&run.stdout)
        .into_iter()
        .find_map(|e| e.get("shard").and_then(|s| s.as_str()).map(str::to_string));
    assert_eq!(shard, Some(format!("5/{completions}")), "{}", run.stdout);
}

/// The nightly backup script, run as cron runs it (`/bin/sh`, cron's environment, its
/// settings from an environment file): silent when all is well, a line and exit 7 when
/// the night is refused, 75 and a line when the previous night still holds the lock.
#[test]
fn the_nightly_backup_script_runs_as_cron_runs_it() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let (container, old) = (unique_container("nightly"), unique_container("nightly-old"));
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("srv");
    for i in 0..10 {
        write(
            &source,
            &format!("f{i}.txt"),
            format!("file {i}").as_bytes(),
        );
    }
    let env_file = work.path().join("backup.env");
    std::fs::write(
        &env_file,
        format!(
            "BLOBSYNC_SOURCE={}\nBLOBSYNC_DESTINATION='{}?{sas}'\nBLOBSYNC_BACKUP_DIR='{}?{sas}'\n",
            source.display(),
            az.url(&container),
            az.url(&old),
            sas = account_sas(),
        ),
    )
    .unwrap();
    let lock = work.path().join("backup.lock");
    let metrics = work.path().join("backup.prom");
    let night = || {
        Run::from(
            Command::new("/bin/sh")
                .arg(repo_root().join("examples/backup/nightly-backup.sh"))
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("SHELL", "/bin/sh")
                .env("HOME", work.path())
                .env("BLOBSYNC_ENV_FILE", &env_file)
                .env("BLOBSYNC", blobsync_binary())
                .env("BLOBSYNC_LOCK", &lock)
                .env("BLOBSYNC_METRICS", &metrics)
                .env("BLOBSYNC_DATA_DIR", work.path().join("state"))
                .env("BLOBSYNC_CACHE_DIR", cache_dir())
                .output()
                .unwrap(),
        )
    };
    let first = night();
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!((first.stdout.as_str(), first.stderr.as_str()), ("", ""));
    assert_eq!(blobs.names(&container).len(), 10);
    assert_eq!(metric(&metrics, "blobsync_run_exit_code"), [0.0]);

    // One night later, most files are rewritten: refused, nothing written, cron mails.
    for i in 0..6 {
        write(&source, &format!("f{i}.txt"), b"encrypted!");
    }
    let refused = night();
    assert_eq!(refused.code, 7, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stdout.contains("REFUSED"), "{}", refused.stdout);
    assert_eq!(blobs.get(&container, "f0.txt"), b"file 0");
    assert!(!blobs.container_exists(&old) || blobs.names(&old).is_empty());
    assert_eq!(metric(&metrics, "blobsync_run_exit_code"), [7.0]);

    // The previous night still running: skipped, not failed.
    let held = std::fs::File::create(&lock).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_EX) },
        0
    );
    let skipped = night();
    assert_eq!(skipped.code, 75, "{}\n{}", skipped.stdout, skipped.stderr);
    assert!(skipped.stdout.contains("skipped"), "{}", skipped.stdout);
    drop(held);

    // Settings that cannot be read: a configuration error, said on stderr.
    std::fs::remove_file(&env_file).unwrap();
    let broken = night();
    assert_eq!(broken.code, 2, "{}\n{}", broken.stdout, broken.stderr);
    assert!(!broken.stderr.is_empty());
    assert!(Path::new(&metrics).exists());
}
