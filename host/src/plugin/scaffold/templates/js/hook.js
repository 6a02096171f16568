// @NAME@: a blobsync hook. It appends one line per upload, download or delete to the
// output file its manifest grants (`output = "out/events.txt"`), and a line at the end of
// each run.
import { log } from 'blobsync:plugin/host@0.2.1';
import { writeLine } from 'blobsync:plugin/output@0.2.1';

function write(line) {
  try {
    writeLine(line);
  } catch (e) {
    log('warn', `cannot write: ${e.payload ?? e}`);
  }
}

export const hookPlugin = {
  configure(config) {
    for (const [key] of config) {
      if (!key.startsWith('blobsync.')) throw `unknown config key \`${key}\``;
    }
  },
  onEvents(events) {
    for (const e of events) write(`${e.action} ${e.path} ${e.bytes}`);
  },
  onComplete(summary) {
    write(`done ${summary.jobId} copied=${summary.copied}`);
  },
};
