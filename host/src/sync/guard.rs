//! `--max-changes`: before anything is written, a plan that would overwrite or delete more
//! than N destination entries (or more than P % of them) is refused whole — what a backup
//! needs when the source goes bad (encrypted, truncated, an empty mount).

use super::config::ChangeLimit;
use super::work::Work;
use crate::endpoint::Item;

/// How many paths the refusal lists.
const SAMPLE: usize = 10;

/// Why the plan is refused, if it is: `work` is every planned copy and update, `deletes`
/// the planned deletes (empty when not deleting), `destination_files` what the
/// destination holds.
pub(crate) fn refusal(
    limit: ChangeLimit,
    work: &[Work],
    deletes: &[Item],
    destination_files: u64,
) -> Option<String> {
    let overwrites: Vec<&str> = work
        .iter()
        .filter_map(|w| match w {
            Work::Copy(c) if c.replaces.is_some() => Some(c.item.path.as_str()),
            _ => None,
        })
        .collect();
    let changes = (overwrites.len() + deletes.len()) as u64;
    let (allowed, described) = match limit {
        ChangeLimit::Count(n) => (n, format!("{n}")),
        ChangeLimit::Percent(p) => (
            (destination_files as f64 * p / 100.0).floor() as u64,
            format!("{p}% of the {destination_files} files at the destination"),
        ),
    };
    if changes <= allowed {
        return None;
    }
    let sample: Vec<&str> = overwrites
        .iter()
        .copied()
        .chain(deletes.iter().map(|d| d.path.as_str()))
        .take(SAMPLE)
        .collect();
    Some(format!(
        "the run would overwrite {} and delete {} destination entries ({changes} changes), more \
         than --max-changes {described}; nothing was changed. Check the source (is it complete \
         and readable?), then raise --max-changes for this run if the changes are wanted. Some \
         of them: {}{}",
        overwrites.len(),
        deletes.len(),
        sample.join(", "),
        if changes as usize > sample.len() {
            ", …"
        } else {
            ""
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Version;
    use crate::sync::work::PlannedCopy;

    fn copy(path: &str, replaces: bool) -> Work {
        let item = Item::new(path, 1, 1);
        Work::Copy(PlannedCopy {
            to: None,
            replaces: replaces.then(|| Version::of(&item)),
            item,
            reason: String::new(),
            delete_first: false,
            metadata: Vec::new(),
            settings: Default::default(),
            backup: None,
        })
    }

    #[test]
    fn overwrites_and_deletes_count_new_files_do_not() {
        let work: Vec<Work> = (0..100)
            .map(|i| copy(&format!("f{i}"), i < 50))
            .chain((0..500).map(|i| copy(&format!("new{i}"), false)))
            .collect();
        let deletes = vec![Item::new("gone", 1, 1)];
        // 51 changes of 200 files.
        let refused = refusal(ChangeLimit::Percent(10.0), &work, &deletes, 200).unwrap();
        assert!(
            refused.contains("overwrite 50 and delete 1")
                && refused.contains("10% of the 200 files")
                && refused.contains("f0, f1"),
            "{refused}"
        );
        assert!(refusal(ChangeLimit::Percent(30.0), &work, &deletes, 200).is_none());
        assert!(refusal(ChangeLimit::Count(51), &work, &deletes, 200).is_none());
        assert!(refusal(ChangeLimit::Count(50), &work, &deletes, 200).is_some());
    }
}
