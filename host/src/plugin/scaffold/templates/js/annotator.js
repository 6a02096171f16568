// @NAME@: a blobsync annotator. HTML files are uploaded with Cache-Control set to
// `cache-control` (config; default `no-cache`), and every file gets the metadata
// `annotated_by = @NAME@`.
let cacheControl = 'no-cache';

export const annotatorPlugin = {
  configure(config) {
    for (const [key, value] of config) {
      if (key === 'cache-control') cacheControl = value;
      else if (!key.startsWith('blobsync.')) throw `unknown config key \`${key}\` (known: cache-control)`;
    }
    return { path: true };
  },
  annotate(entries) {
    return entries.paths.split('\0').map((path) => ({
      headers: { cacheControl: path.endsWith('.html') ? cacheControl : undefined },
      accessTier: undefined,
      metadata: [['annotated_by', '@NAME@']],
      tags: [],
    }));
  },
};
