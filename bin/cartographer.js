#!/usr/bin/env node
import { buildState } from './build.js';
// Entry point for `npx cartographer`, `npm start` and the Docker image: runs the compiled JavaScript in dist/
// (`npm run build`; `npm ci` and `npm start` build it), with stack traces mapped back to the TypeScript sources.
// tsx is a development tool only (tests, bench: bin/run-ts.js).
import { youngGenerationFlag } from './node-flags.js';

// Node 24 sizes V8's young generation from the machine's memory; Cartographer keeps the 16 MB cap of Node 20 and
// 22 so its memory stays as bounded on every Node (node-flags.js). The flag only works at start: re-exec with it.
const flag = youngGenerationFlag();
if (flag) {
  process.execve(process.execPath, [process.execPath, flag, ...process.execArgv, ...process.argv.slice(1)]);
}

const state = buildState();
if (state === 'missing') {
  process.stderr.write(
    'cartographer: dist/ is missing: run `npm run build` (`npm ci` and `npm start` build it)\n',
  );
  process.exit(1);
}
if (state === 'stale') {
  process.stderr.write(
    'cartographer: the sources changed since the last build; running the older dist/ (`npm run build`)\n',
  );
}
process.setSourceMapsEnabled(true);
await import('../dist/cli/main.js');
