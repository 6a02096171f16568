//! Backup-grade safety: `--max-changes` refuses a run that would overwrite or delete too
//! much, before anything is written.

use blobsync_tests::*;

#[test]
fn max_changes_refuses_a_mass_overwrite_and_changes_nothing() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("maxchanges");
    let src = tempfile::tempdir().unwrap();
    for i in 0..200 {
        write(
            src.path(),
            &format!("f{i:03}.txt"),
            format!("v1 {i}").as_bytes(),
        );
    }
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    // Half the files "encrypted" (rewritten), and a new one.
    for i in 0..100 {
        let p = write(
            src.path(),
            &format!("f{i:03}.txt"),
            format!("ENCRYPTED {i}").as_bytes(),
        );
        set_mtime(&p, 1_800_000_000, 0);
    }
    write(src.path(), "new.txt", b"new");
    let refused = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "10%",
    ]);
    assert_eq!(refused.code, 7, "refused by a guard: {}", refused.stderr);
    assert!(
        refused.stderr.contains("would overwrite 100 and delete 0")
            && refused.stderr.contains("10% of the 200 files")
            && refused.stderr.contains("nothing was changed")
            && refused.stderr.contains("f000.txt"),
        "{}",
        refused.stderr
    );
    assert_eq!(blobs.get(&container, "f000.txt"), b"v1 0");
    assert!(!blobs.names(&container).contains(&"new.txt".to_string()));

    // Deletes count too; a dry run says the same.
    let dst = tempfile::tempdir().unwrap();
    blobsync(&["sync", &az.url(&container), s(dst.path())]).ok();
    let empty = tempfile::tempdir().unwrap();
    let wipe = blobsync(&[
        "sync",
        s(empty.path()),
        &az.url(&container),
        "--delete-destination=true",
        "--max-changes",
        "150",
        "--dry-run",
    ]);
    assert_eq!(wipe.code, 7, "{}", wipe.stderr);
    assert!(wipe.stderr.contains("delete 200"), "{}", wipe.stderr);
    assert_eq!(blobs.names(&container).len(), 200);

    let allowed = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "60%",
    ])
    .ok();
    assert_eq!(allowed.total("copied"), 101);
    let mut changed: Vec<String> = (0..100).map(|i| format!("f{i:03}.txt")).collect();
    changed.push("new.txt".to_string());
    assert_eq!(allowed.done("upload"), changed);

    let bad = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-changes",
        "150%",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--max-changes"), "{}", bad.stderr);
}

