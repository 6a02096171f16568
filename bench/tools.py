"""Tool adapters. One function per tool: tool_<name>(op, ctx) -> (argv, env).

To benchmark a new tool (e.g. the team's Rust binary), add ONE function
`tool_<name>` here (and optionally `version_<name>`); run with
BENCH_TOOLS=azcopy,rclone,<name>.

ops (each must leave the destination identical to the source):
  up           local ctx['src'] -> container, do not delete extras
  up_delete    local -> container, delete blobs missing locally
  down         container -> local ctx['dst'] (empty dir)
  up_md5_init  local -> empty container, store Content-MD5 on every blob
  up_hash      local -> container, decide "changed" by MD5 not mtime
  retier       every blob of the (up-to-date) container to the Cool tier, none rewritten
  bisync_init  two-way, first run of the pair ctx['src'] <-> container (bisync.py)
  bisync       two-way, a later run of the same pair (its state from bisync_init)
Return None for an op the tool cannot do (the harness records 'n/a').

ctx keys: src, dst, url (container URL with SAS, no trailing slash before '?'),
container, endpoint, account, key, sas (token without '?'), state (a scratch dir
for this tool: logs, plan files, config), threads (None = tool default),
bisync_dir (two-way ops only: the pair's state, kept across the steps of one
chain and wiped before the next chain).
"""
import os
import subprocess

from common import AZCOPY, RCLONE


# --------------------------------------------------------------------- azcopy
def tool_azcopy(op, ctx):
    env = {
        # azcopy writes a log + a job plan file per job under ~/.azcopy by default;
        # keep them in the scratch dir (the harness wipes it between runs).
        "AZCOPY_LOG_LOCATION": os.path.join(ctx["state"], "logs"),
        "AZCOPY_JOB_PLAN_LOCATION": os.path.join(ctx["state"], "plans"),
        "AZCOPY_DISABLE_SYSLOG": "true",
    }
    if ctx.get("threads"):
        env["AZCOPY_CONCURRENCY_VALUE"] = str(ctx["threads"])
    base = [AZCOPY, "sync"]
    # --from-to is mandatory: azcopy cannot infer "Blob" from an emulator URL
    # (http://127.0.0.1:PORT/account/container) and refuses to run without it.
    up = base + [ctx["src"], ctx["url"], "--from-to=LocalBlob"]
    if op == "up":
        return up, env
    if op == "up_delete":
        return up + ["--delete-destination=true"], env
    if op == "down":
        return base + [ctx["url"], ctx["dst"], "--from-to=BlobLocal"], env
    if op == "up_md5_init":
        return up + ["--put-md5"], env
    if op == "copy":
        return base + [ctx["url"], ctx["url2"], "--from-to=BlobBlob"], env
    if op == "retier":
        return [AZCOPY, "set-properties", ctx["url"], "--block-blob-tier=Cool", "--recursive",
                "--from-to=BlobNone"], env
    if op == "up_hash":
        # hashes of local files are cached in user.* xattrs (default
        # --local-hash-storage-mode=XAttr); --put-md5 keeps MD5 on re-uploads.
        return up + ["--compare-hash=MD5", "--put-md5"], env
    return None


