//! The documentation as tests: the fenced blocks of the README and of the book in `docs/`,
//! each with what the page says about running it, and a scratch folder laid out as the
//! pages assume (the `data`, `site` and `examples` folders next to where commands run).
//!
//! A block's language says what it is: `sh` is commands a reader copies; `cron`, `ini`,
//! `yaml`, `toml`, … are files. An HTML comment on the line before an `sh` block says how
//! it is tested when not by running it as printed:
//!
//! - `<!-- not run: WHY -->` — it cannot run here (a real account, root, a cluster);
//!   its `blobsync` command lines are still parsed by blobsync's own argument parser;
//! - `<!-- run by: FILE -->` — FILE runs the same commands (`.ci/run`, a script it calls).

use std::path::{Path, PathBuf};

use crate::repo_root;

/// What a page says about running a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// Run as printed.
    Run,
    /// Not run, for this reason; its blobsync lines are parsed.
    NotRun(String),
    /// Run by this file of the repository.
    RunBy(String),
    /// Run, and interrupted after this long.
    RunFor(std::time::Duration),
    /// Run with its input on a terminal, with this typed.
    Answering(String),
}

impl Mark {
    /// Whether the docs runner runs the block.
    pub fn runs(&self) -> bool {
        matches!(self, Mark::Run | Mark::RunFor(_) | Mark::Answering(_))
    }
}

/// A fenced block of a Markdown page.
#[derive(Debug, Clone)]
pub struct Block {
    /// The page, relative to the repository root.
    pub page: String,
    /// The line of its opening fence (1-based).
    pub line: usize,
    /// Its language (the first word after the fence), empty when none is given.
    pub lang: String,
    /// Its text, as written.
    pub text: String,
    /// What the page says about running it.
    pub mark: Mark,
}

impl Block {
    /// `page:line`, for messages.
    pub fn place(&self) -> String {
        format!("{}:{}", self.page, self.line)
    }

    /// The files the block shows whole (`{{#include FILE}}`), relative to the repository.
    pub fn includes(&self) -> Vec<PathBuf> {
        let dir = repo_root().join(&self.page);
        let dir = dir.parent().unwrap();
        self.text
            .lines()
            .filter_map(|l| {
                let path = l.trim().strip_prefix("{{#include ")?.strip_suffix("}}")?;
                let full = dir.join(path.trim());
                Some(normalize(&full))
            })
            .collect()
    }

    /// The text with `{{#include FILE}}` lines replaced by the file (as mdBook does).
    pub fn expanded(&self) -> String {
        let includes = self.includes();
        if includes.is_empty() {
            return self.text.clone();
        }
        includes
            .iter()
            .map(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_else(|e| panic!("{}: include {}: {e}", self.place(), f.display()))
            })
            .collect()
    }

    /// The logical lines of an `sh` block: `\` continuations joined, comment lines and
    /// blank lines dropped.
    pub fn command_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut current = String::new();
        for line in self.text.lines() {
            if current.is_empty() && (line.trim().is_empty() || line.trim().starts_with('#')) {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(head) => {
                    current.push_str(head);
                    current.push(' ');
                }
                None => {
                    current.push_str(line);
                    lines.push(std::mem::take(&mut current));
                }
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        lines
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The pages: the README and every page of the book, relative to the repository root.
pub fn doc_pages() -> Vec<String> {
    let root = repo_root();
    let mut pages = vec!["README.md".to_string()];
    let mut stack = vec![root.join("docs/src")];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    pages.extend(found);
    pages
}

/// The fenced blocks of a page (relative to the repository root).
pub fn blocks(page: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo_root().join(page))
        .unwrap_or_else(|e| panic!("read {page}: {e}"));
    parse_blocks(page, &text)
}

/// The fenced blocks of Markdown `text`.
pub fn parse_blocks(page: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, fence, info)) = opening_fence(lines[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !closes(lines[i], &fence) {
            let line = lines[i];
            let cut = line.len() - line.trim_start().len();
            body.push(&line[cut.min(indent)..]);
            i += 1;
        }
        assert!(
            i < lines.len(),
            "{page}:{}: a block is never closed",
            start + 1
        );
        i += 1;
        let mut text = body.join("\n");
        text.push('\n');
        blocks.push(Block {
            page: page.to_string(),
            line: start + 1,
            lang: info.split_whitespace().next().unwrap_or("").to_string(),
            text,
            mark: mark_before(&lines[..start]),
        });
    }
    blocks
}

