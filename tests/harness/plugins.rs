//! Plugin components for tests: committed fixtures, and components of any WIT world.

use std::path::PathBuf;

use crate::repo_root;

/// A component of any WIT world (functions trap if called): for plugins that must fail to
/// load, such as one built against another interface version.
pub fn component_for_wit(wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("plugin.wit", wit).expect("valid WIT");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("encode component")
}

/// The plugin contract's WIT text.
pub fn plugin_wit() -> String {
    std::fs::read_to_string(repo_root().join("plugin-sdk/wit/plugin.wit")).unwrap()
}

/// A committed component under the repository root.
pub fn component_path(rel: &str) -> PathBuf {
    let p = repo_root().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-plugins.sh",
        p.display()
    );
    p
}

/// Writes a plugin manifest `plugins.toml` into `dir` (`version = 1`, then `body`) and
/// returns its path.
pub fn manifest(dir: &std::path::Path, body: &str) -> String {
    manifest_named(dir, "plugins.toml", body)
}

/// [`manifest`], under another file name.
pub fn manifest_named(dir: &std::path::Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("version = 1\n{body}")).unwrap();
    p.display().to_string()
}
