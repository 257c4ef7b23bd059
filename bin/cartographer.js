#!/usr/bin/env node
// Entry point for `npx cartographer`, `npm start` and the Docker image: runs the compiled JavaScript in dist/
// (`npm run build`; `npm ci` and `npm start` build it), with stack traces mapped back to the TypeScript sources.
// tsx is a development tool only (tests, bench: bin/run-ts.js).
import { buildState } from './build.js';

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
