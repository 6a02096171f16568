//! `--include-path` (azcopy) and `--files-from` (rclone): a run limited to named files and
//! folders, listed by prefix instead of in full; deletes stay inside them.

use std::io::Read;

/// Checks one relative path and normalises it (no leading or trailing `/`).
fn scope(raw: &str, from: &str) -> Result<Option<String>, String> {
    let path = raw.trim().trim_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!(
            "{from}: {raw:?} is not a relative path below the synced folder (no `.`, `..` or \
             empty segments)"
        ));
    }
    Ok(Some(path.to_string()))
}

/// The scopes named by `--include-path 'a/b;c.txt'` and `--files-from FILE` (one path per
/// line, `-` for standard input, blank lines and lines starting with `#` or `;` skipped):
/// sorted, without duplicates or paths below another. `None` when neither is given.
pub(super) fn scopes(
    include_path: Option<&str>,
    files_from: &[std::path::PathBuf],
) -> Result<Option<Vec<String>>, String> {
    if include_path.is_none() && files_from.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    if let Some(list) = include_path {
        for part in list.split(';') {
            out.extend(scope(part, "--include-path")?);
        }
    }
    for file in files_from {
        let label = format!("--files-from {}", file.display());
        let text = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("{label}: cannot read standard input: {e}"))?;
            text
        } else {
            std::fs::read_to_string(file).map_err(|e| format!("{label}: {e}"))?
        };
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            out.extend(scope(trimmed, &label)?);
        }
    }
    if out.is_empty() {
        return Err(
            "--include-path/--files-from name no path: nothing would be synced (drop the flag \
             to sync everything)"
                .into(),
        );
    }
    out.sort();
    out.dedup();
    // A path below another named one is already in scope.
    let mut kept: Vec<String> = Vec::with_capacity(out.len());
    for path in out {
        if !kept
            .iter()
            .any(|k| path.starts_with(k.as_str()) && path.as_bytes().get(k.len()) == Some(&b'/'))
        {
            kept.push(path);
        }
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_both_flags_are_normalised_and_collapsed() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        std::fs::write(
            &list,
            "# a comment\n\n  /docs/  \n; another\ndocs/a.txt\nz.txt\n",
        )
        .unwrap();
        assert_eq!(
            scopes(Some("c/d.txt;;a/b/"), &[list]).unwrap().unwrap(),
            ["a/b", "c/d.txt", "docs", "z.txt"]
        );
        assert_eq!(scopes(None, &[]).unwrap(), None);
    }

    #[test]
    fn escaping_or_empty_scopes_are_refused() {
        for bad in ["../etc", "a/./b", "a//b"] {
            let e = scopes(Some(bad), &[]).unwrap_err();
            assert!(e.starts_with("--include-path") && e.contains(bad), "{e}");
        }
        assert!(
            scopes(Some(";;"), &[])
                .unwrap_err()
                .contains("nothing would be synced")
        );
        let e = scopes(None, &["/nonexistent/list".into()]).unwrap_err();
        assert!(e.starts_with("--files-from /nonexistent/list"), "{e}");
    }
}
