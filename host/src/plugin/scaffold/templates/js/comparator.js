// @NAME@: a blobsync comparator. A file present on both sides is copied when its size
// differs, and left alone otherwise.

export const comparatorPlugin = {
  configure(config) {
    for (const [key] of config) {
      if (!key.startsWith('blobsync.')) throw `unknown config key \`${key}\``;
    }
    return {}; // sizes are always sent
  },
  compare(source, destination) {
    const out = [];
    for (let i = 0; i < source.count; i++) {
      const [s, d] = [source.sizes[i], destination.sizes[i]];
      out.push(s !== d
        ? { action: 'transfer', reason: `size differs (${d} -> ${s})` }
        : { action: 'skip', reason: 'same size' });
    }
    return out;
  },
};
