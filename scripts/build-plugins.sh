#!/usr/bin/env bash
# Rebuilds every committed plugin component from its source:
#   plugins/NAME                 -> plugins/dist/NAME.wasm           (built into the binary)
#   examples/plugins/NAME        -> examples/plugins/dist/NAME.wasm  (the examples)
#   tests/fixtures/plugins/NAME  -> tests/fixtures/dist/NAME.wasm    (misbehaving test plugins)
#
# With --check, builds into a scratch directory and fails if any committed component
# differs from what its source builds to (CI runs this).
#
# Builds use Debian's toolchain (scripts/setup.sh installs it) so that the bytes are
# reproducible: plugins/dist/TOOLCHAIN records the compiler the committed files came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=false
[ "${1:-}" = "--check" ] && check=true

export BLOBSYNC_WASM_TOOLCHAIN=debian
cargo build -q -p blobsync --bin blobsync
blobsync="${CARGO_TARGET_DIR:-$root/target}/debug/blobsync"

# Cargo hashes path dependencies outside a plugin's own workspace (the SDK) by their
# absolute path, and that hash changes the compiled code's layout. Building through one
# fixed path makes the bytes the same wherever the repository is checked out.
fixed=/tmp/blobsync-plugin-build-src
exec 9>"$fixed.lock"
flock 9
ln -sfn "$root" "$fixed"
toolchain=$(/usr/bin/rustc -V)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

stale=()
for group in plugins:plugins/dist examples/plugins:examples/plugins/dist tests/fixtures/plugins:tests/fixtures/dist; do
  src=${group%%:*}; dist=${group#*:}
  for dir in "$src"/*/; do
    [ -f "$dir/Cargo.toml" ] || continue
    name=$(basename "$dir")
    if $check; then out="$scratch/$name.wasm"; else out="$dist/$name.wasm"; mkdir -p "$dist"; fi
    echo "building $dir"
    "$blobsync" plugin build "$fixed/$dir" --out "$out" --target-dir "$fixed/target/plugins" --quiet >/dev/null
    if $check && ! cmp -s "$out" "$dist/$name.wasm"; then
      stale+=("$dist/$name.wasm")
    fi
  done
done

if $check; then
  if [ ${#stale[@]} -gt 0 ]; then
    echo "stale plugin components (rebuild with scripts/build-plugins.sh and commit):" >&2
    printf '  %s\n' "${stale[@]}" >&2
    recorded=$(cat plugins/dist/TOOLCHAIN 2>/dev/null || echo unknown)
    if [ "$recorded" != "$toolchain" ]; then
      echo "note: they were built with '$recorded', this machine has '$toolchain'" >&2
    fi
    exit 1
  fi
  echo "all plugin components are fresh"
else
  echo "$toolchain" > plugins/dist/TOOLCHAIN
  # Keep the example manifests' sha256 pins in step with the components they name.
  for manifest in examples/*.toml; do
    src=$(sed -n 's/^source *= *"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)
    [ -f "examples/$src" ] || continue
    sum=$(sha256sum "examples/$src" | cut -d' ' -f1)
    sed -i "s/^sha256 *= *\"[0-9a-f]*\"/sha256  = \"$sum\"/" "$manifest"
  done
fi
