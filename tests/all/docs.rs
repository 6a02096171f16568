//! The documentation is tested: every `sh` block of the README and the book runs as
//! printed against Azurite (one test per page), blocks that cannot run here are parsed by
//! blobsync's own argument parser, blocks run by a script are found in it, the book
//! builds with mdBook and its links lead somewhere, and the flag reference is the one the
//! command-line definition generates.

use std::collections::BTreeSet;

use blobsync_tests::doc_runner::{blobsync_invocations, parse_invocation, run_page};
use blobsync_tests::docs::{Mark, blocks, doc_pages};
use blobsync_tests::*;

/// One test per page with runnable blocks, so that they run side by side and a failure
/// names its page.
macro_rules! pages {
    ($($name:ident => $page:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_page($page);
            }
        )*
        const RUN_PAGES: &[&str] = &[$($page),*];
    };
}

pages! {
    readme => "README.md",
    guide_authentication => "docs/src/guide/authentication.md",
    guide_backups => "docs/src/guide/backups.md",
    guide_blob_to_blob => "docs/src/guide/blob-to-blob.md",
    guide_deletes => "docs/src/guide/deletes.md",
    guide_dry_runs => "docs/src/guide/dry-runs.md",
    guide_exit_codes => "docs/src/guide/exit-codes.md",
    guide_filters => "docs/src/guide/filters.md",
    guide_names => "docs/src/guide/names.md",
    guide_output => "docs/src/guide/output.md",
    guide_reliability => "docs/src/guide/reliability.md",
    guide_sharding => "docs/src/guide/sharding.md",
    guide_static_websites => "docs/src/guide/static-websites.md",
    guide_syncing => "docs/src/guide/syncing.md",
    guide_tiers => "docs/src/guide/tiers.md",
    guide_two_way => "docs/src/guide/two-way.md",
    guide_watch => "docs/src/guide/watch.md",
    install => "docs/src/install.md",
    plugins_commands => "docs/src/plugins/commands.md",
    plugins_examples => "docs/src/plugins/examples.md",
    plugins_javascript => "docs/src/plugins/javascript.md",
    plugins_overview => "docs/src/plugins/overview.md",
    plugins_python => "docs/src/plugins/python.md",
    plugins_rust => "docs/src/plugins/rust.md",
    plugins_sandbox => "docs/src/plugins/sandbox.md",
    quickstart => "docs/src/quickstart.md",
    recipes_backup => "docs/src/recipes/backup.md",
    recipes_blob_to_blob => "docs/src/recipes/blob-to-blob.md",
    recipes_mirror => "docs/src/recipes/mirror.md",
    recipes_static_website => "docs/src/recipes/static-website.md",
    reference_environment => "docs/src/reference/environment.md",
    reference_json => "docs/src/reference/json.md",
    reference_units => "docs/src/reference/units.md",
}

/// Languages of blocks that show a file or output rather than commands to run; each
/// kind of file is checked by its own test (cron, systemd, Kubernetes, manifests).
const FILE_LANGUAGES: &[&str] = &[
    "text", "cron", "ini", "yaml", "toml", "json", "rust", "python", "js", "bash", "wit",
];

#[test]
fn every_page_with_runnable_blocks_has_a_test() {
    let with_runnable: BTreeSet<String> = doc_pages()
        .into_iter()
        .filter(|page| blocks(page).iter().any(|b| b.lang == "sh" && b.mark.runs()))
        .collect();
    let tested: BTreeSet<String> = RUN_PAGES.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        with_runnable, tested,
        "add pages with runnable sh blocks to pages! in tests/all/docs.rs (and remove those without)"
    );
}

