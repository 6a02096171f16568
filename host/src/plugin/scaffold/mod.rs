//! `blobsync plugin new NAME --kind … --lang …`: a plugin project that builds and runs as
//! generated — the source, a manifest granting what it needs, a test, test data, and a
//! README with the one-line command to try it on a folder.

mod sdk;

use std::path::{Path, PathBuf};

use super::build::{COMPONENTIZE_JS, COMPONENTIZE_PY};
use super::spec::PluginKind;

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust with the `blobsync-plugin` SDK.
    Rust,
    /// Python with componentize-py.
    Python,
    /// JavaScript with componentize-js.
    Js,
}

/// What `plugin new` made.
#[derive(Debug, Clone)]
pub struct Created {
    /// The project directory.
    pub dir: PathBuf,
    /// The commands to build, test and try it, in order.
    pub next: Vec<String>,
}

fn template(lang: Lang, kind: PluginKind) -> (&'static str, &'static str) {
    use PluginKind::*;
    match (lang, kind) {
        (Lang::Rust, Filter) => (include_str!("templates/rust/filter.rs"), ""),
        (Lang::Rust, Comparator) => (include_str!("templates/rust/comparator.rs"), ""),
        (Lang::Rust, Annotator) => (include_str!("templates/rust/annotator.rs"), ""),
        (Lang::Rust, Hook) => (include_str!("templates/rust/hook.rs"), ""),
        (Lang::Rust, Resolver) => (include_str!("templates/rust/resolver.rs"), ""),
        (Lang::Python, Resolver) => (
            include_str!("templates/python/resolver.py"),
            include_str!("templates/python/test_resolver.py"),
        ),
        (Lang::Js, Resolver) => (
            include_str!("templates/js/resolver.js"),
            include_str!("templates/js/test_resolver.mjs"),
        ),
        (Lang::Python, Filter) => (
            include_str!("templates/python/filter.py"),
            include_str!("templates/python/test_filter.py"),
        ),
        (Lang::Python, Comparator) => (
            include_str!("templates/python/comparator.py"),
            include_str!("templates/python/test_comparator.py"),
        ),
        (Lang::Python, Annotator) => (
            include_str!("templates/python/annotator.py"),
            include_str!("templates/python/test_annotator.py"),
        ),
        (Lang::Python, Hook) => (
            include_str!("templates/python/hook.py"),
            include_str!("templates/python/test_hook.py"),
        ),
        (Lang::Js, Filter) => (
            include_str!("templates/js/filter.js"),
            include_str!("templates/js/test_filter.mjs"),
        ),
        (Lang::Js, Comparator) => (
            include_str!("templates/js/comparator.js"),
            include_str!("templates/js/test_comparator.mjs"),
        ),
        (Lang::Js, Annotator) => (
            include_str!("templates/js/annotator.js"),
            include_str!("templates/js/test_annotator.mjs"),
        ),
        (Lang::Js, Hook) => (
            include_str!("templates/js/hook.js"),
            include_str!("templates/js/test_hook.mjs"),
        ),
    }
}

/// The manifest listing the plugin, with what its kind needs granted.
fn manifest(name: &str, kind: PluginKind) -> String {
    let (section, extra) = match kind {
        PluginKind::Filter => ("[[filter]]", "config = { suffix = \".tmp\" }\n"),
        PluginKind::Comparator => ("[comparator]", ""),
        PluginKind::Annotator => (
            "[[annotator]]",
            "config = { cache-control = \"no-cache\" }\n",
        ),
        PluginKind::Resolver => ("[[resolver]]", "config = { path2-owns = \"content/\" }\n"),
        PluginKind::Hook => (
            "[[hook]]",
            "output = \"out/events.txt\"   # the only file it may write (append-only)\n",
        ),
    };
    let (use_it, try_it) = match kind {
        PluginKind::Resolver => (
            "blobsync bisync PATH1 PATH2 --plugins plugins.toml",
            "blobsync plugin try plugins.toml FOLDER1 --against FOLDER2",
        ),
        _ => (
            "blobsync sync SOURCE DESTINATION --plugins plugins.toml",
            "blobsync plugin try plugins.toml FOLDER",
        ),
    };
    format!(
        "# Use it with: {use_it}\n\
         # Try it:      {try_it}\n\
         version = 1\n\n{section}\nname = \"{name}\"\nsource = \"dist/{name}.wasm\"   \
         # relative to this manifest\n{extra}"
    )
}

