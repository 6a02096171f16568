//! Plugins written in Python (componentize-py) and JavaScript (componentize-js), built
//! from the examples' source and loaded from manifests in syncs against Azurite.

use blobsync_tests::*;

/// A manifest in a scratch folder naming `component` for `source`.
fn manifest(dir: &std::path::Path, body: &str, component: &std::path::Path) -> String {
    let p = dir.join("plugins.toml");
    let body = body.replace(
        "@SOURCE@",
        &format!("{:?}", component.display().to_string()),
    );
    std::fs::write(&p, format!("version = 1\n{body}")).unwrap();
    p.display().to_string()
}

#[test]
fn a_python_filter_runs_in_a_sync() {
    let component = example_component("age-filter");
    let az = azurite();
    let container = unique_container("python");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "logs/today.log", b"fresh");
    write(src.path(), "logs/.DS_Store", b"clutter");
    let old = write(src.path(), "logs/2019.log", b"old");
    set_mtime(&old, 1_546_300_800, 0);
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        "[[filter]]\nname = \"recent\"\nsource = @SOURCE@\nlimits = { memory-mb = 64 }\n\
         config = { max-age-days = 30 }\n",
        &component,
    );
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        &m,
        "--verbose",
    ])
    .ok();
    assert_eq!(Blobs::new(az).names(&container), ["logs/today.log"]);
    for needle in [
        "excluded by recent (source): logs/.DS_Store: name matches .DS_Store",
        "excluded by recent (source): logs/2019.log: older than max-age-days",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?}:\n{}",
            run.stdout
        );
    }
    // The same component, inspected: WASI imports linked, nothing refused.
    let run = blobsync(&["plugin", "inspect", s(&component)]).ok();
    assert!(run.stdout.contains("loadable:  yes"), "{}", run.stdout);
    assert!(
        run.stdout.contains("wasi:sockets/tcp@0.2.9"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("refused"), "{}", run.stdout);
}

#[test]
fn a_python_configuration_error_is_reported_as_the_plugin_said_it() {
    let component = example_component("age-filter");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        "[[filter]]\nname = \"recent\"\nsource = @SOURCE@\nconfig = { max-age-days = \"soon\" }\n",
        &component,
    );
    let run = blobsync(&["plugin", "try", &m, s(dir.path())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "plugin `recent` rejected its configuration (from manifest {m}): config \
             `max-age-days`: 'soon' is not a number of days"
                .replace("{m}", &m)
                .as_str()
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_javascript_hook_records_a_sync() {
    let component = example_component("run-report");
    let az = azurite();
    let container = unique_container("javascript");
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    write(src.path(), "dir/b,c.txt", b"bravo charlie");
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(
        dir.path(),
        "[[hook]]\nname = \"report\"\nsource = @SOURCE@\noutput = \"report.csv\"\n\
         config = { columns = \"action;outcome;bytes;path\" }\n",
        &component,
    );
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--plugins",
        &m,
        "--output-type",
        "json",
        "--log-level",
        "info",
    ])
    .ok();
    // console.log reaches blobsync's log, tagged with the plugin's name.
    assert!(
        run.stderr.lines().any(|l| l
            .contains("stdout: run-report writes action,outcome,bytes,path")
            && l.contains("plugin")
            && l.contains("\"report\"")),
        "{}",
        run.stderr
    );
    let job = json_lines(&run.stdout)
        .iter()
        .find_map(|l| l["job"].as_str().map(String::from))
        .unwrap_or_else(|| panic!("no job id in {}", run.stdout));
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert!(lines.contains(&"upload,success,5,a.txt"), "{report}");
    assert!(
        lines.contains(&"upload,success,13,\"dir/b,c.txt\""),
        "{report}"
    );
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with(&format!("# job={job} status=completed copied=2")),
        "{report}"
    );
    assert!(
        summary.contains(" started="),
        "the run's start time reached the plugin: {summary}"
    );
}