def version_azcopy():
    return subprocess.run([AZCOPY, "--version"], capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------- rclone
def tool_rclone(op, ctx):
    conf = os.path.join(ctx["state"], "rclone.conf")
    if not os.path.exists(conf):
        open(conf, "w").close()
    env = {
        "RCLONE_CONFIG": conf,                  # empty file: no ~/.config/rclone notice
        "RCLONE_CONFIG_AZ_TYPE": "azureblob",
        "RCLONE_CONFIG_AZ_SAS_URL": ctx["url"],  # same container SAS as azcopy
    }
    extra = []
    if ctx.get("threads"):
        extra = [f"--transfers={ctx['threads']}", f"--checkers={ctx['threads']}"]
    remote = "az:" + ctx["container"]
    if op == "up":          # copy == sync minus deletions (azcopy sync default)
        return [RCLONE, "copy", ctx["src"], remote] + extra, env
    if op == "up_delete":
        return [RCLONE, "sync", ctx["src"], remote] + extra, env
    if op == "down":
        return [RCLONE, "copy", remote, ctx["dst"]] + extra, env
    if op == "up_md5_init":  # rclone always stores MD5 on azureblob uploads
        return [RCLONE, "copy", "--checksum", ctx["src"], remote] + extra, env
    if op == "up_hash":
        return [RCLONE, "copy", "--checksum", ctx["src"], remote] + extra, env
    if op == "copy":
        # A second remote for the destination container's SAS; server-side copy between
        # the two (same account) needs --server-side-across-configs.
        env["RCLONE_CONFIG_AZ2_TYPE"] = "azureblob"
        env["RCLONE_CONFIG_AZ2_SAS_URL"] = ctx["url2"]
        return [RCLONE, "copy", "--server-side-across-configs", remote,
                "az2:" + ctx["container2"]] + extra, env
    if op == "retier":
        return [RCLONE, "settier", "Cool", remote] + extra, env
    if op == "bisync_init":  # the first run must be a resync (path1 wins; path2 is empty here)
        return [RCLONE, "bisync", ctx["src"], remote, "--workdir", ctx["bisync_dir"], "--resync"] + extra, env
    if op == "bisync":
        return [RCLONE, "bisync", ctx["src"], remote, "--workdir", ctx["bisync_dir"]] + extra, env
    return None


def version_rclone():
    out = subprocess.run([RCLONE, "version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip() if out else "?"


# ------------------------------------------------------------------- blobsync
BLOBSYNC = os.environ.get(
    "BENCH_BLOBSYNC",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "release", "blobsync"),
)


def tool_blobsync(op, ctx, binary=BLOBSYNC, name="blobsync"):
    # The database (MD5 cache) and the compiled-plugin cache live where they would for a
    # user: outside the per-step scratch dir, kept between runs.
    home = os.path.join(os.path.dirname(ctx["state"]), f"{name}-home")
    env = {
        "BLOBSYNC_DATA_DIR": os.path.join(home, "data"),
        "BLOBSYNC_CACHE_DIR": os.path.join(home, "cache"),
    }
    extra = ["--quiet"]
    if ctx.get("threads"):
        extra.append(f"--concurrency={ctx['threads']}")
    base = [binary, "sync"]
    up = base + [ctx["src"], ctx["url"]] + extra
    if op == "up":
        return up, env
    if op == "up_delete":
        return up + ["--delete-destination=true"], env
    if op == "down":
        return base + [ctx["url"], ctx["dst"]] + extra, env
    if op == "up_md5_init":  # blobsync always stores Content-MD5 (--put-md5 is the default)
        return up, env
    if op == "up_hash":
        return up + ["--compare-hash=MD5"], env
    if op == "copy":
        return base + [ctx["url"], ctx["url2"]] + extra, env
    if op == "retier":  # the container is up to date: only the tier changes (in batches)
        return up + ["--block-blob-tier=Cool"], env
    if op in ("bisync_init", "bisync"):
        # The pair's state lives in the database: one per chain, so each chain's first run
        # is a first run (no --resync needed). JSON output: the summary is kept in the log.
        env = {
            "BLOBSYNC_DATA_DIR": os.path.join(ctx["bisync_dir"], "data"),
            "BLOBSYNC_CACHE_DIR": os.path.join(ctx["bisync_dir"], "cache"),
        }
        return [binary, "bisync", ctx["src"], ctx["url"], "--output-type", "json"] + extra, env
    return None


def version_blobsync():
    return subprocess.run([BLOBSYNC, "--version"], capture_output=True, text=True).stdout.strip()


# An earlier build of blobsync (BENCH_BLOBSYNC_BASE), to compare two revisions in one run:
# BENCH_TOOLS=azcopy,blobsync_base,blobsync.
BLOBSYNC_BASE = os.environ.get("BENCH_BLOBSYNC_BASE", "")


def tool_blobsync_base(op, ctx):
    if not BLOBSYNC_BASE:
        raise SystemExit("set BENCH_BLOBSYNC_BASE to the earlier blobsync binary")
    return tool_blobsync(op, ctx, binary=BLOBSYNC_BASE, name="blobsync_base")


def version_blobsync_base():
    return subprocess.run([BLOBSYNC_BASE, "--version"], capture_output=True, text=True).stdout.strip()


# ------------------------------------------------------------------ registry
def tools():
    g = globals()
    return {k[5:]: g[k] for k in g if k.startswith("tool_") and callable(g[k])}


def version(name):
    f = globals().get("version_" + name)
    try:
        return f() if f else "?"
    except Exception as e:  # noqa: BLE001
        return f"? ({e})"


# ------------------------------------------------- variants (diagnostics only)
def tool_azcopy_devnull(op, ctx):
    """azcopy exactly as above but with stdin = /dev/null (how cron/CI/subprocess often run it).
    azcopy 10.32 busy-reads stdin at EOF; this variant makes that cost visible."""
    r = tool_azcopy(op, ctx)
    if r is None:
        return None
    argv, env = r
    return ["sh", "-c", 'exec "$0" "$@" </dev/null'] + argv, env


def version_azcopy_devnull():
    return version_azcopy() + " (stdin=/dev/null)"
