//! Rust plugins: compile the crate to wasm32 and wrap the module into a component.
//!
//! Two toolchains are supported, detected in this order:
//! 1. rustup with the `wasm32-unknown-unknown` target installed (a plain `cargo build`);
//! 2. Debian's `rustc-web`/`cargo-web` with `rust-web-src` and `lld` (std is built from
//!    source with `-Z build-std`, which needs `RUSTC_BOOTSTRAP=1`).
//!
//! `BLOBSYNC_WASM_TOOLCHAIN=rustup|debian` forces one. The build is reproducible: the
//! release profile is fixed on the command line and source paths are remapped, so the
//! same source gives the same bytes on any machine with the same toolchain.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::project::{BuildEnvironment, BuildError, BuildOptions, Built, write_component};

/// A detected wasm toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's cargo with the wasm32-unknown-unknown target installed.
    Rustup,
    /// Debian's rustc-web + rust-web-src, with a wasm linker.
    Debian {
        /// `/usr/bin/rustc`.
        rustc: PathBuf,
        /// `/usr/bin/cargo`.
        cargo: PathBuf,
        /// The std sources (`/usr/src/rustc-VERSION`).
        src: PathBuf,
        /// A `wasm-ld` (or `wasm-ld-NN`) on PATH.
        linker: PathBuf,
    },
}

const TARGET: &str = "wasm32-unknown-unknown";

const HOW_TO_INSTALL: &str = "Install one of:\n  \
    - rustup:  rustup target add wasm32-unknown-unknown\n  \
    - Debian:  apt-get install rustc-web cargo-web rust-web-src lld-22\n\
    (set BLOBSYNC_WASM_TOOLCHAIN=rustup|debian to choose when both are present)";

/// Finds a toolchain, or says what is missing.
pub fn detect_toolchain(environment: &BuildEnvironment) -> Result<Toolchain, BuildError> {
    let forced = environment
        .var("BLOBSYNC_WASM_TOOLCHAIN")
        .and_then(|v| v.to_str());
    let mut notes = Vec::new();
    if forced != Some("debian") {
        match rustup_has_target() {
            Ok(()) => return Ok(Toolchain::Rustup),
            Err(note) => notes.push(note),
        }
    }
    if forced != Some("rustup") {
        match debian_toolchain(environment) {
            Ok(t) => return Ok(t),
            Err(note) => notes.push(note),
        }
    }
    notes.push(HOW_TO_INSTALL.to_string());
    Err(BuildError::NoToolchain(notes.join("\n")))
}

fn rustup_has_target() -> Result<(), String> {
    let out = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .map_err(|e| format!("rustup: cannot run rustc: {e}"))?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = out.status.success()
        && std::fs::read_dir(&libdir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            })
            .unwrap_or(false);
    if has_std {
        Ok(())
    } else {
        Err(format!(
            "rustup: the {TARGET} target is not installed (no std in {})",
            libdir.display()
        ))
    }
}

fn debian_toolchain(environment: &BuildEnvironment) -> Result<Toolchain, String> {
    let rustc = PathBuf::from("/usr/bin/rustc");
    let cargo = PathBuf::from("/usr/bin/cargo");
    if !rustc.exists() || !cargo.exists() {
        return Err(
            "Debian: /usr/bin/rustc or /usr/bin/cargo is missing (rustc-web, cargo-web)".into(),
        );
    }
    let out = Command::new(&rustc)
        .arg("-V")
        .output()
        .map_err(|e| format!("Debian: cannot run /usr/bin/rustc: {e}"))?;
    let version = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let src = PathBuf::from(format!("/usr/src/rustc-{version}"));
    if !src.join("library").is_dir() {
        return Err(format!(
            "Debian: rustc {version} has no matching std source in {}/library (rust-web-src must \
             be the same version as rustc-web)",
            src.display()
        ));
    }
    let linker = find_wasm_linker(environment)
        .ok_or("Debian: no wasm-ld or wasm-ld-NN on PATH (lld-22)".to_string())?;
    Ok(Toolchain::Debian {
        rustc,
        cargo,
        src,
        linker,
    })
}

/// The newest `wasm-ld[-NN]` on PATH.
fn find_wasm_linker(environment: &BuildEnvironment) -> Option<PathBuf> {
    let path = environment.var("PATH")?;
    let mut best: Option<(u32, PathBuf)> = None;
    for dir in std::env::split_paths(path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let rank = if name == "wasm-ld" {
                1
            } else if let Some(v) = name.strip_prefix("wasm-ld-") {
                match v.parse::<u32>() {
                    Ok(v) => v + 1,
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, entry.path()));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// The package and library names from a plugin's Cargo.toml.
fn crate_names(dir: &Path) -> Result<(String, String), BuildError> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| BuildError::Crate {
        dir: dir.display().to_string(),
        reason: format!("cannot read Cargo.toml: {e}"),
    })?;
    let doc: toml::Table = text.parse().map_err(|e| BuildError::Crate {
        dir: dir.display().to_string(),
        reason: format!("Cargo.toml is not valid TOML: {e}"),
    })?;
    let bad = |reason: &str| BuildError::Crate {
        dir: dir.display().to_string(),
        reason: reason.to_string(),
    };
    let package = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| bad("Cargo.toml has no [package] name"))?
        .to_string();
    let lib = doc.get("lib");
    let is_cdylib = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(|t| t.as_array())
        .is_some_and(|t| t.iter().any(|v| v.as_str() == Some("cdylib")));
    if !is_cdylib {
        return Err(bad(
            "a plugin crate needs `[lib] crate-type = [\"cdylib\"]` in Cargo.toml",
        ));
    }
    let lib_name = lib
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map(String::from)
        .unwrap_or_else(|| package.replace('-', "_"));
    Ok((package, lib_name))
}

