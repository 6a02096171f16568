//! Validating `--shard K/N` and `--shards N` (with K from `JOB_COMPLETION_INDEX`, as a
//! Kubernetes Indexed Job sets it) into the run's [`Shard`].

use crate::sync::Shard;

/// The variable a Kubernetes Indexed Job sets to each pod's completion index.
pub(super) const INDEX_VARIABLE: &str = "JOB_COMPLETION_INDEX";

/// The shard the flags choose, if any; the error is a usage message naming the flag.
/// `index_env` is the value of [`INDEX_VARIABLE`].
pub(super) fn shard(
    shard: Option<&str>,
    shards: Option<&str>,
    index_env: Option<&str>,
) -> Result<Option<Shard>, String> {
    match (shard, shards) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(
            "--shard K/N and --shards N both choose the shard; give --shard K/N, or --shards N \
             with the index in JOB_COMPLETION_INDEX"
                .into(),
        ),
        (Some(text), None) => {
            let (k, n) = text.split_once('/').ok_or_else(|| {
                format!(
                    "--shard {text:?}: give the shard and the number of shards as K/N, e.g. \
                     --shard 0/4 … --shard 3/4"
                )
            })?;
            let count = count(n, &format!("--shard {text:?}"))?;
            let index = k.trim().parse::<u32>().map_err(|_| {
                format!(
                    "--shard {text:?}: K must be a whole number from 0 to {}",
                    count - 1
                )
            })?;
            Shard::new(index, count).ok_or_else(|| {
                format!(
                    "--shard {text:?}: shards are numbered from 0, so K must be below N (0 to {})",
                    count - 1
                )
            })
            .map(Some)
        }
        (None, Some(n)) => {
            let count = count(n, &format!("--shards {n:?}"))?;
            let Some(index) = index_env.map(str::trim).filter(|v| !v.is_empty()) else {
                return Err(format!(
                    "--shards {count} needs this process's shard: give --shard K/{count} \
                     instead, or run it as a Kubernetes Indexed Job, which sets \
                     {INDEX_VARIABLE}"
                ));
            };
            let index = index
                .parse::<u32>()
                .ok()
                .filter(|i| *i < count)
                .ok_or_else(|| {
                    format!(
                        "--shards {count}: {INDEX_VARIABLE}={index} is not a shard from 0 to {} \
                     (the Job's completions must equal --shards)",
                        count - 1
                    )
                })?;
            Ok(Shard::new(index, count))
        }
    }
}

/// N, at least 1.
fn count(text: &str, flag: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{flag}: the number of shards N must be a whole number, at least 1"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_from_the_flag_or_the_kubernetes_index() {
        assert_eq!(shard(None, None, Some("3")).unwrap(), None);
        assert_eq!(shard(Some("2/4"), None, None).unwrap(), Shard::new(2, 4));
        assert_eq!(shard(None, Some("4"), Some("3")).unwrap(), Shard::new(3, 4));
    }

    #[test]
    fn bad_shards_name_the_flag() {
        for (flag, shards, env, needle) in [
            (Some("5/4"), None, None, "--shard \"5/4\""),
            (Some("4/4"), None, None, "below N"),
            (Some("0/0"), None, None, "at least 1"),
            (Some("1"), None, None, "K/N"),
            (Some("x/2"), None, None, "--shard"),
            (Some("1/2"), Some("2"), None, "--shard K/N and --shards N"),
            (None, Some("4"), None, "JOB_COMPLETION_INDEX"),
            (None, Some("4"), Some("4"), "JOB_COMPLETION_INDEX=4"),
            (None, Some("0"), Some("0"), "--shards"),
        ] {
            let e = shard(flag, shards, env).unwrap_err();
            assert!(e.contains(needle), "{flag:?} {shards:?} {env:?}: {e}");
        }
    }
}
