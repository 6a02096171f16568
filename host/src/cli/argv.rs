//! The command line before clap reads it. `--suffix -2026-12-01` is what a user types (and
//! what `--suffix "-$(date +%F)"` expands to), but clap takes a value that starts with `-`
//! for another flag. A value that starts with `-` and a digit cannot be a flag, so it is
//! joined to its option (`--suffix=-2026-12-01`); a value that looks like a flag
//! (`--suffix --dry-run`) is left for clap to refuse, with its hint to write `=`. A
//! `sync` flag given to `check` is refused by clap as unknown, with a hint saying why.

use std::ffi::OsString;

/// Options whose value is free text that may start with `-`.
const FREE_TEXT: &[&str] = &["--suffix"];

/// The arguments with a `-digit…` value joined to its option.
pub fn join_dash_values(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let takes_text = arg.to_str().is_some_and(|a| FREE_TEXT.contains(&a));
        let next_is_dash_digit = args.peek().and_then(|n| n.to_str()).is_some_and(|n| {
            let mut chars = n.chars();
            chars.next() == Some('-') && chars.next().is_some_and(|c| c.is_ascii_digit())
        });
        if takes_text
            && next_is_dash_digit
            && let Some(value) = args.next()
        {
            let mut joined = arg;
            joined.push("=");
            joined.push(value);
            out.push(joined);
        } else {
            out.push(arg);
        }
    }
    out
}

/// A hint for a free-text option followed by something that looks like a flag
/// (`--suffix --dry-run`): clap then says a value is missing; this says how to give one.
pub fn dash_value_hint(args: &[OsString]) -> Option<String> {
    args.windows(2).find_map(|pair| {
        let (option, value) = (pair[0].to_str()?, pair[1].to_str()?);
        (FREE_TEXT.contains(&option) && value.starts_with('-')).then(|| {
            format!(
                "tip: {value:?} was read as a flag; if it is the value of {option}, write \
                 {option}={value}"
            )
        })
    })
}

/// A hint for a flag clap found unknown in `blobsync check` that `blobsync sync` has: one
/// that shapes what a sync writes or deletes, which `check` has none of. Both flag sets
/// are read from clap's definition.
pub fn check_flag_hint(args: &[OsString], unknown: &str) -> Option<String> {
    use clap::CommandFactory as _;
    let flag = unknown.split('=').next()?.strip_prefix("--")?;
    let in_check = args.iter().any(|a| a == "check");
    let cli = super::args::Cli::command();
    let has = |subcommand: &str| {
        cli.find_subcommand(subcommand)
            .is_some_and(|c| c.get_arguments().any(|a| a.get_long() == Some(flag)))
    };
    (in_check && has("sync") && !has("check")).then(|| {
        format!(
            "tip: --{flag} shapes what `blobsync sync` writes or deletes; `blobsync check` \
             changes nothing, so it has no such flag"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(args: &[&str]) -> Vec<String> {
        join_dash_values(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_dash_digit_suffix_is_joined_and_a_flag_is_left_alone() {
        assert_eq!(
            joined(&[
                "blobsync",
                "sync",
                "a",
                "b",
                "--suffix",
                "-2026-12-01",
                "-v"
            ]),
            ["blobsync", "sync", "a", "b", "--suffix=-2026-12-01", "-v"]
        );
        assert_eq!(
            joined(&["blobsync", "--suffix", "--dry-run"]),
            ["blobsync", "--suffix", "--dry-run"]
        );
        assert_eq!(joined(&["--max-delete", "-1"]), ["--max-delete", "-1"]);
        assert_eq!(joined(&["--suffix"]), ["--suffix"]);
    }

    #[test]
    fn a_flag_like_value_gets_a_hint_to_write_it_with_equals() {
        let args: Vec<OsString> = ["sync", "--suffix", "--dry-run"].map(OsString::from).into();
        assert_eq!(
            dash_value_hint(&args).as_deref(),
            Some(
                "tip: \"--dry-run\" was read as a flag; if it is the value of --suffix, write --suffix=--dry-run"
            )
        );
        let fine: Vec<OsString> = ["sync", "--suffix=-x", "--dry-run"]
            .map(OsString::from)
            .into();
        assert_eq!(dash_value_hint(&fine), None);
    }

    #[test]
    fn a_sync_flag_given_to_check_gets_a_hint() {
        let args: Vec<OsString> = ["blobsync", "check", "a", "b", "--delete-destination=true"]
            .map(OsString::from)
            .into();
        let hint = check_flag_hint(&args, "--delete-destination").unwrap();
        assert!(hint.contains("--delete-destination"), "{hint}");
        assert_eq!(check_flag_hint(&args, "--no-such-flag"), None);
        let sync: Vec<OsString> = ["blobsync", "sync", "a", "b"].map(OsString::from).into();
        assert_eq!(check_flag_hint(&sync, "--delete-destination"), None);
    }
}
