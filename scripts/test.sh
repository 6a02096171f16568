#!/usr/bin/env bash
# Runs every test: installs what a fresh Debian machine lacks (scripts/setup.sh), then the
# workspace's unit and integration tests (against a real Azurite the tests start on free
# loopback ports), then the plugins' own unit tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
cargo build --workspace --bins
cargo test --workspace
for manifest in plugins/*/Cargo.toml examples/plugins/*/Cargo.toml; do
  echo "unit tests: ${manifest%/Cargo.toml}"
  CARGO_TARGET_DIR="$root/target/plugin-tests" cargo test -q --manifest-path "$manifest"
done
