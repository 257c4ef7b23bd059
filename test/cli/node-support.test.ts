/**
 * Which Node.js the bot names as unsupported, and when a process re-executes itself with the young-generation
 * cap (bin/node-flags.js): only on Node ≥ 24 and only when the cap is not already given.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module of bin/ (no types)
import { YOUNG_GENERATION_FLAG, youngGenerationFlag } from '../../bin/node-flags.js';
import { nodeSupportNotice } from '../../cli/node-support.ts';

describe('Node.js versions', () => {
  it('names Node 20 unsupported, is silent on 22 and 24, calls others untested', () => {
    expect(nodeSupportNotice('v20.20.2')).toMatch(/Node\.js v20\.20\.2 is not supported .*use Node 22 or 24/);
    expect(nodeSupportNotice('v22.23.5')).toBeUndefined();
    expect(nodeSupportNotice('v24.22.3')).toBeUndefined();
    expect(nodeSupportNotice('v26.1.0')).toMatch(/is not tested; supported are Node 22 or 24/);
  });

  it('caps the young generation on Node 24 unless the cap is given (argument or NODE_OPTIONS)', () => {
    expect(YOUNG_GENERATION_FLAG).toBe('--max-semi-space-size=16');
    const onNode = (major: number, execArgv: string[] = [], nodeOptions = '') =>
      youngGenerationFlag(execArgv, nodeOptions, major);
    expect(onNode(20)).toBeUndefined();
    expect(onNode(22)).toBeUndefined();
    if (typeof (process as { execve?: unknown }).execve === 'function') {
      expect(onNode(24)).toBe(YOUNG_GENERATION_FLAG);
      expect(onNode(24, ['--max-semi-space-size=32'])).toBeUndefined();
      expect(onNode(24, [], '--max-semi-space-size=8 --enable-source-maps')).toBeUndefined();
    } else expect(onNode(24)).toBeUndefined();
  });
});