/// Files the test and the try command run on.
fn testdata(kind: PluginKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        PluginKind::Filter => &[("keep.txt", "keep\n"), ("scratch.tmp", "scratch\n")],
        PluginKind::Comparator => &[("a.txt", "a\n")],
        PluginKind::Annotator => &[("index.html", "<p>hi</p>\n"), ("style.css", "p {}\n")],
        PluginKind::Hook => &[("a.txt", "a\n"), ("b.txt", "bb\n")],
        // The two sides of a first two-way run: two conflicts, one path alike.
        PluginKind::Resolver => &[
            ("path1/content/page.md", "draft\n"),
            ("path2/content/page.md", "published\n"),
            ("path1/notes.txt", "mine\n"),
            ("path2/notes.txt", "theirs\n"),
            ("path1/same.txt", "same\n"),
            ("path2/same.txt", "same\n"),
        ],
    }
}

/// Checks a plugin name: lower-case letters, digits and `-`, starting with a letter.
fn check_name(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64;
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a plugin name: use lower-case letters, digits and `-`, starting \
             with a letter"
        ))
    }
}

/// Writes a new plugin project `parent/name`. `data_dir` is where the Rust SDK is written
/// for Rust projects to depend on.
pub fn create(
    name: &str,
    kind: PluginKind,
    lang: Lang,
    parent: &Path,
    data_dir: Option<&Path>,
) -> Result<Created, String> {
    check_name(name)?;
    let dir = std::path::absolute(parent.join(name)).map_err(|e| e.to_string())?;
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let placeholders = Placeholders { name, kind };
    let mut files = shared_files(name, kind);
    let next = match lang {
        Lang::Rust => rust_files(&placeholders, &dir, data_dir, &mut files)?,
        Lang::Python => python_files(&placeholders, &dir, &mut files),
        Lang::Js => js_files(&placeholders, &dir, &mut files),
    };
    files.push(("README.md".into(), readme(name, kind, lang, &next)));
    write_files(&dir, &files)?;
    Ok(Created { dir, next })
}

/// What a template's placeholders stand for in one plugin.
struct Placeholders<'a> {
    name: &'a str,
    kind: PluginKind,
}

impl Placeholders<'_> {
    /// `text` with the plugin's name and kind and the tool versions put in.
    fn fill_in(&self, text: &str) -> String {
        text.replace("@NAME@", self.name)
            .replace("@KIND@", self.kind.world())
            .replace("@JSVER@", COMPONENTIZE_JS)
            .replace("@PYVER@", COMPONENTIZE_PY)
            .replace("@TRYDIR@", try_dir(self.kind))
    }
}

/// The folder the project's test and try command run the plugin on.
fn try_dir(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Resolver => "testdata/path1",
        _ => "testdata",
    }
}

/// The command that tries the built plugin on the test data.
fn try_command(kind: PluginKind) -> String {
    match kind {
        PluginKind::Resolver => {
            "blobsync plugin try plugins.toml testdata/path1 --against testdata/path2".into()
        }
        _ => "blobsync plugin try plugins.toml testdata".into(),
    }
}

/// The files every project has, whatever its language: the manifest, `.gitignore` and
/// the test data.
fn shared_files(name: &str, kind: PluginKind) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = vec![
        ("plugins.toml".into(), manifest(name, kind)),
        (
            ".gitignore".into(),
            "target/\ndist/\nout/\nnode_modules/\n.venv/\n__pycache__/\n".into(),
        ),
    ];
    for (file, text) in testdata(kind) {
        files.push((format!("testdata/{file}"), text.to_string()));
    }
    files
}

/// Adds a Rust project's files (with the SDK written under `data_dir`); returns the
/// commands to build, test and try it.
fn rust_files(
    placeholders: &Placeholders<'_>,
    dir: &Path,
    data_dir: Option<&Path>,
    files: &mut Vec<(String, String)>,
) -> Result<Vec<String>, String> {
    let (source, _) = template(Lang::Rust, placeholders.kind);
    let name = placeholders.name;
    let data_dir = data_dir.ok_or("no data directory for the SDK (set BLOBSYNC_DATA_DIR)")?;
    let sdk = sdk::materialise(data_dir)
        .map_err(|e| format!("cannot write the SDK under {}: {e}", data_dir.display()))?;
    let cargo =
        include_str!("templates/rust/Cargo.toml").replace("@SDK@", &sdk.display().to_string());
    files.push(("Cargo.toml".into(), placeholders.fill_in(&cargo)));
    files.push(("src/lib.rs".into(), placeholders.fill_in(source)));
    Ok(vec![
        format!("cd {}", dir.display()),
        "cargo test".into(),
        format!(
            "blobsync plugin build . --out dist/{name}.wasm && {}",
            try_command(placeholders.kind)
        ),
    ])
}

