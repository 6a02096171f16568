// @NAME@: a blobsync filter. It excludes files whose names end with `suffix` (config;
// default `.tmp`), on both sides: they are neither uploaded nor deleted.
import { log } from 'blobsync:plugin/host@0.2.1';

const DIRECTORY = 1; // bit 0 of an entry's attributes
let suffix = '.tmp';

export const filterPlugin = {
  configure(config) {
    for (const [key, value] of config) {
      if (key === 'suffix') suffix = value;
      else if (!key.startsWith('blobsync.')) throw `unknown config key \`${key}\` (known: suffix)`;
    }
    log('info', `@NAME@ excludes *${suffix}`);
    return { path: true };
  },
  // One answer per entry: undefined includes it, a string excludes it and says why.
  filter(side, entries) {
    const paths = entries.paths.split('\0');
    return paths.map((path, i) =>
      !(entries.attributes[i] & DIRECTORY) && path.endsWith(suffix) ? `ends with ${suffix}` : undefined);
  },
};