#[test]
fn every_block_says_what_it_is() {
    let mut problems = Vec::new();
    for page in doc_pages() {
        for block in blocks(&page) {
            let shows_a_file = !block.includes().is_empty();
            match block.lang.as_str() {
                "sh" => {}
                lang if FILE_LANGUAGES.contains(&lang) => {
                    if lang == "bash" && !shows_a_file {
                        problems.push(format!(
                            "{}: commands to run are ```sh blocks (bash is for showing a script file)",
                            block.place()
                        ));
                    }
                    if block.mark != Mark::Run {
                        problems.push(format!(
                            "{}: a {lang} block is not run, so it needs no mark",
                            block.place()
                        ));
                    }
                }
                "" => problems.push(format!("{}: a block without a language", block.place())),
                other => problems.push(format!(
                    "{}: language {other:?}: use sh for commands, or a file language the \
                     tests know ({FILE_LANGUAGES:?})",
                    block.place()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Blocks that cannot run here still name real subcommands and flags with valid values.
#[test]
fn blocks_not_run_parse_with_blobsyncs_own_parser() {
    let mut problems = Vec::new();
    let mut parsed = 0;
    for page in doc_pages() {
        for block in blocks(&page) {
            if block.lang != "sh" || !matches!(block.mark, Mark::NotRun(_)) {
                continue;
            }
            for args in blobsync_invocations(&block) {
                parsed += 1;
                if let Err(e) = parse_invocation(&args, &repo_root()) {
                    problems.push(format!("{}: {args:?}:\n{e}", block.place()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(
        parsed > 10,
        "only {parsed} commands parsed: is the reader working?"
    );
}

/// A block marked `run by: FILE` is run by FILE: each of its commands is in it.
#[test]
fn blocks_run_by_a_script_are_in_it() {
    let mut problems = Vec::new();
    for page in doc_pages() {
        for block in blocks(&page) {
            let Mark::RunBy(file) = &block.mark else {
                continue;
            };
            let script = std::fs::read_to_string(repo_root().join(file))
                .unwrap_or_else(|e| panic!("{}: run by {file}: {e}", block.place()));
            for line in block.command_lines() {
                let command = line.split(" #").next().unwrap().trim();
                if !script.contains(command) {
                    problems.push(format!(
                        "{}: {file} does not run {command:?}",
                        block.place()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_is_short_and_its_links_lead_somewhere() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "the README has {lines} lines: the book is for the rest"
    );
    let broken = links::broken_markdown_links(&repo_root().join("README.md"));
    assert!(broken.is_empty(), "README.md:\n{}", broken.join("\n"));
}

/// The book builds without a warning, and every link inside it leads to a page and
/// anchor that exist.
#[test]
fn the_book_builds_and_its_links_lead_somewhere() {
    let Some(mdbook) = required("the_book_builds", mdbook()) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let build = std::process::Command::new(mdbook)
        .args(["build", "docs", "--dest-dir"])
        .arg(out.path())
        .current_dir(repo_root())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&build.stderr).into_owned()
        + &String::from_utf8_lossy(&build.stdout);
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(
        build.status.success() && complaints.is_empty(),
        "mdbook build docs:\n{log}"
    );
    let broken = links::broken_book_links(out.path());
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

fn mdbook() -> Result<std::path::PathBuf, String> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(std::env::var_os("CARGO_HOME").map(|h| std::path::PathBuf::from(h).join("bin")))
        .chain(std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo/bin")));
    for dir in candidates {
        let path = dir.join("mdbook");
        if path.is_file() {
            return Ok(path);
        }
    }
    Err("mdbook is not installed (scripts/setup.sh installs it with cargo install)".into())
}

/// The flag reference is what the command-line definition generates; with
/// `BLOBSYNC_UPDATE_DOCS=1` the test writes it instead.
#[test]
fn the_flag_reference_is_generated_from_the_parser() {
    let path = repo_root().join("docs/src/reference/flags.md");
    let generated = flag_reference::flag_reference();
    if std::env::var_os("BLOBSYNC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written == generated,
        "docs/src/reference/flags.md is not what the flags generate: run \
         BLOBSYNC_UPDATE_DOCS=1 cargo test -p blobsync-tests --test all docs::the_flag_reference"
    );
}
