#!/usr/bin/env bash
# Builds the release binary as the image's build stage does (Containerfile) and installs
# it into PREFIX/bin: `cargo install --locked --path host`, the install a user runs from a
# checkout. CI runs it too (.ci/run) and checks the binary: it starts, and the release
# profile strips it (at most 40 MB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:?usage: scripts/container-build.sh PREFIX}
cd "$root"
cargo install --locked --path host --root "$prefix" --force
binary="$prefix/bin/blobsync"
"$binary" --version
size=$(stat -c %s "$binary")
limit=$((40 * 1024 * 1024))
if [ "$size" -gt "$limit" ]; then
  echo "container-build: $binary is $size bytes, more than 40 MiB (is the release profile stripping it?)" >&2
  exit 1
fi
echo "container-build: $binary, $((size / 1024 / 1024)) MiB"
