//! Cron's rules for a file in `/etc/cron.d` (or a crontab), checked the way Debian's cron
//! reads it — it has no check mode of its own, and a file it cannot read is skipped with
//! a line in syslog only:
//!
//! - one entry per line: cron knows no `\` continuation;
//! - five time fields (or `@reboot`, `@daily`, …), then, in `/etc/cron.d`, a user;
//! - `%` in the command is a newline (the rest is stdin) unless escaped as `\%`;
//! - `PATH` is short (`/usr/bin:/bin`): the command names its program by absolute path;
//! - the last line ends with a newline, or cron ignores it.

/// An entry cron would run.
#[derive(Debug, PartialEq, Eq)]
pub struct CronEntry {
    /// The line (1-based).
    pub line: usize,
    /// The schedule as written: five fields or an `@` word.
    pub schedule: String,
    /// The user (`/etc/cron.d`), if the file has one.
    pub user: Option<String>,
    /// The command, as the shell gets it (`\%` unescaped).
    pub command: String,
}

/// Whether entries have a user field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronTable {
    /// A file in `/etc/cron.d` (or `/etc/crontab`): a user field.
    System,
    /// A user's crontab (`crontab -e`): no user field.
    User,
}

const FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

const SPECIAL: &[&str] = &[
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// The entries of a cron file, or every rule it breaks.
pub fn parse_cron(text: &str, table: CronTable) -> Result<Vec<CronEntry>, Vec<String>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    if !text.is_empty() && !text.ends_with('\n') {
        errors.push("the last line does not end with a newline: cron ignores it".to_string());
    }
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.ends_with('\\') {
            errors.push(format!(
                "line {n}: ends with \\: cron has no continuation lines"
            ));
            continue;
        }
        if is_assignment(line) {
            continue;
        }
        match parse_entry(n, line, table) {
            Ok(entry) => entries.push(entry),
            Err(e) => errors.push(format!("line {n}: {e}: {line}")),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn is_assignment(line: &str) -> bool {
    let name = line.split('=').next().unwrap_or("").trim();
    line.contains('=')
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.chars().next().unwrap().is_ascii_digit()
}

fn parse_entry(n: usize, line: &str, table: CronTable) -> Result<CronEntry, String> {
    let mut rest = line;
    let mut take = || {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        rest = rest[word_end..].trim_start();
        word
    };
    let first = take();
    let schedule = if first.starts_with('@') {
        if !SPECIAL.contains(&first) {
            return Err(format!("{first} is not a schedule cron knows"));
        }
        first.to_string()
    } else {
        let mut fields = vec![first];
        for _ in 1..5 {
            fields.push(take());
        }
        for (value, (name, lo, hi, names)) in fields.iter().zip(FIELDS) {
            check_field(value, lo, hi, names).map_err(|e| format!("bad {name} {value:?}: {e}"))?;
        }
        fields.join(" ")
    };
    let user = match table {
        CronTable::System => Some(take().to_string()).filter(|u| !u.is_empty()),
        CronTable::User => None,
    };
    if table == CronTable::System && user.is_none() {
        return Err("no user field".to_string());
    }
    let command = rest;
    if command.is_empty() {
        return Err("no command".to_string());
    }
    if let Some(at) = unescaped_percent(command) {
        return Err(format!(
            "an unescaped % at {at} of the command: cron cuts the command there (write \\%)"
        ));
    }
    let program = command.split_whitespace().next().unwrap();
    if !program.starts_with('/') {
        return Err(format!(
            "{program} is not an absolute path: cron's PATH is /usr/bin:/bin"
        ));
    }
    Ok(CronEntry {
        line: n,
        schedule,
        user,
        command: command.replace("\\%", "%"),
    })
}

fn unescaped_percent(command: &str) -> Option<usize> {
    let bytes = command.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'%' && (i == 0 || bytes[i - 1] != b'\\'))
}

fn check_field(value: &str, lo: u32, hi: u32, names: &[&str]) -> Result<(), String> {
    for item in value.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            let step: u32 = step.parse().map_err(|_| format!("step {step:?}"))?;
            if step == 0 {
                return Err("a step of 0".to_string());
            }
        }
        if range == "*" {
            continue;
        }
        let number = |s: &str| -> Result<u32, String> {
            let n = match names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
                Some(i) => i as u32 + lo,
                None => s.parse().map_err(|_| format!("{s:?} is not a number"))?,
            };
            if (lo..=hi).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{n} is outside {lo}-{hi}"))
            }
        };
        match range.split_once('-') {
            Some((a, b)) => {
                if number(a)? > number(b)? {
                    return Err(format!("the range {range} runs backwards"));
                }
            }
            None => {
                number(range)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_rules() {
        let good = "SHELL=/bin/sh\n# c\n17 2 * * * root /usr/local/bin/x --a \\%F\n@daily root /bin/true\n*/15 1-5 * jan-mar mon,wed root /bin/y\n";
        let entries = parse_cron(good, CronTable::System).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].command, "/usr/local/bin/x --a %F");
        for (bad, why) in [
            ("0 2 * * * root /bin/x \\\n  --y\n", "continuation"),
            ("0 2 * * * root /bin/x 5%\n", "unescaped %"),
            ("0 2 * * * root blobsync sync\n", "absolute path"),
            ("61 2 * * * root /bin/x\n", "outside"),
            ("0 2 * * * root /bin/x", "newline"),
            ("0 2 * * *\n", "user field"),
        ] {
            let errors = parse_cron(bad, CronTable::System).unwrap_err().join("\n");
            assert!(errors.contains(why), "{bad:?}: {errors}");
        }
        assert!(parse_cron("0 2 * * * /bin/x\n", CronTable::User).is_ok());
    }
}
