#!/usr/bin/env bash
# Memory of two-way sync at scale: peak RSS of a no-op `blobsync bisync` against a no-op
# `blobsync sync` (one-way, local -> container) on the same MEM_FILES (default 200,000)
# small files and the same container. Target: bisync <= 1.2 x sync.
#
#  1. the tree: gen_dataset.py small with BENCH_SMALL_COUNT=MEM_FILES, files of
#     MEM_MIN_KIB..MEM_MAX_KIB (default 1..4 KiB), cached under work/datasets/
#  2. one upload with `blobsync sync` (timed), into container mem-N of our Azurite
#  3. `blobsync bisync` first run on the now equal pair (settles every path; timed)
#  4. MEM_REPS (default 3) rounds of: sync no-op, bisync no-op (interleaved)
#  5. medians of peak RSS, wall and CPU, and the ratio bisync / sync
# Every figure is printed with the 1-minute load average before and after it: on a
# busy machine wall times are noisy, peak RSS much less so.
# MEM_RCLONE=1 also times `rclone bisync --resync` and an `rclone bisync` no-op on the
# same pair (another container, uploaded by blobsync sync).
# Azurite: like million.sh, with a bigger JavaScript heap (MEM_AZURITE_HEAP_MB, 16384);
# our Azurite is (re)started empty with it, and stopped at the end if it was not running.
#   BENCH_AZ_PORT=10100 BENCH_BLOBSYNC=target/release/blobsync bench/bisync_mem.sh
#   MEM_FILES=20000 MEM_REPS=1 ... bench/bisync_mem.sh        # a quick check
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$H/.." && pwd)
LAB=${BENCH_LAB:-$HOME/.cache/blobsync-bench}
N=${MEM_FILES:-200000}
REPS=${MEM_REPS:-3}
BLOBSYNC=${BENCH_BLOBSYNC:-$ROOT/target/release/blobsync}
RCLONE=${BENCH_RCLONE:-$LAB/venv/bin/rclone}
OUT=${MEM_OUT:-$LAB/results/bisync-mem-$(date +%Y%m%d-%H%M%S)}
export BENCH_AZ_PORT=${BENCH_AZ_PORT:-10000}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/mem.txt") 2>&1

echo "== $(date -Is)  $(uptime)"
echo "blobsync: $BLOBSYNC ($("$BLOBSYNC" --version))"
t0=$(date +%s)
TREE=$(BENCH_SMALL_COUNT=$N BENCH_SMALL_MIN_KIB=${MEM_MIN_KIB:-1} BENCH_SMALL_MAX_KIB=${MEM_MAX_KIB:-4} \
  python3 "$H/gen_dataset.py" small)
echo "tree: $TREE ($(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['files'], 'files,', round(m['bytes']/2**20), 'MiB')" "$(dirname "$TREE")/manifest.json"); ready in $(( $(date +%s) - t0 )) s"

# Azurite keeps every blob in its JavaScript heap (see million.sh): give it room.
export NODE_OPTIONS="--max-old-space-size=${MEM_AZURITE_HEAP_MB:-16384}"
was_running=0
if "$H/azurite.sh" status >/dev/null 2>&1; then was_running=1; "$H/azurite.sh" restart; else "$H/azurite.sh" start; fi
trap '[ $was_running = 1 ] || "$H/azurite.sh" stop' EXIT
unset NODE_OPTIONS
C=mem-$N
python3 "$H/azblob.py" mk "$C" >/dev/null
URL=$(python3 "$H/azblob.py" url "$C")
state=$(mktemp -d "$LAB/work/mem-state.XXXXXX")
SYNC_ENV=(env BLOBSYNC_DATA_DIR="$state/sync/data" BLOBSYNC_CACHE_DIR="$state/sync/cache")
BI_ENV=(env BLOBSYNC_DATA_DIR="$state/bisync/data" BLOBSYNC_CACHE_DIR="$state/bisync/cache")

