//! The walk with folders read ahead: the same entries in the same order as reading each
//! folder in turn, skipped folders never entered, nothing left waiting.

use std::path::Path;

use super::LocalOptions;
use super::folder::{Child, Reading};
use super::read_ahead::AHEAD;
use super::walk::LocalLister;
use crate::endpoint::{ListOrder, Listed, Lister};

/// A tree wider and deeper than the read-ahead: folders `dNN/eNN/` with files at each level.
fn tree(root: &Path) {
    for d in 0..(AHEAD + 6) {
        let dir = root.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), b"a").unwrap();
        for e in 0..3 {
            let sub = dir.join(format!("e{e}"));
            std::fs::create_dir(&sub).unwrap();
            std::fs::write(sub.join("f.txt"), b"f").unwrap();
        }
    }
    std::fs::write(root.join("top.txt"), b"t").unwrap();
}

/// What a walk that reads each folder as it enters it lists, depth-first.
fn one_at_a_time(reading: &Reading, key: &str, out: &mut Vec<String>) {
    for child in reading.read_dir(key).unwrap().children {
        match child {
            Child::File(item) => out.push(item.path),
            Child::Dir { key, .. } => {
                out.push(key.clone());
                one_at_a_time(reading, &key, out);
            }
            Child::Other(listed) => out.push(listed.key().to_string()),
        }
    }
}

/// Every entry `lister` lists (folders with a trailing `/`), skipping folders `skip` picks.
fn listed(mut lister: LocalLister, skip: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(batch) = lister.next_batch() {
        for entry in batch.unwrap() {
            match entry {
                Listed::Dir(dir) => {
                    out.push(format!("{}/", dir.path));
                    if skip(&dir.path) {
                        lister.skip(&dir.path);
                    }
                }
                Listed::File(item) => out.push(item.path),
                other => out.push(other.key().to_string()),
            }
        }
    }
    assert_eq!(
        lister.waiting(),
        0,
        "every folder read ahead was taken or forgotten"
    );
    out
}

#[test]
fn folders_read_ahead_come_in_the_order_of_one_at_a_time() {
    let root = tempfile::tempdir().unwrap();
    tree(root.path());
    let reading = Reading {
        root: root.path().to_path_buf(),
        options: LocalOptions::default(),
        order: ListOrder::UTF16,
    };
    let mut expected = Vec::new();
    one_at_a_time(&reading, "", &mut expected);
    assert_eq!(expected.len(), 1 + (AHEAD + 6) * 8);
    let lister = LocalLister::new(
        root.path().to_path_buf(),
        LocalOptions::default(),
        ListOrder::UTF16,
        &[],
    );
    assert_eq!(listed(lister, |_| false), expected);
}

#[test]
fn a_skipped_folder_is_not_entered_even_when_read_ahead() {
    let root = tempfile::tempdir().unwrap();
    tree(root.path());
    let lister = LocalLister::new(
        root.path().to_path_buf(),
        LocalOptions::default(),
        ListOrder::UTF16,
        &[],
    );
    let skipped = |p: &str| p.ends_with("e1") || p == "d03" || p == "d40";
    let got = listed(lister, skipped);
    assert!(
        got.contains(&"d03/".to_string()),
        "the folder itself is listed"
    );
    assert!(
        !got.iter().any(|p| p.starts_with("d03/") && p != "d03/"),
        "{got:?}"
    );
    assert!(!got.iter().any(|p| p.starts_with("d40/a")), "{got:?}");
    assert!(!got.contains(&"d00/e1/f.txt".to_string()));
    assert!(got.contains(&"d00/e2/f.txt".to_string()));
    assert!(got.contains(&"d69/e0/f.txt".to_string()));
}
