/**
 * Vitest global set-up: tests that spawn `bin/cartographer.js` run the compiled dist/, so it is rebuilt first when
 * a source changed since the last build (a few seconds; nothing when it is current).
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['bin/build.js', '--if-stale'], { stdio: 'inherit' });
}
