//! The human output format, tested here and only here: other tests read the run's JSON
//! (`blobsync_json`), so a change to the wording of the summary is a change to this file.

use blobsync_tests::*;

#[test]
fn control_characters_in_names_are_printed_escaped() {
    let az = azurite();
    let container = unique_container("ctlnames");
    // Clears the screen and retitles the terminal if printed raw.
    let evil = "evil\u{1b}[2J\u{1b}]0;pwned\u{7}.txt";
    let src = tempfile::tempdir().unwrap();
    write(src.path(), evil, b"x");
    let run = blobsync(&["sync", s(src.path()), &az.url(&container), "-v"]).ok();
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{stream}: {text:?}"
        );
    }
    assert!(
        run.stdout
            .contains("evil\\u{1b}[2J\\u{1b}]0;pwned\\u{7}.txt"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_large_upload_shows_bytes_moving_before_it_is_done() {
    let az = azurite();
    let container = unique_container("progress");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "big.bin", &bytes(8, 64 << 20));
    // 200 Mbit/s: about 2.7 s for 64 MiB, in 4 MiB blocks.
    let (run, terminal) = blobsync_on_terminal(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--cap-mbps",
        "200",
        "--block-size-mb",
        "4",
        "--put-blob-size-mb",
        "4",
    ]);
    assert_eq!(run.code, 0, "{}\n{terminal}", run.stdout);
    // The run's line and the file's own line, part way.
    let part_way = |marker: &str| {
        terminal.split(['\r', '\n']).any(|line| {
            line.split(marker).nth(1).is_some_and(|rest| {
                rest.trim_start()
                    .strip_prefix('(')
                    .and_then(|r| r.split('%').next())
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|p| (1..100).contains(&p))
            })
        })
    };
    assert!(
        part_way("/ 64.00 MiB"),
        "no line shows the run part way:\n{terminal}"
    );
    assert!(
        terminal.contains("big.bin: ") && terminal.contains("MiB/s"),
        "no file line or rate:\n{terminal}"
    );
}

#[test]
fn many_failures_of_one_kind_are_shown_a_few_times_then_counted() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("alike");
    blobs.create_container(&container);
    for i in 0..12 {
        let name = format!("f{i:02}.bin");
        blobs.put(&container, &name, b"content", &[]);
        blobs.set_content_md5(&container, &name, &[7; 16]);
    }
    let dst = tempfile::tempdir().unwrap();
    let run = blobsync(&["sync", &az.url(&container), s(dst.path())]);
    assert_eq!(run.code, 1);
    let shown = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: download f"))
        .count();
    assert_eq!(shown, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: … and 9 more like this: download …"),
        "{}",
        run.stderr
    );
}
