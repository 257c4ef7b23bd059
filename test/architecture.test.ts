/**
 * The house plan, checked with the suite: the import graph has no circles and no upward arrows
 * (.dependency-cruiser.cjs, `npm run check:deps`), and no product function is longer than 120 lines
 * (bin/function-length.js, `npm run check:functions`). Both are also run by .ci/run.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without types
import { measure, measureFile } from '../bin/function-length.js';

interface Measured {
  file: string;
  line: number;
  name: string;
  lines: number;
}

describe('architecture', () => {
  it('the import graph has no cycles and no upward imports', () => {
    let output = '';
    try {
      output = execFileSync('npm', ['run', '--silent', 'check:deps'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`dependency rules broken:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    expect(output).toMatch(/no dependency violations found \(\d+ modules/);
  });

  it('no product function is longer than 120 lines', () => {
    const all = measure() as Measured[];
    expect(all.length).toBeGreaterThan(1000);
    const over = all
      .filter((f) => f.lines > 120)
      .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(over).toEqual([]);
  });

  it('measures a function from its first to its last line, nested functions included', () => {
    const text = [
      'export function outer() {',
      '  const inner = () => {',
      '    return 1;',
      '  };',
      '  return inner();',
      '}',
      '',
    ].join('\n');
    const found = measureFile('x.ts', text) as Measured[];
    expect(found.map((f) => [f.name, f.lines])).toEqual([
      ['outer', 6],
      ['inner', 3],
    ]);
  });
});