#[test]
fn max_transfer_and_max_duration_cut_a_run_short_and_the_next_continues() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("cutoff");
    let src = tempfile::tempdir().unwrap();
    for i in 0..10 {
        write(src.path(), &format!("part{i}.bin"), &vec![i as u8; 1 << 20]);
    }
    let cut = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-transfer",
        "3M",
        "--concurrency",
        "1",
    ])
    .code(8);
    assert!(
        cut.mentions("--max-transfer 3.00 MiB reached"),
        "{}\n{}",
        cut.dump(),
        cut.stderr
    );
    assert_eq!(cut.status(), "CutOff", "{}", cut.dump());
    assert_eq!(cut.total("copied"), 3);
    assert_eq!(cut.done("upload").len(), 3);
    assert_eq!(blobs.names(&container).len(), 3);

    // 1 MiB/s for 7 MiB, stopped after 2 s.
    let slow = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-duration",
        "2s",
        "--cap-mbps",
        "8",
        "--concurrency",
        "1",
    ]);
    assert_eq!(slow.code, 10, "{}\n{}", slow.stdout, slow.stderr);
    assert!(
        slow.stderr.contains("--max-duration 2s reached"),
        "{}",
        slow.stderr
    );
    let present = blobs.names(&container);
    let after_slow = present.len();
    assert!((3..10).contains(&after_slow), "{after_slow} blobs");

    let rest = blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    assert_eq!(rest.total("copied"), 10 - after_slow as u64);
    let missing: Vec<String> = (0..10)
        .map(|i| format!("part{i}.bin"))
        .filter(|n| !present.contains(n))
        .collect();
    assert_eq!(rest.done("upload"), missing);
    assert_eq!(blobs.names(&container).len(), 10);

    let bad = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--max-transfer",
        "lots",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn backup_dir_keeps_what_an_upload_overwrites_or_deletes() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("withbackup");
    let kept = unique_container("kept");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "docs/report.pdf", b"first version");
    write(src.path(), "docs/old.txt", b"will be deleted");
    write(src.path(), "same.txt", b"unchanged");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    blobs.put_with(
        &container,
        "docs/report.pdf",
        b"first version",
        &[
            ("x-ms-blob-cache-control", "no-cache"),
            (
                "x-ms-meta-mtime",
                &blobs.list(&container)[0].metadata["mtime"],
            ),
            ("x-ms-meta-owner", "finance"),
        ],
    );
    let original = blobs
        .list(&container)
        .into_iter()
        .find(|b| b.name == "docs/report.pdf")
        .unwrap();
    let p = write(src.path(), "docs/report.pdf", b"second version");
    set_mtime(&p, 1_800_000_000, 0);
    std::fs::remove_file(src.path().join("docs/old.txt")).unwrap();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "sync".to_string(),
            s(src.path()).to_string(),
            az.url(&container),
            "--delete-destination=true".into(),
            "--backup-dir".into(),
            az.url(&kept),
            // As a user types it (and as `-$(date +%F)` expands).
            "--suffix".into(),
            "-2024-06-01".into(),
            "--suffix-keep-extension".into(),
        ];
        v.extend(extra.iter().map(|e| e.to_string()));
        v
    };
    let dry_args = args(&["--dry-run"]);
    let dry = blobsync_json(&dry_args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let kept_at: Vec<&str> = dry
        .of_type("dry-run")
        .filter(|e| e["action"] == "backup")
        .filter_map(|e| e["destination"].as_str())
        .collect();
    assert!(
        kept_at.iter().any(|d| d.contains("report-2024-06-01.pdf"))
            && kept_at.iter().any(|d| d.contains("old-2024-06-01.txt")),
        "{}",
        dry.dump()
    );
    assert!(!blobs.container_exists(&kept), "a dry run changes nothing");

    let run_args = args(&[]);
    blobsync(&run_args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert_eq!(blobs.get(&container, "docs/report.pdf"), b"second version");
    assert!(
        !blobs
            .names(&container)
            .contains(&"docs/old.txt".to_string())
    );
    assert_eq!(
        blobs.names(&kept),
        ["docs/old-2024-06-01.txt", "docs/report-2024-06-01.pdf"]
    );
    assert_eq!(
        blobs.get(&kept, "docs/report-2024-06-01.pdf"),
        b"first version"
    );
    let backup = blobs
        .list(&kept)
        .into_iter()
        .find(|b| b.name == "docs/report-2024-06-01.pdf")
        .unwrap();
    assert_eq!(backup.md5, original.md5, "Content-MD5 kept");
    assert_eq!(backup.metadata["owner"], "finance");
    assert_eq!(backup.metadata["mtime"], original.metadata["mtime"]);
    assert_eq!(
        blobs.head(&kept, "docs/report-2024-06-01.pdf")["cache-control"],
        "no-cache"
    );
}

#[test]
fn a_backup_that_fails_leaves_the_original_untouched() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("backupfails");
    let kept = unique_container("readonly");
    blobs.create_container(&kept);
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"v1");
    blobsync(&["sync", s(src.path()), &az.url(&container)]).ok();
    let p = write(src.path(), "a.txt", b"v2 changed");
    set_mtime(&p, 1_800_000_000, 0);
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--backup-dir",
        &az.sas_url(&kept, "rl"),
    ]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("it was not overwritten or deleted"),
        "{}",
        run.stderr
    );
    assert_eq!(blobs.get(&container, "a.txt"), b"v1");
    assert!(blobs.names(&kept).is_empty());
}

