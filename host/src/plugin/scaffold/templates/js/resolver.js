// @NAME@: a blobsync resolver, for a two-way sync's conflicts (`blobsync bisync`). PATH2's
// version wins for paths below `content/` (the `path2-owns` setting); elsewhere it has no
// opinion, and `--conflict-resolve` decides.
let owned = 'content/';

export const resolverPlugin = {
  configure(config) {
    for (const [key, value] of config) {
      if (key === 'path2-owns') owned = value;
      else if (!key.startsWith('blobsync.')) throw `unknown config key \`${key}\``;
    }
  },
  // Each conflict has `path`, and `path1`/`path2` (and `lastPath1`/`lastPath2`, undefined
  // on a first run) with `size` and `mtimeNs` (BigInts) and `md5`.
  resolve(conflicts) {
    return conflicts.map((c) =>
      c.path.startsWith(owned)
        ? { choice: 'path2', reason: `path2 owns ${owned}` }
        : { choice: 'policy', reason: '' });
  },
};
