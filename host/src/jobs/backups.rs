//! The versions runs kept in a backup location (`--backup-dir`): recorded in the job
//! database as they are kept, and listed by `blobsync backups list PATH` — from the
//! records, or by scanning a backup location for names a version of PATH would have.

use std::path::Path;

use crate::store::{Store, StoreError};

/// One kept version of an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Kept {
    /// 1 for the newest.
    pub number: usize,
    /// Where the entry was: an absolute path, or a URL without SAS.
    pub original: String,
    /// Where the version is kept.
    pub kept: String,
    /// When it was kept (ms since the Unix epoch), or the kept copy's time when scanned.
    pub time_ms: i64,
    /// Its size.
    pub size: u64,
    /// The job that kept it (empty when scanned).
    pub job_id: String,
}

/// How a location is recorded and looked up: a URL without its query (the SAS), a local
/// path made absolute.
pub fn location_key(location: &str) -> String {
    if crate::endpoint::azure::is_url(location) {
        return location.split('?').next().unwrap_or(location).to_string();
    }
    std::path::absolute(Path::new(location))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| location.to_string())
}

/// The versions of `original` the job records hold, newest first, numbered.
pub fn recorded(store: &Store, original: &str) -> Result<Vec<Kept>, StoreError> {
    let key = location_key(original);
    let rows = store.read(|c| {
        let mut stmt = c.prepare(
            "SELECT kept, time_ms, size, job_id FROM backups WHERE original = ?1 \
             ORDER BY time_ms DESC",
        )?;
        stmt.query_map([&key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, (kept, time_ms, size, job_id))| Kept {
            number: i + 1,
            original: key.clone(),
            kept,
            time_ms,
            size: size.max(0) as u64,
            job_id,
        })
        .collect())
}

/// True when `name` could be a kept version of a file named `file`: the name with a
/// suffix after it (`report.pdf-2024-06-01`) or before its extension
/// (`report-2024-06-01.pdf`, `--suffix-keep-extension`).
pub fn is_version_name(name: &str, file: &str) -> bool {
    if name == file {
        return true;
    }
    if let Some(rest) = name.strip_prefix(file)
        && !rest.is_empty()
    {
        return true;
    }
    match file.rfind('.').filter(|&i| i > 0) {
        Some(dot) => {
            let (stem, ext) = file.split_at(dot);
            name.len() > file.len() && name.starts_with(stem) && name.ends_with(ext)
        }
        None => false,
    }
}

/// Numbers scanned versions, newest first.
pub fn numbered(mut found: Vec<Kept>) -> Vec<Kept> {
    found.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then_with(|| a.kept.cmp(&b.kept)));
    for (i, k) in found.iter_mut().enumerate() {
        k.number = i + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_names_carry_a_suffix_after_the_name_or_before_the_extension() {
        for kept in [
            "report.pdf",
            "report.pdf-2024-06-01",
            "report-2024-06-01.pdf",
            "report.pdf.bak",
        ] {
            assert!(is_version_name(kept, "report.pdf"), "{kept}");
        }
        for other in ["report.txt", "annual-report.pdf", "repo.pdf"] {
            assert!(!is_version_name(other, "report.pdf"), "{other}");
        }
        assert!(is_version_name(".env-1", ".env"));
    }

    #[test]
    fn locations_are_keyed_without_sas_and_absolute() {
        assert_eq!(
            location_key("https://a.blob.core.windows.net/c/x.txt?sv=1&sig=s"),
            "https://a.blob.core.windows.net/c/x.txt"
        );
        assert!(location_key("rel/x.txt").starts_with('/'));
    }
}
