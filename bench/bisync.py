#!/usr/bin/env python3
"""Two-way sync benchmark: `blobsync bisync` vs `rclone bisync`, against Azurite.

  for profile in BENCH_PROFILES (default: small):
    for rep in 1..BENCH_REPS:
      for tool in BENCH_TOOLS (A B, A B, ... ; BENCH_ORDER=ABBA alternates):
        chain(tool)  -- bisync_initial, bisync_noop, bisync_changes

Per chain: a fresh `cp -a` of the pristine dataset, a freshly restarted (empty)
Azurite, one empty container and a fresh state dir for the pair (blobsync's
database, rclone's --workdir), kept across the chain's three runs.

  bisync_initial  first two-way run: the dataset <-> an empty container
                  (rclone: --resync; blobsync: a plain first run)
  bisync_noop     the same run again, nothing changed
  bisync_changes  BENCH_FRAC of the files rewritten locally AND as many other files
                  rewritten in the container (Put Blob from azblob.py), then one run

Mutations and verification are never timed. Verification: both sides hold exactly the
dataset's names (no conflict copies, nothing lost or left behind), sizes equal, every
Content-MD5 equals the local MD5, every changed file holds its new content on BOTH
sides (byte-level for the blobs), plus a seeded sample. Counted: blobs whose ETag
changed ("etag changed") and local files rewritten ("local changed": size, mtime or
inode changed). Names below `.blobsync/` (blobsync's lock blobs) are left out of the
container's listing.

Measured like bench.py (run_measured): wall, tool user+sys, peak RSS, Azurite CPU,
other CPU, load average. Rows -> OUT/runs.jsonl (same format as bench.py), then
report.py OUT [BENCH_BASELINE, default rclone] -> OUT/report.md.

Env: BENCH_TOOLS [rclone,blobsync]  BENCH_PROFILES [small]  BENCH_REPS [3]
     BENCH_FRAC [0.01]  BENCH_GAP_S [1.5]  BENCH_THREADS []  BENCH_ORDER [ABAB]
     BENCH_SMALL_COUNT [20000] (gen_dataset.py: fewer files for a quick run)
     BENCH_BLOBSYNC (the binary)  BENCH_OUT [LAB/results/bisync-<ts>]
     BENCH_AZ_PORT [10000] (our Azurite must be running: azurite.sh start)
"""
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import azblob  # noqa: E402
import ops  # noqa: E402
import tools as T  # noqa: E402
from bench import Chain, check_port_owner, fresh_azurite  # noqa: E402
from common import ENDPOINT, LAB, WORK, azurite_pid, env_int, uptime  # noqa: E402
from gen_dataset import generate  # noqa: E402

IGNORE = (".blobsync/",)  # blobsync's own names at a container's root (lock blobs)


def local_stat(root):
    """rel path -> (size, mtime_ns, inode): a file rewritten or replaced changes one of them."""
    out = {}
    for dp, _, fn in os.walk(root):
        for f in fn:
            p = os.path.join(dp, f)
            st = os.stat(p)
            out[os.path.relpath(p, root).replace(os.sep, "/")] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def modify_remote(container, names, frac, seed, avoid):
    """Rewrite a fraction of blobs (none of `avoid`) with Put Blob: half the same size, half
    +1..1024 bytes, seeded. Returns name -> md5 of the new content."""
    rng = random.Random(seed + 7)
    pool = sorted(n for n in names if n not in set(avoid))
    k = max(1, round(frac * len(names)))
    cli = azblob.Client()
    out = {}
    for i, n in enumerate(random.Random(seed).sample(pool, k)):
        size = names[n] + (rng.randint(1, 1024) if i % 2 else 0)
        data = rng.randbytes(size)
        cli.put(container, n, data)
        out[n] = hashlib.md5(data).hexdigest()
    return out


def verify_bisync(src, container, expected, before_remote, before_local, want=None, seed=1):
    """Both sides hold exactly the names in `expected` with the same content; `want` (name -> md5)
    is the content each changed file must now have on both sides."""
    want = want or {}
    v = ops.verify_up(src, container, before=before_remote, must_check=sorted(want), seed=seed, ignore=IGNORE)
    errs = v["errors"]
    loc = local_stat(src)
    missing = sorted(set(expected) - set(loc))
    extra = sorted(set(loc) - set(expected))
    if missing:
        errs.append(f"{len(missing)} dataset files missing locally, e.g. {missing[:3]}")
    if extra:
        errs.append(f"{len(extra)} files locally that the dataset has not (conflict copies?), e.g. {extra[:3]}")
    lost = [n for n, m in want.items() if n in loc and ops.md5_file(os.path.join(src, n)) != m]
    if lost:
        errs.append(f"{len(lost)} changed files without their new content locally, e.g. {lost[:3]}")
    v["local_written"] = sum(1 for n, s in loc.items() if before_local.get(n) != s)
    v["ok"] = not errs
    return v