/// The directory whose path is remapped away: the enclosing git work tree, else the crate.
fn source_root(dir: &Path) -> PathBuf {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        cur = d.parent();
    }
    dir.to_path_buf()
}

/// Builds the plugin crate in `opts.dir` and writes its component.
pub(super) fn build(opts: &BuildOptions) -> Result<Built, BuildError> {
    // Lexically absolute, not canonical: cargo hashes a path dependency outside the
    // plugin's workspace (the SDK, in this repository) by its path, so building through a
    // fixed (symlinked) path is what makes the output independent of where the checkout is.
    let dir = std::path::absolute(&opts.dir).map_err(|e| BuildError::Io {
        path: opts.dir.display().to_string(),
        source: e,
    })?;
    let (package, lib_name) = crate_names(&dir)?;
    let toolchain = detect_toolchain(&opts.environment)?;
    let target_dir = match &opts.target_dir {
        Some(t) => std::path::absolute(t).unwrap_or_else(|_| t.clone()),
        None => dir.join("target"),
    };
    let mut cmd = cargo_command(&toolchain, opts, &dir, &target_dir);
    run_cargo(&mut cmd, &dir)?;
    let component = component_of(&target_dir, &lib_name)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| target_dir.join("blobsync").join(format!("{package}.wasm")));
    write_component(&out, &component)
}

/// The `cargo build` of the crate in `dir` for wasm32, with the release profile fixed on
/// the command line and the paths that differ between machines remapped.
fn cargo_command(
    toolchain: &Toolchain,
    opts: &BuildOptions,
    dir: &Path,
    target_dir: &Path,
) -> Command {
    let quiet = opts.quiet;
    let rustflags: Vec<String> = remaps(toolchain, dir, &opts.environment)
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    let mut cmd = cargo_build(toolchain);
    cmd.current_dir(dir)
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .args(["--release", "--lib", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--config", "profile.release.opt-level=\"s\""])
        .args(["--config", "profile.release.lto=true"])
        .args(["--config", "profile.release.codegen-units=1"])
        .args(["--config", "profile.release.panic=\"abort\""])
        .args(["--config", "profile.release.strip=true"])
        .args(["--config", "profile.release.debug=false"])
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"))
        .env_remove("RUSTFLAGS");
    if quiet {
        cmd.arg("--quiet");
    }
    cmd
}

/// The path prefixes remapped away, and what to: the source root, cargo's home, and
/// (Debian) the std sources.
fn remaps(
    toolchain: &Toolchain,
    dir: &Path,
    environment: &BuildEnvironment,
) -> Vec<(PathBuf, &'static str)> {
    let cargo_home = environment
        .var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cargo")));
    let mut remaps: Vec<(PathBuf, &str)> = vec![(source_root(dir), "/src")];
    if let Some(home) = &cargo_home {
        remaps.push((home.clone(), "/cargo"));
    }
    if let Toolchain::Debian { src, .. } = toolchain {
        remaps.push((src.clone(), "/rustc-src"));
    }
    remaps
}

/// `cargo build` with the toolchain: rustup's as it is, Debian's building std from source
/// with its wasm linker.
fn cargo_build(toolchain: &Toolchain) -> Command {
    match toolchain {
        Toolchain::Rustup => {
            let mut cmd = Command::new("cargo");
            cmd.arg("build");
            cmd
        }
        Toolchain::Debian {
            rustc,
            cargo,
            linker,
            ..
        } => {
            let mut cmd = Command::new(cargo);
            cmd.arg("build")
                .args(["-Z", "build-std=std,panic_abort"])
                .arg("--config")
                .arg(format!(
                    "target.{TARGET}.linker={:?}",
                    linker.display().to_string()
                ))
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTC", rustc)
                .env("RUSTDOC", rustc.with_file_name("rustdoc"))
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTC_WRAPPER");
            cmd
        }
    }
}

/// Runs cargo, its output going straight to the terminal.
fn run_cargo(cmd: &mut Command, dir: &Path) -> Result<(), BuildError> {
    tracing::debug!("running {cmd:?}");
    let status = cmd.status().map_err(|e| BuildError::Io {
        path: format!("{:?}", cmd.get_program()),
        source: e,
    })?;
    if !status.success() {
        return Err(BuildError::Cargo {
            dir: dir.display().to_string(),
        });
    }
    Ok(())
}

/// The component made of the library `lib_name` that cargo built in `target_dir`.
fn component_of(target_dir: &Path, lib_name: &str) -> Result<Vec<u8>, BuildError> {
    let module_path = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{lib_name}.wasm"));
    let module = std::fs::read(&module_path).map_err(|e| BuildError::Io {
        path: module_path.display().to_string(),
        source: e,
    })?;
    componentize(&module).map_err(|reason| BuildError::Componentize {
        module: module_path.display().to_string(),
        reason,
    })
}

/// Wraps a core module carrying wit-bindgen's component-type sections into a component.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = wit_component::ComponentEncoder::default()
        .module(module)
        .map_err(|e| {
            format!(
                "{e:#} (does the crate call one of blobsync_plugin's export macros, such as \
                 `blobsync_plugin::export_filter!`?)"
            )
        })?
        .validate(true);
    encoder.encode().map_err(|e| format!("{e:#}"))
}
