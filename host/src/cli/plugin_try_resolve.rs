//! `blobsync plugin try` for resolvers: the files of the folder (PATH1) and of
//! `--against` (PATH2) that differ are the conflicts of a first two-way run between them;
//! each is put to the resolvers and their ruling shown.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

use crate::plugin::{Choice, Conflict, ConflictFacts, Entry, PluginHost, RunValues};

/// How the resolvers settled one conflict.
pub(super) struct Ruling {
    /// `path1`, `path2`, `keep-both` or `policy` (no opinion).
    pub choice: &'static str,
    /// Why, as the resolver said (after its name); empty for `policy`.
    pub reason: String,
}

impl Ruling {
    /// The ruling as a line of `plugin try`'s text output.
    pub fn describe(&self) -> String {
        match self.choice {
            "policy" => "conflict: no resolver has an opinion (--conflict-resolve decides)".into(),
            "keep-both" => format!("conflict: both versions kept ({})", self.reason),
            side => format!(
                "conflict: {side}'s version keeps the name ({})",
                self.reason
            ),
        }
    }
}

/// The resolvers' ruling on each file of `kept` (below `root`) that differs from the file
/// of the same path below `against`, by path.
pub(super) fn rulings(
    host: &PluginHost,
    values: &RunValues,
    root: &Path,
    against: &Path,
    kept: &[Entry],
) -> Result<HashMap<String, Ruling>, String> {
    let against = std::path::absolute(against).map_err(|e| e.to_string())?;
    let others: HashMap<String, Entry> = super::plugin_try::walk(&against)?
        .into_iter()
        .filter(|e| !e.is_dir)
        .map(|e| (e.path.clone(), e))
        .collect();
    let mut conflicts = Vec::new();
    for entry in kept {
        let Some(other) = others.get(&entry.path) else {
            continue;
        };
        let one = md5_of(&root.join(&entry.path))?;
        let two = md5_of(&against.join(&entry.path))?;
        if entry.size != other.size || one != two {
            conflicts.push(Conflict {
                path: entry.path.clone(),
                last_path1: None,
                last_path2: None,
                path1: facts(entry, one),
                path2: facts(other, two),
            });
        }
    }
    let mut chain = host.resolver_chain_for(values);
    let mut out = HashMap::new();
    for batch in conflicts.chunks(super::plugin_try::BATCH) {
        let answers = chain.resolve(batch).map_err(|e| e.to_string())?;
        for (conflict, answer) in batch.iter().zip(answers) {
            let choice = match answer.choice {
                Choice::Path1 => "path1",
                Choice::Path2 => "path2",
                Choice::KeepBoth => "keep-both",
                Choice::Policy => "policy",
            };
            let ruling = Ruling {
                choice,
                reason: answer.reason,
            };
            out.insert(conflict.path.clone(), ruling);
        }
    }
    Ok(out)
}

fn facts(entry: &Entry, md5: [u8; 16]) -> ConflictFacts {
    ConflictFacts {
        size: entry.size,
        mtime_ns: entry.mtime_ns,
        md5: Some(md5.to_vec()),
    }
}

fn md5_of(path: &Path) -> Result<[u8; 16], String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buf[..n]);
    }
}
