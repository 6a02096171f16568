"""Runs the built plugin (dist/@NAME@.wasm) through `blobsync plugin try` on testdata/.

Build first: blobsync plugin build .    Then: python3 -m unittest
"""

import json
import os
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BLOBSYNC = os.environ.get("BLOBSYNC") or shutil.which("blobsync") or "blobsync"


def run_try(*extra: str) -> dict[str, dict]:
    done = subprocess.run(
        [BLOBSYNC, "plugin", "try", os.path.join(HERE, "plugins.toml"),
         os.path.join(HERE, "@TRYDIR@"), "--json", *extra],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"blobsync plugin try failed:\n{done.stderr}")
    return {r["path"]: r for r in map(json.loads, done.stdout.splitlines())}


class PluginTest(unittest.TestCase):
