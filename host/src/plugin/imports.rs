//! Which imports a plugin may have: WASI 0.2 and blobsync's own interfaces. The loader
//! and `blobsync plugin inspect` both ask [`check`], so inspect's "loadable" never
//! disagrees with a load.

use std::fmt;

/// What an accepted import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportClass {
    /// One of blobsync's interfaces (`blobsync:plugin/…`).
    Blobsync,
    /// A WASI 0.2 interface, linked with nothing granted.
    Wasi,
    /// wasi:http, linked with every request denied unless the manifest grants origins.
    Http,
}

impl fmt::Display for ImportClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImportClass::Blobsync => "blobsync",
            ImportClass::Wasi => "WASI 0.2",
            ImportClass::Http => "wasi:http",
        })
    }
}

/// The WASI 0.2 interfaces blobsync links, by package.
const WASI: &[(&str, &[&str])] = &[
    ("io", &["error", "poll", "streams"]),
    ("clocks", &["monotonic-clock", "wall-clock"]),
    ("random", &["random", "insecure", "insecure-seed"]),
    (
        "cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ),
    ("filesystem", &["types", "preopens"]),
    (
        "sockets",
        &[
            "network",
            "instance-network",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
            "ip-name-lookup",
        ],
    ),
    ("http", &["types", "outgoing-handler"]),
];

/// blobsync's interfaces by `blobsync:plugin` minor version.
const BLOBSYNC: &[(&str, &[&str])] = &[
    ("0.1.", &["host", "output", "types"]),
    ("0.2.", &["host", "output", "types", "content", "two-way"]),
];

/// Accepts an import name (`wasi:io/poll@0.2.9`) or says why it is refused.
pub fn check(name: &str) -> Result<ImportClass, String> {
    let refuse = |why: &str| Err(format!("`{name}`, {why}"));
    let Some((path, version)) = name.split_once('@') else {
        return refuse("an unversioned import blobsync does not provide");
    };
    let Some((package, interface)) = path.split_once('/') else {
        return refuse("a bare function or instance blobsync does not provide");
    };
    match package.split_once(':') {
        Some(("wasi", pkg)) => {
            let known = WASI
                .iter()
                .any(|(p, interfaces)| *p == pkg && interfaces.contains(&interface));
            if !known {
                return refuse("which is outside the WASI 0.2 CLI and HTTP interfaces");
            }
            if !version.starts_with("0.2.") {
                return refuse("a WASI version other than 0.2.x (blobsync links WASI 0.2)");
            }
            Ok(if pkg == "http" {
                ImportClass::Http
            } else {
                ImportClass::Wasi
            })
        }
        Some(("blobsync", "plugin")) => {
            let known = BLOBSYNC.iter().any(|(prefix, interfaces)| {
                version.starts_with(prefix) && interfaces.contains(&interface)
            });
            if known {
                Ok(ImportClass::Blobsync)
            } else {
                refuse("which this blobsync does not implement")
            }
        }
        _ => refuse("which is neither WASI 0.2 nor a blobsync interface"),
    }
}

/// The refused imports of a component, each with why, for an error message.
pub fn refused<'a>(imports: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    imports
        .into_iter()
        .filter_map(|name| check(name).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_02_and_blobsync_interfaces_are_accepted() {
        for name in [
            "wasi:io/poll@0.2.9",
            "wasi:cli/environment@0.2.12",
            "wasi:sockets/tcp@0.2.0",
            "blobsync:plugin/host@0.1.0",
            "blobsync:plugin/content@0.2.0",
        ] {
            assert!(check(name).is_ok(), "{name}");
        }
        assert_eq!(check("wasi:http/types@0.2.10"), Ok(ImportClass::Http));
    }

    #[test]
    fn everything_else_is_refused_by_name() {
        for name in [
            "wasi:cli/run@0.2.0",
            "wasi:io/poll@0.3.0",
            "wasi:keyvalue/store@0.2.0",
            "blobsync:plugin/content@0.1.0",
            "blobsync:plugin/host@0.3.0",
            "acme:spy/exfiltrate@1.0.0",
            "log",
        ] {
            let err = check(name).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
    }
}
