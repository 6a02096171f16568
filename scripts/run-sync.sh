#!/usr/bin/env bash
# The main job: a real sync.
#
#   scripts/run-sync.sh [SOURCE_DIR [DESTINATION_URL]] [-- blobsync sync flags…]
#
# With a DESTINATION_URL (https://ACCOUNT.blob.core.windows.net/CONTAINER[/prefix][?SAS],
# credentials as in the README), it builds blobsync and runs `blobsync sync` against it.
# Without one, it starts Azurite (the official Azure Storage emulator) on a free loopback
# port, syncs SOURCE_DIR (default: a generated sample tree) to a container there, runs the
# same sync again to show that nothing is transferred the second time, and stops Azurite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

source_dir=""; destination=""; flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; flags=("$@"); break ;;
    *) if [ -z "$source_dir" ]; then source_dir=$1; elif [ -z "$destination" ]; then destination=$1; else flags+=("$1"); fi; shift ;;
  esac
done

echo "building blobsync (release)…"
cargo build --release -q -p blobsync --bin blobsync
blobsync="${CARGO_TARGET_DIR:-$root/target}/release/blobsync"

if [ -z "$source_dir" ]; then
  source_dir="$root/target/sample-data"
  if [ ! -d "$source_dir" ]; then
    echo "generating a sample tree in $source_dir"
    for d in $(seq -w 1 20); do
      mkdir -p "$source_dir/docs/section-$d" "$source_dir/assets/img-$d"
      for f in $(seq -w 1 25); do
        printf 'page %s/%s\n%s\n' "$d" "$f" "$(head -c 600 /dev/urandom | base64 -w0)" > "$source_dir/docs/section-$d/page-$f.md"
      done
      head -c $((20000 + 10#$d * 1000)) /dev/urandom > "$source_dir/assets/img-$d/photo.jpg"
    done
    head -c $((24 * 1024 * 1024)) /dev/urandom > "$source_dir/assets/video.mp4"
    echo '{"site":"sample"}' > "$source_dir/site.json"
  fi
fi

if [ -n "$destination" ]; then
  exec "$blobsync" sync "$source_dir" "$destination" "${flags[@]}"
fi

"$root/scripts/setup.sh"
azurite="$root/.tools/node_modules/.bin/azurite-blob"
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 30000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
workdir=$(mktemp -d)
"$azurite" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence --skipApiVersionCheck \
  --loose --disableTelemetry --silent >"$workdir/azurite.log" 2>&1 &
azurite_pid=$!
trap 'kill "$azurite_pid" 2>/dev/null; wait "$azurite_pid" 2>/dev/null; rm -rf "$workdir"' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

url="http://127.0.0.1:$port/devstoreaccount1/sample"
echo
echo "== Azurite on 127.0.0.1:$port; syncing $source_dir → $url"
"$blobsync" sync "$source_dir" "$url" "${flags[@]}"
echo
echo "== the same sync again: nothing has changed, so nothing is transferred"
"$blobsync" sync "$source_dir" "$url" "${flags[@]}"