fn opening_fence(line: &str) -> Option<(usize, String, String)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let ch = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|c| *c == ch).count();
    (len >= 3).then(|| {
        (
            indent,
            trimmed[..len].to_string(),
            trimmed[len..].trim().to_string(),
        )
    })
}

fn closes(line: &str, fence: &str) -> bool {
    let trimmed = line.trim();
    let ch = fence.chars().next().unwrap();
    trimmed.len() >= fence.len() && trimmed.chars().all(|c| c == ch)
}

fn mark_before(before: &[&str]) -> Mark {
    let Some(previous) = before.iter().rev().find(|l| !l.trim().is_empty()) else {
        return Mark::Run;
    };
    let comment = previous
        .trim()
        .strip_prefix("<!--")
        .and_then(|c| c.strip_suffix("-->"))
        .map(str::trim);
    match comment {
        Some(c) if c.starts_with("not run:") => {
            Mark::NotRun(c["not run:".len()..].trim().to_string())
        }
        Some(c) if c.starts_with("run by:") => Mark::RunBy(c["run by:".len()..].trim().to_string()),
        Some(c) if c.starts_with("run until stopped:") => {
            let after = c["run until stopped:".len()..].trim();
            Mark::RunFor(
                humantime_secs(after).unwrap_or_else(|| panic!("a duration like 5s: {after}")),
            )
        }
        Some(c) if c.starts_with("on a terminal, answering:") => {
            Mark::Answering(c["on a terminal, answering:".len()..].trim().to_string())
        }
        Some(c) if c.contains("run") || c.contains("terminal") => {
            panic!("a mark the docs runner does not know: <!-- {c} -->")
        }
        _ => Mark::Run,
    }
}

/// `5s` → 5 seconds.
fn humantime_secs(text: &str) -> Option<std::time::Duration> {
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(std::time::Duration::from_secs)
}

/// The account the docs' URLs name, replaced by the emulator's endpoint when run.
pub const DOCS_ACCOUNT_URL: &str = "https://myaccount.blob.core.windows.net";

/// A folder laid out as the pages assume: `data/` (three files), `site/` (the example
/// static site), `examples/` (a copy of the repository's), and a home folder.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh scratch folder.
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        crate::write(root, "data/report.pdf", b"%PDF-1.4 quarterly figures\n");
        crate::write(root, "data/notes.txt", b"notes\n");
        crate::write(
            root,
            "data/photos/cat.jpg",
            &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3],
        );
        copy_tree(
            &repo_root().join("examples/static-site/site"),
            &root.join("site"),
        );
        copy_tree(&repo_root().join("examples"), &root.join("examples"));
        std::fs::create_dir_all(root.join("home")).unwrap();
        Scratch { dir }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

/// Copies a tree of files, leaving out build output (`target/`, `node_modules/`).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "node_modules" {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_carry_their_language_mark_and_line() {
        let page = "intro\n\n<!-- not run: needs a real account -->\n```sh\nblobsync sync a \\\n  b\n# a comment\nls\n```\n\n  ~~~toml\n  [a]\n  ~~~\n";
        let found = parse_blocks("p.md", page);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 4);
        assert_eq!(found[0].lang, "sh");
        assert_eq!(
            found[0].mark,
            Mark::NotRun("needs a real account".to_string())
        );
        assert_eq!(found[0].command_lines(), ["blobsync sync a    b", "ls"]);
        assert_eq!(found[1].lang, "toml");
        assert_eq!(found[1].text, "[a]\n");
        assert_eq!(found[1].mark, Mark::Run);
    }
}