# measure NAME CMD...: one run under /usr/bin/time -v with an open, never-written pipe as
# stdin; appends "name rss_kib wall_s cpu_s exit load_before load_after" to $OUT/mem.tsv
measure() {
  local name=$1; shift
  local log fifo la lb; log=$(mktemp); fifo=$(mktemp -u); mkfifo "$fifo"
  sleep 1000000 >"$fifo" & local writer=$!
  lb=$(cut -d' ' -f1 /proc/loadavg)
  local s e; s=$(date +%s.%N)
  /usr/bin/time -v "$@" <"$fifo" >"$OUT/$name.out" 2>"$log" || true
  e=$(date +%s.%N)
  kill "$writer" 2>/dev/null || true; rm -f "$fifo"
  la=$(cut -d' ' -f1 /proc/loadavg)
  local rss usr sys rc
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  usr=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$log")
  rc=$(awk -F': ' '/Exit status/ {print $2}' "$log")
  cat "$log" >>"$OUT/$name.out"; rm -f "$log"
  local wall cpu; wall=$(python3 -c "print(round($e - $s, 2))"); cpu=$(python3 -c "print(round($usr + $sys, 2))")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rss" "$wall" "$cpu" "$rc" "$lb" "$la" >>"$OUT/mem.tsv"
  printf '%-22s peak RSS %5d MiB  wall %8.2f s  cpu %7.2f s  exit %s  load1 %s -> %s\n' \
    "$name" $((rss / 1024)) "$wall" "$cpu" "$rc" "$lb" "$la"
}

summary() {  # the summary line of a blobsync --output-type json run
  grep '"type":"summary"' "$OUT/$1.out" | python3 -c "
import json, sys
s = json.loads(sys.stdin.read())
print('   ', ' '.join(f'{k}={s.get(k)}' for k in ('status', 'source_files', 'destination_files', 'up_to_date', 'copied', 'deleted', 'failed', 'elapsed_ms')))" || true
}

printf 'name\trss_kib\twall_s\tcpu_s\texit\tload1_before\tload1_after\n' >"$OUT/mem.tsv"
JSON=(--output-type json --quiet)
measure upload "${SYNC_ENV[@]}" "$BLOBSYNC" sync "$TREE" "$URL" "${JSON[@]}"; summary upload
measure bisync_first "${BI_ENV[@]}" "$BLOBSYNC" bisync "$TREE" "$URL" "${JSON[@]}"; summary bisync_first
for r in $(seq 1 "$REPS"); do
  measure "sync_noop_$r" "${SYNC_ENV[@]}" "$BLOBSYNC" sync "$TREE" "$URL" "${JSON[@]}"; summary "sync_noop_$r"
  measure "bisync_noop_$r" "${BI_ENV[@]}" "$BLOBSYNC" bisync "$TREE" "$URL" "${JSON[@]}"; summary "bisync_noop_$r"
done

if [ "${MEM_RCLONE:-0}" = 1 ]; then
  C2=mem-$N-rclone
  python3 "$H/azblob.py" mk "$C2" >/dev/null
  URL2=$(python3 "$H/azblob.py" url "$C2")
  measure upload_rclone_pair "${SYNC_ENV[@]}" "$BLOBSYNC" sync "$TREE" "$URL2" "${JSON[@]}"
  : >"$state/rclone.conf"
  RC_ENV=(env RCLONE_CONFIG="$state/rclone.conf" RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$URL2")
  measure rclone_resync "${RC_ENV[@]}" "$RCLONE" bisync "$TREE" "az:$C2" --workdir "$state/rclone-wd" --resync
  for r in $(seq 1 "$REPS"); do
    measure "rclone_noop_$r" "${RC_ENV[@]}" "$RCLONE" bisync "$TREE" "az:$C2" --workdir "$state/rclone-wd"
  done
fi
rm -rf "$state"

python3 - "$OUT/mem.tsv" "$N" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n = int(sys.argv[2])
def med(prefix, key):
    xs = [float(r[key]) for r in rows if r["name"].startswith(prefix)]
    return statistics.median(xs) if xs else None
print(f"\n== medians over the no-op runs, {n} files")
for name in ("sync_noop", "bisync_noop", "rclone_noop"):
    if med(name, "rss_kib") is None:
        continue
    print(f"{name:12s} peak RSS {med(name, 'rss_kib') / 1024:6.0f} MiB ({med(name, 'rss_kib') * 1024 / n:5.0f} bytes per path, base included)  "
          f"wall {med(name, 'wall_s'):7.2f} s  cpu {med(name, 'cpu_s'):7.2f} s  load1 {med(name, 'load1_before'):.2f}")
bad = [r["name"] for r in rows if r["exit"] != "0"]
ratio = med("bisync_noop", "rss_kib") / med("sync_noop", "rss_kib")
print(f"bisync / sync peak RSS: {ratio:.2f} (target <= 1.20: {'met' if ratio <= 1.2 else 'NOT met'})")
if bad:
    print(f"non-zero exit: {bad}")
PY
echo "== $(date -Is)  $(uptime)   -> $OUT"
