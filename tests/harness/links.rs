//! Links that must lead somewhere: in the book mdBook built (every `href` to a page of
//! the book, and its `#anchor`), and in Markdown read on a forge (the README: relative
//! links to files, and anchors to their headings).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::docs::normalize;

/// Every broken internal link of a built book: `page: href (why)`.
pub fn broken_book_links(book: &Path) -> Vec<String> {
    let pages = html_files(book);
    let ids: BTreeMap<PathBuf, BTreeSet<String>> = pages
        .iter()
        .map(|p| (p.clone(), attribute_values(&read(p), "id")))
        .collect();
    let mut broken = Vec::new();
    for page in &pages {
        let name = page.file_name().unwrap().to_string_lossy();
        if name == "print.html" || name == "404.html" || name == "toc.html" {
            continue;
        }
        for href in attribute_values(&read(page), "href") {
            if is_external(&href) {
                continue;
            }
            let (file, anchor) = href.split_once('#').unwrap_or((&href, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().unwrap().join(file))
            };
            let shown = page.strip_prefix(book).unwrap().display();
            if !target.exists() {
                broken.push(format!("{shown}: {href} (no such file)"));
            } else if !anchor.is_empty()
                && !ids.get(&target).is_some_and(|set| set.contains(anchor))
            {
                broken.push(format!("{shown}: {href} (no such anchor)"));
            }
        }
    }
    broken
}

/// Every broken relative link of a Markdown file read on a forge.
pub fn broken_markdown_links(file: &Path) -> Vec<String> {
    let text = read(file);
    let mut broken = Vec::new();
    for target in markdown_link_targets(&text) {
        if is_external(&target) {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            normalize(&file.parent().unwrap().join(path))
        };
        if !resolved.exists() {
            broken.push(format!("{target} (no such file)"));
        } else if !anchor.is_empty()
            && resolved.extension().is_some_and(|e| e == "md")
            && !heading_slugs(&read(&resolved)).contains(anchor)
        {
            broken.push(format!("{target} (no such heading)"));
        }
    }
    broken
}

/// The `](target)` of inline links, outside code blocks.
fn markdown_link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            targets.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    targets
}

/// The anchors a forge gives a Markdown file's headings.
pub fn heading_slugs(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut slugs = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        slugs.insert(slug);
    }
    slugs
}

fn is_external(href: &str) -> bool {
    href.starts_with("http://")
        || href.starts_with("https://")
        || href.starts_with("mailto:")
        || href.starts_with("javascript:")
}

fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn attribute_values(html: &str, attribute: &str) -> BTreeSet<String> {
    let needle = format!(" {attribute}=\"");
    let mut values = BTreeSet::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        rest = &rest[at + needle.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        values.insert(unescape(&rest[..end]));
        rest = &rest[end..];
    }
    values
}

fn unescape(value: &str) -> String {
    value
        .replace("&amp;", "&")
        .replace("%20", " ")
        .replace("&quot;", "\"")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_forge() {
        let slugs =
            heading_slugs("# Exit codes\n## In cron, systemd and Kubernetes\n```\n# not\n```\n");
        assert!(slugs.contains("exit-codes"));
        assert!(slugs.contains("in-cron-systemd-and-kubernetes"));
        assert!(!slugs.contains("not"));
    }
}