#[test]
fn a_download_moves_replaced_and_deleted_files_into_a_local_backup_folder() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("localbackup");
    blobs.create_container(&container);
    blobs.put(&container, "notes.txt", b"from the container", &[]);
    let root = tempfile::tempdir().unwrap();
    let dst = root.path().join("data");
    write(&dst, "notes.txt", b"local edit, older");
    set_mtime(&dst.join("notes.txt"), 1_000_000_000, 0);
    write(&dst, "sub/local-only.txt", b"deleted by the sync");
    let backup = root.path().join("backup");
    blobsync(&[
        "sync",
        &az.url(&container),
        s(&dst),
        "--delete-destination=true",
        "--backup-dir",
        s(&backup),
        "--suffix=.bak",
    ])
    .ok();
    assert_eq!(
        std::fs::read(dst.join("notes.txt")).unwrap(),
        b"from the container"
    );
    assert_eq!(
        std::fs::read(backup.join("notes.txt.bak")).unwrap(),
        b"local edit, older"
    );
    assert_eq!(
        std::fs::read(backup.join("sub/local-only.txt.bak")).unwrap(),
        b"deleted by the sync"
    );
    assert!(!dst.join("sub").exists());

    for (flag, value, says) in [
        ("--backup-dir", s(&dst.join(".old")).to_string(), "overlaps"),
        ("--suffix", "a/b".to_string(), "`/`"),
    ] {
        let mut args = vec!["sync", &az.url(&container), s(&dst)]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        if flag == "--suffix" {
            args.extend(["--backup-dir".into(), s(&backup).to_string()]);
        }
        args.extend([flag.to_string(), value]);
        let run = blobsync(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{flag}: {}", run.stderr);
    }
    // A suffix that looks like a flag is refused, with the way to give it.
    {
        let url = az.url(&container);
        let run = blobsync(&[
            "sync",
            &url,
            s(&dst),
            "--backup-dir",
            s(&backup),
            "--suffix",
            "--dry-run",
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("write --suffix=--dry-run"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn kept_versions_are_listed_from_the_records_or_a_scan_and_restored() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("versions");
    blobs.create_container(&container);
    let root = tempfile::tempdir().unwrap();
    let dst = root.path().join("data");
    let backup = root.path().join("backup");
    let report = dst.join("report.txt");
    // Three nights: each replaces the local file, whose old version is kept.
    // Sizes differ: the blobs' times are kept to the second, and the nights are fast.
    for (night, text) in ["v1", "v22", "v333"].iter().enumerate() {
        blobs.put(&container, "report.txt", text.as_bytes(), &[]);
        let run = blobsync_json(&[
            "sync",
            &az.url(&container),
            s(&dst),
            "--backup-dir",
            s(&backup),
            "--suffix",
            &format!("-2026-12-0{night}"),
        ])
        .ok();
        assert_eq!(
            run.total("backed_up"),
            u64::from(night > 0),
            "night {night}"
        );
    }
    let listed = blobsync(&["backups", "list", s(&report), "--output-type", "json"]).ok();
    let versions = json_lines(&listed.stdout);
    assert_eq!(versions.len(), 2, "{}", listed.stdout);
    assert_eq!(versions[0]["number"], 1);
    assert!(
        versions[0]["kept"]
            .as_str()
            .unwrap()
            .ends_with("report.txt-2026-12-02")
    );
    assert!(
        versions[1]["kept"]
            .as_str()
            .unwrap()
            .ends_with("report.txt-2026-12-01")
    );
    let scanned = blobsync(&[
        "backups",
        "list",
        s(&report),
        "--backup-dir",
        s(&backup),
        "--output-type",
        "json",
    ])
    .ok();
    assert_eq!(json_lines(&scanned.stdout).len(), 2, "{}", scanned.stdout);
    // Version 2 (the older) holds v1; the file is there, so --force is needed.
    let refused = blobsync(&["backups", "restore", s(&report), "--version", "2"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    blobsync(&[
        "backups",
        "restore",
        s(&report),
        "--version",
        "2",
        "--force",
    ])
    .ok();
    assert_eq!(std::fs::read(&report).unwrap(), b"v1");
    // With --backup-dir, the file there is kept beside the version first. (A scan numbers
    // versions by their times, which the nights share to the second.)
    std::fs::write(&report, b"edited").unwrap();
    let v22 = json_lines(&scanned.stdout)
        .into_iter()
        .find(|v| v["kept"].as_str().unwrap().ends_with("-2026-12-02"))
        .unwrap()["number"]
        .to_string();
    blobsync(&[
        "backups",
        "restore",
        s(&report),
        "--version",
        &v22,
        "--backup-dir",
        s(&backup),
    ])
    .ok();
    assert_eq!(std::fs::read(&report).unwrap(), b"v22");
    let replaced: Vec<String> = files(&backup)
        .into_iter()
        .filter(|f| f.starts_with("report.txt-replaced-"))
        .collect();
    assert_eq!(replaced.len(), 1, "{:?}", files(&backup));
    assert_eq!(std::fs::read(backup.join(&replaced[0])).unwrap(), b"edited");
    let elsewhere = root.path().join("restored.txt");
    blobsync(&[
        "backups",
        "restore",
        s(&report),
        "--version",
        "1",
        "--to",
        s(&elsewhere),
    ])
    .ok();
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"v22");
    assert_eq!(
        blobsync(&["backups", "restore", s(&report), "--version", "9"]).code,
        2
    );
}

#[test]
fn a_kept_blob_is_restored_over_the_current_one() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("blobversions");
    let kept = unique_container("blobkept");
    let src = tempfile::tempdir().unwrap();
    let p = write(src.path(), "page.html", b"<p>old</p>");
    set_mtime(&p, 1_700_000_000, 0);
    blobsync_json(&["sync", s(src.path()), &az.url(&container)]).ok();
    let p = write(src.path(), "page.html", b"<p>new</p>");
    set_mtime(&p, 1_700_000_100, 0);
    let run = blobsync_json(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--backup-dir",
        &az.url(&kept),
        "--suffix=-old",
    ])
    .ok();
    assert_eq!(run.total("backed_up"), 1);
    let url = format!("{}/page.html", az.url(&container));
    let listed = blobsync(&["backups", "list", &url, "--output-type", "json"]).ok();
    let versions = json_lines(&listed.stdout);
    assert_eq!(versions.len(), 1, "{}", listed.stdout);
    blobsync(&["backups", "restore", &url, "--version", "1", "--force"]).ok();
    assert_eq!(blobs.get(&container, "page.html"), b"<p>old</p>");

    // With the backup location given, what is there now is kept there first (no --force
    // needed), and the kept version's URL borrows the account SAS the others carry
    // (--auth sas: no other way in).
    blobs.put(&container, "page.html", b"<p>edited</p>", &[]);
    let restored = blobsync(&[
        "backups",
        "restore",
        &format!("{url}?{}", account_sas()),
        "--version",
        "1",
        "--backup-dir",
        &format!("{}?{}", az.url(&kept), account_sas()),
        "--auth",
        "sas",
    ])
    .ok();
    assert_eq!(blobs.get(&container, "page.html"), b"<p>old</p>");
    let replaced: Vec<String> = blobs
        .names(&kept)
        .into_iter()
        .filter(|n| n.starts_with("page.html-replaced-"))
        .collect();
    assert_eq!(replaced.len(), 1, "{:?}", blobs.names(&kept));
    assert_eq!(blobs.get(&kept, &replaced[0]), b"<p>edited</p>");
    assert!(
        restored.stdout.contains(&replaced[0]),
        "{}",
        restored.stdout
    );
}