#[test]
fn a_python_exception_and_a_javascript_throw_are_shown_as_the_plugin_said_them() {
    let projects = tempfile::tempdir().unwrap();
    let py = projects.path().join("raises");
    write(
        &py,
        "pyproject.toml",
        b"[project]\nname = \"raises\"\nversion = \"0.1.0\"\n\n[tool.blobsync]\nkind = \"filter\"\nmodule = \"app\"\n",
    );
    let app = [
        "from wit_world import exports",
        "from wit_world.imports.types import EntryFields",
        "",
        "class FilterPlugin(exports.FilterPlugin):",
        "    def configure(self, config):",
        "        return EntryFields.PATH",
        "",
        "    def filter(self, side, entries):",
        "        raise ValueError(\"no rule for this tier\")",
    ];
    write(&py, "app.py", app.join("\n").as_bytes());
    let js = projects.path().join("throws");
    write(
        &js,
        "package.json",
        br#"{ "name": "throws", "version": "0.1.0", "private": true, "type": "module",
  "blobsync": { "kind": "filter", "main": "src/filter.js" } }"#,
    );
    let filter = [
        "export const filterPlugin = {",
        "  configure(config) { return { path: true }; },",
        "  filter(side, entries) { throw new Error(\"no such tier: Premium\"); },",
        "};",
    ];
    write(&js, "src/filter.js", filter.join("\n").as_bytes());
    let az = azurite();
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"x");
    for (project, said) in [
        (
            &py,
            "ValueError: no rule for this tier (File \"/0/app.py\", line 9)",
        ),
        (&js, "no such tier: Premium (at filter@src/filter.js:3:"),
    ] {
        let component = build_project(project);
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(
            dir.path(),
            "[[filter]]\nname = \"strict\"\nsource = @SOURCE@\n",
            &component,
        );
        let container = unique_container("throws");
        let run = blobsync_json(&["sync", s(src.path()), &az.url(&container), "--plugins", &m]);
        assert_ne!(run.code, 0);
        let errors = run.errors().join("\n");
        assert!(errors.contains(said), "expected {said:?} in:\n{errors}");
        assert!(
            !errors.contains("RUST_BACKTRACE") && !errors.contains("mozalloc_abort"),
            "{errors}"
        );
    }
}

/// A JavaScript hook of the `two-way-hook` world, as the author's guide describes it.
const TWO_WAY_HOOK_JS: &str = r#"import { writeLine } from 'blobsync:plugin/output@0.2.1';

export const twoWayHookPlugin = {
  configure(config) {},
  onEvents(events) {
    for (const { event, direction } of events) {
      writeLine(`${event.action} ${event.path} ${direction ?? 'none'}`);
    }
  },
  onConflicts(conflicts) {
    for (const c of conflicts) {
      writeLine(`conflict ${c.path} ${c.winner} ${c.keptAs} ${c.path1.size} ${c.path2.size}`);
    }
  },
  onComplete(summary) {
    writeLine(`done copied=${summary.copied}`);
  },
};
"#;

#[test]
fn a_javascript_two_way_hook_hears_directions_and_conflicts() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().join("js-two-way-hook");
    write(
        &dir,
        "package.json",
        br#"{"name": "js-two-way-hook", "version": "0.1.0", "private": true, "type": "module",
  "blobsync": {"kind": "two-way-hook", "main": "src/plugin.js"}}"#,
    );
    write(&dir, "src/plugin.js", TWO_WAY_HOOK_JS.as_bytes());
    let component = build_project(&dir);
    let blobs = Blobs::new(azurite());
    let container = unique_container("js-two-way");
    blobs.create_container(&container);
    let url = azurite().url(&container);
    let local = tempfile::tempdir().unwrap();
    for name in ["up.txt", "down.txt", "both.txt"] {
        set_mtime(&write(local.path(), name, b"1"), 1_700_000_000, 0);
    }
    blobsync(&["bisync", s(local.path()), &url]).ok();
    write(local.path(), "up.txt", b"local change");
    blobs.put(&container, "down.txt", b"container change", &[]);
    set_mtime(&write(local.path(), "both.txt", b"local"), 1_700_000_100, 0);
    blobs.put(&container, "both.txt", b"container", &[]);
    let work = tempfile::tempdir().unwrap();
    let m = manifest(
        work.path(),
        "[[hook]]\nname = \"js\"\nsource = @SOURCE@\noutput = \"events.txt\"\n",
        &component,
    );
    blobsync(&["bisync", s(local.path()), &url, "--plugins", &m]).ok();
    let out = std::fs::read_to_string(work.path().join("events.txt")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"upload up.txt path1-to-path2"), "{out}");
    assert!(lines.contains(&"download down.txt path2-to-path1"), "{out}");
    let kept = "both.conflict-path1-20231114T221500.txt";
    assert!(
        lines.contains(&format!("conflict both.txt path2 {kept} 5 9").as_str()),
        "{out}"
    );
    assert!(lines.last().unwrap().starts_with("done copied="), "{out}");
}
