/** CIDR and glob lists remember each value's latest expiry: the answer still depends on each event's time. */
import { describe, expect, it } from 'vitest';
import { compileList } from '../../../engine/detections/context.ts';

const at = (iso: string) => Date.parse(iso);

describe('org-context list membership over time (remembered per value)', () => {
  it('a CIDR list: the latest-expiring matching entry decides, asked again and again', () => {
    const list = compileList('ioc', {
      kind: 'cidr',
      description: 'networks for the test',
      owner: 'soc',
      entries: [
        { value: '203.0.113.0/24', expires: '2025-01-01' },
        { value: '203.0.113.7', expires: '2025-06-01' },
        '198.51.100.0/24',
      ],
    });
    for (let round = 0; round < 2; round++) {
      expect(list.has('203.0.113.7', at('2025-03-01'))).toBe(true);
      expect(list.has('203.0.113.7', at('2025-07-01'))).toBe(false);
      expect(list.has('203.0.113.8', at('2024-12-01'))).toBe(true);
      expect(list.has('203.0.113.8', at('2025-03-01'))).toBe(false);
      expect(list.has('198.51.100.9', at('2030-01-01'))).toBe(true);
      expect(list.has('192.0.2.1', at('2024-01-01'))).toBe(false);
      expect(list.has('not an address', at('2024-01-01'))).toBe(false);
    }
  });

  it('a glob list: case-insensitive patterns, expiry per entry', () => {
    const list = compileList('agents', {
      kind: 'glob',
      description: 'principals for the test',
      owner: 'soc',
      entries: [{ value: '*evil-agent/*', expires: '2025-01-01' }, '*other-tool*'],
    });
    for (let round = 0; round < 2; round++) {
      expect(list.has('Evil-Agent/1.0 linux', at('2024-06-01'))).toBe(true);
      expect(list.has('Evil-Agent/1.0 linux', at('2025-06-01'))).toBe(false);
      expect(list.has('x other-tool y', at('2099-01-01'))).toBe(true);
      expect(list.has('aws-cli/2', at('2024-06-01'))).toBe(false);
    }
  });
});
