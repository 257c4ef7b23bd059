/**
 * A folder of hostile and odd inputs beside good ones, built from real records: a FIFO, a 60 MB record
 * among 20 good ones, a gzip bomb, an empty file, `{"Records": null}`, valid JSON that is not CloudTrail,
 * a symlink loop and a good file. Used by test/engine/ingest/hostile.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

type Obj = Record<string, unknown>;

export function demoRecords(): Obj[] {
  return readdirSync('demo/invictus')
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records);
}

export interface HostileFolder {
  dir: string;
  /** Good records in the folder (all must be kept). */
  goodRecords: number;
  /** File names that must each be named in the notes. */
  bad: {
    fifo: string;
    giant: string;
    bomb: string;
    empty: string;
    recordsNull: string;
    notCloudTrail: string;
  };
}

/** Decompresses to `totalMiB` MiB of zero bytes from a file of about totalMiB KiB (repeated gzip members). */
export function gzipBomb(totalMiB: number): Buffer {
  const member = gzipSync(Buffer.alloc(16 * 2 ** 20), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(totalMiB / 16) }, () => member));
}

export function makeHostileFolder(dir: string, giantMiB = 60, bombMiB = 4096): HostileFolder {
  mkdirSync(dir, { recursive: true });
  const records = demoRecords();
  const twenty = records.slice(0, 20);
  // The giant sits in the middle of the 20, in requestParameters (where an attacker controls the size).
  const giant = { ...records[20]!, requestParameters: { policy: 'A'.repeat(giantMiB * 2 ** 20) } };
  const withGiant = [...twenty.slice(0, 10), giant, ...twenty.slice(10)];
  writeFileSync(join(dir, 'giant.json'), JSON.stringify({ Records: withGiant }));
  writeFileSync(join(dir, 'good.json'), JSON.stringify({ Records: records.slice(21, 61) }));
  writeFileSync(join(dir, 'bomb.json.gz'), gzipBomb(bombMiB));
  writeFileSync(join(dir, 'empty.json'), '');
  writeFileSync(join(dir, 'records-null.json'), '{"Records":null}');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'not-cloudtrail', version: '1.0.0' }));
  execFileSync('mkfifo', [join(dir, 'pipe.json')]);
  mkdirSync(join(dir, 'sub'));
  symlinkSync('..', join(dir, 'sub', 'loop'));
  return {
    dir,
    goodRecords: 20 + 40,
    bad: {
      fifo: 'pipe.json',
      giant: 'giant.json',
      bomb: 'bomb.json.gz',
      empty: 'empty.json',
      recordsNull: 'records-null.json',
      notCloudTrail: 'package.json',
    },
  };
}
