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
