//! The flag reference of the book (`docs/src/reference/flags.md`), generated from
//! blobsync's command-line definition (clap) so that it cannot drift from `--help`.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};

/// The page's first line: what made it.
pub const GENERATED: &str = "<!-- generated from blobsync's command-line definition: do not edit; \
     `BLOBSYNC_UPDATE_DOCS=1 cargo test -p blobsync-tests --test all docs::the_flag_reference` \
     writes it again -->";

/// The flag reference page, in Markdown.
pub fn flag_reference() -> String {
    use clap::CommandFactory as _;
    let mut cli = blobsync::cli::Cli::command();
    cli.build();
    let mut page = format!("{GENERATED}\n# Flags\n\n");
    page.push_str(
        "Every subcommand and flag, generated from the same definition as `blobsync --help` \
         and `blobsync man`. The [guide](../guide/syncing.md) explains them by task; the \
         [flag map](flag-map.md) lines them up with azcopy's and rclone's.\n\n",
    );
    let globals: Vec<&Arg> = cli
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
        .collect();
    if !globals.is_empty() {
        page.push_str("## Flags of every subcommand\n\n");
        for arg in &globals {
            describe_arg(&mut page, arg);
        }
    }
    for sub in cli.get_subcommands() {
        describe_command(&mut page, sub, "blobsync");
    }
    page
}

fn describe_command(page: &mut String, cmd: &Command, parent: &str) {
    if cmd.is_hide_set() || cmd.get_name() == "help" {
        return;
    }
    let path = format!("{parent} {}", cmd.get_name());
    let _ = writeln!(page, "## `{path}`\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(page, "{}\n", about.to_string().trim());
    }
    let mut usage = cmd.clone().bin_name(&path);
    let usage = usage.render_usage().to_string();
    let usage = usage.trim_start_matches("Usage:").trim();
    let _ = writeln!(page, "```text\n{usage}\n```\n");
    let mut heading: Option<String> = None;
    let mut args: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set() && !is_builtin(a))
        .collect();
    args.sort_by_key(|a| (!a.is_positional(), a.get_help_heading().map(str::to_string)));
    for arg in args {
        let this = arg.get_help_heading().map(str::to_string).or_else(|| {
            Some(
                if arg.is_positional() {
                    "Arguments"
                } else {
                    "Options"
                }
                .into(),
            )
        });
        if this != heading {
            let _ = writeln!(page, "### {}\n", this.as_deref().unwrap_or(""));
            heading = this;
        }
        describe_arg(page, arg);
    }
    for sub in cmd.get_subcommands() {
        describe_command(page, sub, &path);
    }
}

fn is_builtin(arg: &Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

fn describe_arg(page: &mut String, arg: &Arg) {
    let _ = writeln!(page, "- `{}`", arg_title(arg));
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    for paragraph in help.trim().split("\n\n") {
        let _ = writeln!(page, "\n  {}", paragraph.replace('\n', "\n  "));
    }
    let mut facts = Vec::new();
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !possible.is_empty() && takes_value(arg) {
        facts.push(format!("one of {}", possible.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_value(arg) {
        facts.push(format!("default `{}`", defaults.join(",")));
    }
    if let Some(env) = arg.get_env() {
        facts.push(format!("environment `{}`", env.to_string_lossy()));
    }
    if !facts.is_empty() {
        let _ = writeln!(page, "\n  ({})", facts.join("; "));
    }
    page.push('\n');
}

fn takes_value(arg: &Arg) -> bool {
    !matches!(
        arg.get_action(),
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count | ArgAction::Help
    )
}

fn arg_title(arg: &Arg) -> String {
    let names = arg
        .get_value_names()
        .map(|v| v.iter().map(|v| v.to_string()).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
    if arg.is_positional() {
        return names.join(" ");
    }
    let mut title = String::new();
    if let Some(short) = arg.get_short() {
        title.push_str(&format!("-{short}, "));
    }
    if let Some(long) = arg.get_long() {
        title.push_str(&format!("--{long}"));
    }
    if takes_value(arg) {
        let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
        let value = names.join(" ");
        if optional {
            title.push_str(&format!("[=<{value}>]"));
        } else {
            title.push_str(&format!(" <{value}>"));
        }
    }
    title
}
