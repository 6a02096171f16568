//! `blobsync plugin new NAME --kind K --lang L`: writes a plugin project and says how to
//! build, test and try it.

use std::path::Path;
use std::process::ExitCode;

use super::args::{NewKind, NewLang};
use crate::plugin::PluginKind;
use crate::plugin::scaffold::{Lang, create};

/// Runs `blobsync plugin new`.
pub fn run_new(
    name: &str,
    kind: NewKind,
    lang: NewLang,
    into: Option<&Path>,
    data_dir: Option<&Path>,
) -> ExitCode {
    let kind = match kind {
        NewKind::Filter => PluginKind::Filter,
        NewKind::Comparator => PluginKind::Comparator,
        NewKind::Annotator => PluginKind::Annotator,
        NewKind::Resolver => PluginKind::Resolver,
        NewKind::Hook => PluginKind::Hook,
    };
    let lang = match lang {
        NewLang::Rust => Lang::Rust,
        NewLang::Python => Lang::Python,
        NewLang::Js => Lang::Js,
    };
    let parent = into.unwrap_or(Path::new("."));
    match create(name, kind, lang, parent, data_dir) {
        Ok(made) => {
            println!("created {} ({kind} plugin)", made.dir.display());
            println!();
            for line in made.next {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(crate::sync::EXIT_USAGE)
        }
    }
}
