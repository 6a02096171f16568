//! The lines a run's events print as text while it goes on: errors and warnings on stderr,
//! dry-run actions, differences and (with `-v`) every copy, delete, exclusion and skip on
//! stdout. Each text is escaped with [`shown`]; the console decides when lines are printed.

use std::io::Write;

use crate::endpoint::SkipKind;
use crate::sync::{Action, Event, ItemDone, Planned, Side};
use crate::terminal_text::shown;

/// One line of text, and the stream it goes to.
pub(super) enum Line {
    /// Printed on stdout.
    Out(String),
    /// Printed on stderr.
    Err(String),
}

impl Line {
    /// Prints the line.
    pub(super) fn write(&self) {
        match self {
            Line::Out(text) => outln!("{text}"),
            Line::Err(text) => errln!("{text}"),
        }
    }
}

/// An item error the console counts by kind before it shows it, as (verb, path, error):
/// a failed copy or delete, or a failed listing.
pub(super) fn counted_error<'a>(event: &'a Event<'_>) -> Option<(&'a str, &'a str, &'a str)> {
    match event {
        Event::Done(item) => {
            let error = item.error.as_deref()?;
            Some((item.action.name(), &item.path, error))
        }
        Event::Failed { path, message } => Some(("list", path, message)),
        _ => None,
    }
}

/// The lines an event prints, if it prints at all. A finished item is always printed,
/// even as no line: printing suspends and redraws the progress display.
pub(super) fn lines(event: &Event<'_>, verbose: bool) -> Option<Vec<Line>> {
    let line = match event {
        Event::Done(item) => return Some(done(item, verbose)),
        Event::Failed { path, message } => {
            Line::Err(format!("error: {}: {}", shown(path), shown(message)))
        }
        Event::Skipped {
            path,
            reason,
            kind: SkipKind::Unsyncable,
        } => Line::Err(format!("warning: {}: {}", shown(path), shown(reason))),
        Event::Kept { path, kept, .. } if verbose => {
            Line::Out(format!("kept: {} (as {})", shown(path), shown(kept)))
        }
        Event::Warning(message) => Line::Err(format!("warning: {}", shown(message))),
        Event::Conflict(c) => Line::Out(format!(
            "conflict: {}: {}",
            shown(&c.path),
            shown(&c.reason)
        )),
        Event::Planned {
            action,
            source,
            destination,
            reason,
            carries,
            ..
        } => {
            return Some(planned(
                *action,
                source,
                *destination,
                reason,
                carries,
                verbose,
            ));
        }
        Event::Excluded {
            side,
            path,
            plugin,
            reason,
        } if verbose => excluded(*side, path, plugin, reason),
        Event::Skipped { path, reason, .. } if verbose => {
            Line::Out(format!("skipped: {} ({})", shown(path), shown(reason)))
        }
        _ => return None,
    };
    Some(vec![line])
}

/// A finished copy or delete: its error, or what it did when `verbose` (a rehydration
/// always); else no line.
fn done(item: &ItemDone, verbose: bool) -> Vec<Line> {
    let verb = item.action.name();
    match &item.error {
        Some(error) => vec![Line::Err(format!(
            "error: {verb} {}: {}",
            shown(&item.path),
            shown(error)
        ))],
        None if verbose || item.action == Action::Rehydrate => vec![Line::Out(format!(
            "{verb}: {} ({})",
            shown(&item.path),
            shown(&item.reason)
        ))],
        None => Vec::new(),
    }
}

/// A dry run's action (with what a new blob would carry, when `verbose`), or for `check`
/// a difference.
fn planned(
    action: Planned,
    source: &str,
    destination: Option<&str>,
    reason: &str,
    carries: &str,
    verbose: bool,
) -> Vec<Line> {
    if action.is_difference() {
        let what = match action {
            Planned::OnlyAtSource => "only at the source",
            Planned::OnlyAtDestination => "only at the destination",
            _ => "differs",
        };
        let line = match action {
            Planned::Differs => format!("{what}: {} ({})", shown(source), shown(reason)),
            _ => format!("{what}: {}", shown(source)),
        };
        return vec![Line::Out(line)];
    }
    let verb = action.name();
    let mut lines = vec![Line::Out(match destination {
        Some(to) => format!(
            "DRYRUN: {verb} {} to {} ({})",
            shown(source),
            shown(to),
            shown(reason)
        ),
        None => format!("DRYRUN: {verb} {} ({})", shown(source), shown(reason)),
    })];
    if verbose && !carries.is_empty() {
        lines.push(Line::Out(format!("  it would carry: {}", shown(carries))));
    }
    lines
}

/// An entry a filter excluded, on one side or (its folder excluded on the other) both.
fn excluded(side: Option<Side>, path: &str, plugin: &str, reason: &str) -> Line {
    let side = side.map_or("both", Side::name);
    let by = if plugin.is_empty() {
        String::new()
    } else {
        format!(" by {}", shown(plugin))
    };
    Line::Out(format!(
        "excluded{by} ({side}): {}: {}",
        shown(path),
        shown(reason)
    ))
}
