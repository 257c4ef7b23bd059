/**
 * The `rows` of a bench section's JSON line as a Markdown table (what bench/README.md quotes, so its numbers come
 * from a script):  node bin/run-ts.js bench/slack-latency.ts | node bin/run-ts.js bench/markdown-rows.ts [LABEL]
 * LABEL (e.g. "before, load 3.1") goes into a first column.
 */
import { readFileSync } from 'node:fs';

interface Row {
  metric: string;
  value: string;
  target: string;
  met: boolean | null;
}

const label = process.argv[2];
const lines = readFileSync(0, 'utf8').trim().split('\n');
const doc = JSON.parse(lines[lines.length - 1]!) as { rows: Row[] };
const head = label ? '| run | metric | value | target | met |' : '| metric | value | target | met |';
const out = [head, head.replace(/[^|]+/g, '---')];
for (const r of doc.rows) {
  const met = r.met === null ? '' : r.met ? 'yes' : 'NO';
  out.push(`|${label ? ` ${label} |` : ''} ${r.metric} | ${r.value} | ${r.target} | ${met} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