/// Adds a Python project's files; returns the commands to build, try and test it.
fn python_files(
    placeholders: &Placeholders<'_>,
    dir: &Path,
    files: &mut Vec<(String, String)>,
) -> Vec<String> {
    let (source, test) = template(Lang::Python, placeholders.kind);
    files.push((
        "pyproject.toml".into(),
        placeholders.fill_in(include_str!("templates/python/pyproject.toml")),
    ));
    files.push(("app.py".into(), placeholders.fill_in(source)));
    let test = format!("{}{}", include_str!("templates/python/test_head.py"), test);
    files.push(("test_plugin.py".into(), placeholders.fill_in(&test)));
    vec![
        format!("cd {}", dir.display()),
        format!(
            "python3 -m venv .venv && .venv/bin/pip install componentize-py=={COMPONENTIZE_PY}   \
             # once"
        ),
        format!(
            "blobsync plugin build . && {}",
            try_command(placeholders.kind)
        ),
        "python3 -m unittest".into(),
    ]
}

/// Adds a JavaScript project's files; returns the commands to build, try and test it.
fn js_files(
    placeholders: &Placeholders<'_>,
    dir: &Path,
    files: &mut Vec<(String, String)>,
) -> Vec<String> {
    let (source, test) = template(Lang::Js, placeholders.kind);
    files.push((
        "package.json".into(),
        placeholders.fill_in(include_str!("templates/js/package.json")),
    ));
    files.push(("src/plugin.js".into(), placeholders.fill_in(source)));
    let test = format!("{}{}", include_str!("templates/js/test_head.mjs"), test);
    files.push(("test/plugin.test.mjs".into(), placeholders.fill_in(&test)));
    vec![
        format!("cd {}", dir.display()),
        "npm install   # once: componentize-js".into(),
        format!(
            "blobsync plugin build . && {}",
            try_command(placeholders.kind)
        ),
        "node --test".into(),
    ]
}

/// Writes each file (a path relative to `dir`, and its text), making its folders.
fn write_files(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    for (path, text) in files {
        let file = dir.join(path);
        if let Some(p) = file.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(())
}

fn readme(name: &str, kind: PluginKind, lang: Lang, next: &[String]) -> String {
    let language = match lang {
        Lang::Rust => "Rust (the blobsync-plugin SDK)",
        Lang::Python => "Python (componentize-py)",
        Lang::Js => "JavaScript (componentize-js)",
    };
    let usage = match kind {
        PluginKind::Resolver => {
            "`blobsync plugin try plugins.toml FOLDER1 --against FOLDER2` puts the files that \
             differ between two folders to it as conflicts and shows its ruling on each; \
             `blobsync bisync PATH1 PATH2 --plugins plugins.toml` uses it in a two-way sync."
        }
        _ => {
            "`blobsync plugin try plugins.toml FOLDER` runs it on any folder and shows what it \
             does to each file; `blobsync sync SOURCE DESTINATION --plugins plugins.toml` uses \
             it in a sync."
        }
    };
    format!(
        "# {name}\n\nA blobsync {kind} plugin in {language}, made by `blobsync plugin new`.\n\n\
         ```sh\n{}\n```\n\n{usage} `plugins.toml` is its manifest: the capabilities it is \
         granted and its configuration. The plugin author's guide is in blobsync's README.\n",
        next.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_language_is_generated() {
        let dir = tempfile::tempdir().unwrap();
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for kind in PluginKind::ALL {
                let name = format!("p-{}-{}", kind.world(), lang as u8);
                let made = create(&name, kind, lang, dir.path(), Some(dir.path())).unwrap();
                let manifest = std::fs::read_to_string(made.dir.join("plugins.toml")).unwrap();
                assert!(manifest.contains(kind.manifest_section()), "{manifest}");
                for entry in walk(&made.dir) {
                    let text = std::fs::read_to_string(&entry).unwrap_or_default();
                    for placeholder in ["@NAME@", "@KIND@", "@SDK@", "@JSVER@", "@TRYDIR@"] {
                        assert!(!text.contains(placeholder), "{}", entry.display());
                    }
                }
            }
        }
        assert!(create("Bad_Name", PluginKind::Filter, Lang::Rust, dir.path(), None).is_err());
        assert!(
            create(
                "p-filter-0",
                PluginKind::Filter,
                Lang::Rust,
                dir.path(),
                None
            )
            .is_err()
        );
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
