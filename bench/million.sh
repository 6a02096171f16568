#!/usr/bin/env bash
# Listing memory at scale: peak RSS of a dry run over MILLION_FILES (default 1,000,000)
# local files against an empty container, for blobsync and (MILLION_AZCOPY=1) azcopy.
# Reports bytes per file = (peak RSS - peak RSS of the same command on an empty folder) / N.
# With MILLION_NOOP=1 it also uploads the tree once and times a no-op sync of it (both
# sides listed in full, nothing to copy) against the two listings on their own: the local
# walk (`find` reading every file's size and time) and one flat blob listing with metadata
# (a plain REST client, page after page), and reports list requests per second.
#   BENCH_AZ_PORT=10100 bench/million.sh
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$H/.." && pwd)
LAB=${BENCH_LAB:-$HOME/.cache/blobsync-bench}
N=${MILLION_FILES:-1000000}
DIRS=1000
TREE="$LAB/work/million-$N"
EMPTY="$LAB/work/million-empty"
BLOBSYNC=${BENCH_BLOBSYNC:-$ROOT/target/release/blobsync}
AZCOPY=${BENCH_AZCOPY:-$LAB/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64}
export BENCH_AZ_PORT=${BENCH_AZ_PORT:-10000}

if [ ! -f "$TREE/.complete" ]; then
  echo "creating $N empty files in $DIRS folders under $TREE …"
  rm -rf "$TREE"
  python3 - "$TREE" "$N" "$DIRS" <<'PY'
import os, sys
root, n, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = n // dirs
for d in range(dirs):
    p = os.path.join(root, f"dir-{d:04d}")
    os.makedirs(p)
    for f in range(per):
        os.close(os.open(os.path.join(p, f"file-{f:06d}.dat"), os.O_CREAT | os.O_WRONLY, 0o644))
PY
  touch "$TREE/.complete"
fi
mkdir -p "$EMPTY"

started=0
# Azurite keeps every blob in its JavaScript heap: at Node's default heap size it spends
# all its time collecting garbage past about 650,000 blobs (seen at 1,000,000). Give it room.
export NODE_OPTIONS="--max-old-space-size=${MILLION_AZURITE_HEAP_MB:-16384}"
if ! "$H/azurite.sh" status >/dev/null 2>&1; then "$H/azurite.sh" start; started=1; fi
trap '[ $started = 1 ] && "$H/azurite.sh" stop' EXIT
python3 "$H/azblob.py" mk million >/dev/null
URL=$(python3 "$H/azblob.py" url million)

peak_kib() {  # peak RSS (KiB) and wall seconds of a command, output discarded
  # stdin is an open pipe that is never written (with stdin at end of file azcopy spins).
  local log fifo; log=$(mktemp); fifo=$(mktemp -u); mkfifo "$fifo"
  sleep 1000000 >"$fifo" & local writer=$!
  /usr/bin/time -v "$@" <"$fifo" >"${PEAK_OUT:-/dev/null}" 2>"$log" || true
  kill "$writer" 2>/dev/null; rm -f "$fifo"
  local rss wall; rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  rm -f "$log"; echo "$rss $wall"
}

report() {  # name, command on the tree, command on the empty folder
  local name=$1; shift
  read -r base _ <<<"$(peak_kib "${@//__TREE__/$EMPTY}")"
  read -r peak wall <<<"$(peak_kib "${@//__TREE__/$TREE}")"
  local per=$(( (peak - base) * 1024 / N ))
  printf '%-10s files=%d  peak RSS %d MiB (empty folder: %d MiB)  %d bytes/file  wall %s\n' \
    "$name" "$N" $((peak / 1024)) $((base / 1024)) "$per" "$wall"
}

state=$(mktemp -d)
export BLOBSYNC_DATA_DIR="$state/data" BLOBSYNC_CACHE_DIR="$state/cache"
report blobsync "$BLOBSYNC" sync __TREE__ "$URL" --dry-run --quiet
if [ "${MILLION_AZCOPY:-0}" = 1 ]; then
  export AZCOPY_LOG_LOCATION="$state/azlogs" AZCOPY_JOB_PLAN_LOCATION="$state/azplans" AZCOPY_DISABLE_SYSLOG=true
  report azcopy "$AZCOPY" sync __TREE__ "$URL" --from-to=LocalBlob --dry-run
fi
if [ "${MILLION_NOOP:-0}" = 1 ]; then
  python3 "$H/azblob.py" mk million-noop >/dev/null
  NOOP=$(python3 "$H/azblob.py" url million-noop)
  if [ "$(python3 "$H/azblob.py" count million-noop)" != "$N" ]; then
    echo "uploading $N files once …"
    /usr/bin/time -f "upload: wall %e s" "$BLOBSYNC" sync "$TREE" "$NOOP" --quiet
  fi
  secs() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -1; }
  walk=$(secs find "$TREE" -type f -printf '%s %T@\n')
  listing=$(secs python3 "$H/azblob.py" count-metadata million-noop)
  for p in ${MILLION_PARALLELISM:-1 4 8}; do
    read -r peak wall <<<"$(peak_kib "$BLOBSYNC" sync "$TREE" "$NOOP" --quiet --list-parallelism "$p")"
    printf 'no-op, --list-parallelism %d: wall %s, peak RSS %d MiB (%d bytes/entry)\n' \
      "$p" "$wall" $((peak / 1024)) $((peak * 1024 / N))
  done
  if [ "${MILLION_PEERS:-0}" = 1 ]; then
    logs="$LAB/work/million-logs"; mkdir -p "$logs"
    RCLONE=${BENCH_RCLONE:-$LAB/venv/bin/rclone}
    read -r peak wall <<<"$(PEAK_OUT="$logs/azcopy-$N.log" AZCOPY_LOG_LOCATION="$state/azlogs" \
      AZCOPY_JOB_PLAN_LOCATION="$state/azplans" AZCOPY_DISABLE_SYSLOG=true \
      peak_kib "$AZCOPY" sync "$TREE" "$NOOP" --from-to=LocalBlob)"
    printf 'no-op, azcopy sync: wall %s, peak RSS %d MiB (log: %s)\n' "$wall" $((peak / 1024)) "$logs/azcopy-$N.log"
    : >"$state/rclone.conf"
    read -r peak wall <<<"$(PEAK_OUT="$logs/rclone-$N.log" RCLONE_CONFIG="$state/rclone.conf" \
      RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$NOOP" \
      peak_kib "$RCLONE" copy "$TREE" az:million-noop -v --log-file "$logs/rclone-$N.log")"
    printf 'no-op, rclone copy: wall %s, peak RSS %d MiB (log: %s)\n' "$wall" $((peak / 1024)) "$logs/rclone-$N.log"
  fi
  pages=$(( (N + 4999) / 5000 ))
  printf 'local walk (find): %s s; flat blob listing with metadata (%d pages): %s s = %s list requests/s\n' \
    "$walk" "$pages" "$listing" "$(python3 -c "print(round($pages / $listing, 1))")"
fi
rm -rf "$state"
if [ "${MILLION_NOOP:-0}" = 1 ]; then
  # The same no-op without job item records (1,000,000 skips are 1,000,000 rows by default).
  for p in ${MILLION_PARALLELISM:-1 4}; do
    read -r peak wall <<<"$(peak_kib "$BLOBSYNC" sync "$TREE" "$NOOP" --quiet --list-parallelism "$p" --job-items none)"
    printf 'no-op, --list-parallelism %d, --job-items none: wall %s, peak RSS %d MiB\n' \
      "$p" "$wall" $((peak / 1024))
  done
fi
