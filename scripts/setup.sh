#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, idempotently:
#   - Debian's wasm toolchain (rustc-web, cargo-web, rust-web-src, lld-22), used to build
#     the plugin components (see plugins/README.md);
#   - libsecret-1-0, which the azcopy binary used by the interop tests needs;
#   - exfat-fuse, exfatprogs, fusefat, dosfstools and e2fsprogs, for the tests on other
#     file systems;
#   - systemd, for `systemd-analyze verify` of the example units;
#   - mdBook (not packaged by Debian), with `cargo install --locked --debug`, once per
#     machine: the tests build the book in docs/ and check its links (an unoptimised build
#     compiles in half the time and builds this book as fast);
#   - Azurite (the Azure Storage emulator) and azcopy from npm, into .tools/;
#   - the Python and JavaScript plugin toolchains: componentize-py from PyPI into a venv
#     at .tools/venv, componentize-js from npm into .tools/js (its own prefix: it relies
#     on npm hoisting jco's dependencies, which other packages in one tree can prevent).
#     The tests build the example Python and JavaScript plugins with them.
# Needs root or sudo for apt-get, and network access to Debian's and npm's registries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
AZURITE_VERSION=3.37.0
AZCOPY_VERSION=10.32.2
COMPONENTIZE_PY_VERSION=0.25.1
COMPONENTIZE_JS_VERSION=0.23.0

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

packages=()
debian_rustc_ok() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || return 1
  local v; v=$(/usr/bin/rustc -V 2>/dev/null | cut -d' ' -f2)
  [ -d "/usr/src/rustc-$v/library" ]
}
debian_rustc_ok || packages+=(rustc-web cargo-web rust-web-src)
command -v wasm-ld-22 >/dev/null || packages+=(lld-22)
[ -e /usr/lib/x86_64-linux-gnu/libsecret-1.so.0 ] || packages+=(libsecret-1-0)
# File systems of other kinds for the safety tests: exFAT through FUSE (case-insensitive
# names), ext2 with small inodes (whole-second times) — loop-mounted.
command -v mount.exfat-fuse >/dev/null || packages+=(exfat-fuse)
command -v mkfs.exfat >/dev/null || packages+=(exfatprogs)
command -v mkfs.ext2 >/dev/null || packages+=(e2fsprogs)
command -v fusefat >/dev/null || packages+=(fusefat)
command -v mkfs.vfat >/dev/null || packages+=(dosfstools)
command -v systemd-analyze >/dev/null || packages+=(systemd)
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
if ! debian_rustc_ok; then
  echo "setup: /usr/bin/rustc has no matching std source in /usr/src (rustc-web and rust-web-src must be the same version)" >&2
  exit 1
fi

MDBOOK_VERSION=0.5.4
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if ! "$cargo_bin/mdbook" --version 2>/dev/null | grep -q "v$MDBOOK_VERSION" \
  && ! mdbook --version 2>/dev/null | grep -q "v$MDBOOK_VERSION"; then
  echo "setup: installing mdbook $MDBOOK_VERSION (cargo install, once per machine)"
  cargo install --quiet --locked --debug mdbook --version "$MDBOOK_VERSION"
fi

tools="$root/.tools"
if [ ! -x "$tools/node_modules/.bin/azurite-blob" ] || [ ! -e "$tools/node_modules/@azure-tools/azcopy-linux" ]; then
  echo "setup: installing azurite@$AZURITE_VERSION and azcopy@$AZCOPY_VERSION into .tools/"
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" \
    "azurite@$AZURITE_VERSION" "@azure-tools/azcopy-linux@$AZCOPY_VERSION" >/dev/null
fi
js="$tools/js"
if [ ! -x "$js/node_modules/.bin/componentize-js" ] \
  || [ ! -d "$js/node_modules/@bytecodealliance/preview2-shim" ] \
  || ! grep -q "\"version\": \"$COMPONENTIZE_JS_VERSION\"" "$js/node_modules/@bytecodealliance/componentize-js/package.json" 2>/dev/null; then
  echo "setup: installing componentize-js@$COMPONENTIZE_JS_VERSION into .tools/js"
  mkdir -p "$js"
  npm install --silent --no-audit --no-fund --prefix "$js" \
    "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION" >/dev/null
fi
if ! "$tools/venv/bin/componentize-py" --version 2>/dev/null | grep -q "$COMPONENTIZE_PY_VERSION"; then
  echo "setup: installing componentize-py==$COMPONENTIZE_PY_VERSION into .tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
azcopy=$(find "$tools/node_modules/@azure-tools/azcopy-linux" -name 'azcopy_linux_amd64' -type f | head -n 1)
[ -n "$azcopy" ] && chmod +x "$azcopy"
exit 0
