// A blobsync hook in JavaScript (componentize-js): appends one CSV line per upload,
// download or delete to the output file its manifest grants, and one summary line per
// run with the failures listed.
//
// Config:
//   columns   which columns to write, `;`-separated, from time;action;outcome;bytes;path;error
//             (default: all of them)
import { log } from 'blobsync:plugin/host@0.2.1';
import { writeLine } from 'blobsync:plugin/output@0.2.1';

const ALL = ['time', 'action', 'outcome', 'bytes', 'path', 'error'];
let columns = ALL;
let started = 0n;
let failures = [];

function csv(value) {
  const text = String(value ?? '');
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function write(line) {
  try {
    writeLine(line);
  } catch (e) {
    // write-line returns result<_, string>: the error's text is in `payload`.
    log('warn', `run-report cannot write its output: ${e.payload ?? e}`);
  }
}

export const hookPlugin = {
  configure(config) {
    for (const [key, value] of config) {
      if (key === 'columns') {
        columns = value.split(';').filter((c) => c);
        const unknown = columns.find((c) => !ALL.includes(c));
        if (unknown) throw `config \`columns\`: ${unknown} is not a column (${ALL.join(', ')})`;
      } else if (key === 'blobsync.run-started-ms') {
        started = BigInt(value);
      } else if (!key.startsWith('blobsync.')) {
        throw `unknown config key \`${key}\` (known: columns)`;
      }
    }
    failures = [];
    console.log(`run-report writes ${columns.join(',')}`);
  },
  onEvents(events) {
    for (const e of events) {
      if (e.outcome === 'failure') failures.push(e.path);
      const row = {
        time: new Date(Number(e.timeMs)).toISOString(),
        action: e.action,
        outcome: e.outcome,
        bytes: e.bytes,
        path: e.path,
        error: e.error,
      };
      write(columns.map((c) => csv(row[c])).join(','));
    }
  },
  onComplete(s) {
    const seconds = started ? ` started=${new Date(Number(started)).toISOString()}` : '';
    write(`# job=${s.jobId} status=${s.status} copied=${s.copied} skipped=${s.skipped} ` +
      `deleted=${s.deleted} failed=${s.failed} bytes=${s.bytesTransferred}${seconds}` +
      (failures.length ? ` failures=${failures.map(csv).join(';')}` : ''));
  },
};