class BiChain(Chain):
    def __init__(self, *a):
        super().__init__(*a)
        self.bisync_dir = os.path.join(WORK, "bisync-state", self.tool)

    def ctx(self, container, container2=None):
        c = super().ctx(container, container2)
        c["bisync_dir"] = self.bisync_dir
        return c

    def step(self, scen, op, container, verify, expect=None, container2=None):
        row = super().step(scen, op, container, verify, expect, container2)
        if row.get("status") == "n/a":
            return row
        # blobsync --output-type json: keep its summary line's counts beside the row
        logp = os.path.join(self.out, "logs", f"{self.profile}.{self.rep}.{self.tool}.{scen}.out")
        summary = None
        with open(logp, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if line.startswith("{") and '"type":"summary"' in line:
                    try:
                        summary = json.loads(line)
                    except ValueError:
                        pass
        if summary:
            keep = ("status", "copied", "deleted", "up_to_date", "failed", "source_files", "destination_files",
                    "bytes_copied", "elapsed_ms")
            with open(os.path.join(self.out, "summaries.jsonl"), "a") as f:
                f.write(json.dumps({"tool": self.tool, "rep": self.rep, "scenario": scen,
                                    **{k: summary.get(k) for k in keep}}) + "\n")
        return row

    def run(self):
        import re
        c1 = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"b{self.rep}-{self.tool}-{self.profile}".lower()))[:55]
        fresh_azurite(self.out)
        self.cli = azblob.Client()
        self.cli.rm(c1)
        shutil.rmtree(os.path.dirname(self.src), ignore_errors=True)
        os.makedirs(os.path.dirname(self.src))
        subprocess.run(["cp", "-a", self.pristine, self.src], check=True)
        shutil.rmtree(self.bisync_dir, ignore_errors=True)
        os.makedirs(self.bisync_dir)
        seed = self.rep * 1000
        expected = ops.walk(self.src)  # name -> size
        n = len(expected)
        self.cli.mk(c1)

        bl = local_stat(self.src)
        self.step("bisync_initial", "bisync_init", c1,
                  lambda: verify_bisync(self.src, c1, expected, {}, bl, seed=seed + 31),
                  {"etag_changed": n, "local_changed": 0})
        time.sleep(self.gap)

        br, bl = ops.snapshot(c1, IGNORE), local_stat(self.src)
        self.step("bisync_noop", "bisync", c1,
                  lambda: verify_bisync(self.src, c1, expected, br, bl, seed=seed + 32),
                  {"etag_changed": 0, "local_changed": 0})
        time.sleep(self.gap)

        local = ops.modify(self.src, self.frac, seed + 5)
        want = {x: ops.md5_file(os.path.join(self.src, x)) for x in local}
        remote = modify_remote(c1, expected, self.frac, seed + 6, avoid=local)
        want.update(remote)
        time.sleep(self.gap)  # 1 s timestamps: keep the edits and the run in different seconds
        br, bl = ops.snapshot(c1, IGNORE), local_stat(self.src)
        self.step("bisync_changes", "bisync", c1,
                  lambda: verify_bisync(self.src, c1, expected, br, bl, want=want, seed=seed + 33),
                  {"etag_changed": len(local), "local_changed": len(remote)})
        shutil.rmtree(os.path.dirname(self.src), ignore_errors=True)


def main():
    tools = [t for t in os.environ.get("BENCH_TOOLS", "rclone,blobsync").split(",") if t]
    known = T.tools()
    for t in tools:
        if t not in known:
            raise SystemExit(f"unknown tool {t!r}; known: {sorted(known)}")
    profiles = [p for p in os.environ.get("BENCH_PROFILES", "small").split(",") if p]
    reps = env_int("BENCH_REPS", 3)
    order = os.environ.get("BENCH_ORDER", "ABAB")
    out = os.environ.get("BENCH_OUT") or os.path.join(
        LAB, "results", "bisync-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    apid = azurite_pid()
    check_port_owner(apid)
    meta = {
        "started": datetime.datetime.now().isoformat(), "uptime": uptime(), "tools": tools,
        "versions": {t: T.version(t) for t in tools}, "profiles": profiles, "reps": reps, "order": order,
        "endpoint": ENDPOINT, "azurite_pid": apid, "bench": "bisync",
        "azurite_cmdline": open(f"/proc/{apid}/cmdline").read().replace("\0", " ").strip(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
        "nproc": os.cpu_count(),
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"results -> {out}\n{meta['uptime']}\nversions: {meta['versions']}", flush=True)
    for profile in profiles:
        pristine = generate(profile)
        man = json.load(open(os.path.join(os.path.dirname(pristine), "manifest.json")))
        print(f"== profile {profile}: {man['files']} files, {man['bytes'] / 2**20:.1f} MiB ({pristine})", flush=True)
        for rep in range(1, reps + 1):
            seq = list(tools)
            if order == "ABBA" and rep % 2 == 0:
                seq.reverse()
            print(f"-- rep {rep} order {'-'.join(seq)}   [{uptime()}]", flush=True)
            for i, tool in enumerate(seq):
                BiChain(out, tool, profile, rep, pristine, i).run()
    meta["finished"] = datetime.datetime.now().isoformat()
    meta["uptime_end"] = uptime()
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    here = os.path.dirname(os.path.abspath(__file__))
    base = os.environ.get("BENCH_BASELINE", "rclone" if "rclone" in tools else tools[0])
    subprocess.run([sys.executable, os.path.join(here, "report.py"), out, base], check=False)
    print(f"done -> {out}", flush=True)


if __name__ == "__main__":
    main()
