//! Every flag of every subcommand that takes a size, a duration, a point in time or an
//! age is parsed by the one grammar of [`crate::units`], found through clap's own
//! definition of the command line (so a new flag cannot slip past with its own parser).

use std::any::TypeId;

use clap::CommandFactory;

use super::Cli;
use crate::units::{Age, ByteSize, Moment, Span};

/// Flags that take a plain number in the unit their name says, as azcopy names them.
const NUMBERS_IN_A_NAMED_UNIT: &[&str] = &[
    "block-size-mb",
    "put-blob-size-mb",
    "buffer-mb",
    "cap-mbps",
    "watch-debounce-ms",
];

/// Words in a flag's name that mean it takes a size or a time.
const TELLTALES: &[&str] = &[
    "size", "timeout", "window", "age", "duration", "after", "before", "older", "rescan", "stats",
    "transfer",
];

fn all_args(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
    for arg in cmd.get_arguments() {
        out.push((path.to_string(), arg.clone()));
    }
    for sub in cmd.get_subcommands() {
        all_args(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn every_size_duration_and_time_flag_is_parsed_by_the_one_grammar() {
    let mut args = Vec::new();
    all_args(&Cli::command(), "blobsync", &mut args);
    let grammar = [
        ("SIZE", TypeId::of::<ByteSize>()),
        ("DURATION", TypeId::of::<Span>()),
        ("TIME", TypeId::of::<Moment>()),
        ("AGE", TypeId::of::<Age>()),
    ];
    let mut typed = 0;
    for (command, arg) in &args {
        let Some(long) = arg.get_long() else { continue };
        if !arg.get_action().takes_values() {
            continue;
        }
        let value_names: Vec<String> = arg
            .get_value_names()
            .unwrap_or_default()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let parser = arg.get_value_parser().type_id();
        for (name, type_id) in grammar {
            let named = value_names.iter().any(|n| n == name);
            assert_eq!(
                named,
                parser == type_id,
                "{command} --{long}: a {name} value must be parsed as crate::units' type, \
                 and that type shown as {name}"
            );
            typed += usize::from(named);
        }
        let telltale = long.split('-').any(|word| TELLTALES.contains(&word));
        let in_grammar = grammar.iter().any(|(_, t)| parser == *t);
        if telltale && !in_grammar {
            assert!(
                NUMBERS_IN_A_NAMED_UNIT.contains(&long)
                    || long.contains("include-")
                    || long.contains("exclude-")
                    || long.contains("backup"),
                "{command} --{long} sounds like a size or a time but is not parsed by the one \
                 grammar (crate::units)"
            );
        }
    }
    assert!(typed >= 12, "only {typed} flags found in the grammar");
}
