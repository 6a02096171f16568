//! A flag group together with where each of its values came from — the command line, the
//! environment (an argument's clap `env =`) or its default — as clap's
//! `ArgMatches::value_source` says, so that a message names what the user set
//! (`--concurrency lots` or `AZCOPY_CONCURRENCY_VALUE=lots`), and a step can tell a value
//! given from a default.

use std::ops::Deref;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};

/// The flag group `T`, and where each of its values came from. It reads as `T`.
#[derive(Debug)]
pub struct Sourced<T> {
    group: T,
    origins: Vec<Origin>,
}

/// Where one argument's value came from, and its names for messages.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The argument's id (its field's name).
    id: String,
    /// The command line, the environment or the default; `None` when it has no value.
    source: Option<ValueSource>,
    /// `--flag`.
    flag: String,
    /// The variable clap reads it from, if any.
    variable: Option<String>,
}

impl Origin {
    /// Where the value came from (`None`: it has none).
    pub fn source(&self) -> Option<ValueSource> {
        self.source
    }

    /// True when the value was given (on the command line or in the environment), not
    /// left to its default.
    pub fn given(&self) -> bool {
        matches!(
            self.source,
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    }

    /// True when the value came from the environment variable.
    pub fn by_variable(&self) -> bool {
        self.source == Some(ValueSource::EnvVariable)
    }

    /// The flag (`--account-key`), or its variable when that gave the value.
    pub fn name(&self) -> &str {
        match (&self.variable, self.by_variable()) {
            (Some(variable), true) => variable,
            _ => &self.flag,
        }
    }

    /// `--flag VALUE`, or `VARIABLE=VALUE` when the variable gave it.
    pub fn label(&self, value: &str) -> String {
        if self.by_variable() {
            format!("{}={value}", self.name())
        } else {
            format!("{} {value}", self.name())
        }
    }

    /// `--flag`, or `the VARIABLE variable`: for a secret, whose value is never shown.
    pub fn label_without_value(&self) -> String {
        if self.by_variable() {
            format!("the {} variable", self.name())
        } else {
            self.flag.clone()
        }
    }
}

impl<T> Sourced<T> {
    /// Where the value of the argument `id` (its field's name) came from.
    ///
    /// # Panics
    /// If `T` has no argument `id`: a misspelt id is a bug, caught by any test that reads it.
    pub fn origin(&self, id: &str) -> &Origin {
        self.origins
            .iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("no argument {id} in this flag group"))
    }
}

impl<T> Deref for Sourced<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.group
    }
}

/// Where each of `T`'s arguments got its value in `matches`.
fn origins<T: Args>(matches: &ArgMatches) -> Vec<Origin> {
    T::augment_args(Command::new("group"))
        .get_arguments()
        .map(|arg| Origin {
            id: arg.get_id().to_string(),
            source: matches.value_source(arg.get_id().as_str()),
            flag: arg
                .get_long()
                .map_or_else(|| arg.get_id().to_string(), |l| format!("--{l}")),
            variable: arg.get_env().map(|v| v.to_string_lossy().into_owned()),
        })
        .collect()
}

impl<T: Args> Args for Sourced<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(cmd: Command) -> Command {
        T::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        T::augment_args_for_update(cmd)
    }
}

impl<T: Args + FromArgMatches> FromArgMatches for Sourced<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        // Read before `T` takes its values out of the matches.
        let origins = origins::<T>(matches);
        Ok(Sourced {
            group: T::from_arg_matches_mut(matches)?,
            origins,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.update_from_arg_matches_mut(&mut matches.clone())
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.origins = origins::<T>(matches);
        self.group.update_from_arg_matches_mut(matches)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Args)]
    struct Group {
        /// A number.
        #[arg(long, default_value_t = 3)]
        number: u32,
        /// A word.
        #[arg(long, env = "BLOBSYNC_TEST_SOURCED_WORD_NEVER_SET")]
        word: Option<String>,
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        group: Sourced<Group>,
    }

    #[test]
    fn each_value_says_where_it_came_from() {
        let cli = Cli::try_parse_from(["cli", "--word", "hello"]).unwrap();
        assert_eq!(cli.group.word.as_deref(), Some("hello"));
        let word = cli.group.origin("word");
        assert_eq!(word.source(), Some(ValueSource::CommandLine));
        assert!(word.given() && !word.by_variable());
        assert_eq!(word.label("hello"), "--word hello");
        assert_eq!(word.label_without_value(), "--word");
        let number = cli.group.origin("number");
        assert_eq!(cli.group.number, 3);
        assert_eq!(number.source(), Some(ValueSource::DefaultValue));
        assert!(!number.given());
        let none = Cli::try_parse_from(["cli"]).unwrap();
        assert_eq!(none.group.origin("word").source(), None);
    }

    #[test]
    fn a_value_from_the_environment_is_named_by_its_variable() {
        let origin = Origin {
            id: "word".into(),
            source: Some(ValueSource::EnvVariable),
            flag: "--word".into(),
            variable: Some("WORD".into()),
        };
        assert_eq!(origin.label("hi"), "WORD=hi");
        assert_eq!(origin.label_without_value(), "the WORD variable");
        assert_eq!(origin.name(), "WORD");
    }

    #[test]
    #[should_panic(expected = "no argument nmber")]
    fn a_misspelt_id_is_caught() {
        let cli = Cli::try_parse_from(["cli"]).unwrap();
        let _ = cli.group.origin("nmber");
    }
}
