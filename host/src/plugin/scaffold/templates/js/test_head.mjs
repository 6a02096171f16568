// Runs the built plugin (dist/@NAME@.wasm) through `blobsync plugin try` on testdata/.
// Build first: blobsync plugin build .    Then: node --test
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const blobsync = process.env.BLOBSYNC || 'blobsync';

function tryPlugin(...extra) {
  const out = execFileSync(blobsync,
    ['plugin', 'try', join(here, 'plugins.toml'), join(here, '@TRYDIR@'), '--json', ...extra],
    { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.path, r]));
}

