import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTimeSlicer } from '../../bot/lookup/time-slice.ts';
import { noteRequest, QUIET_AFTER_MS, requestsArriving } from '../../bot/receiver/request-pressure.ts';

/** CPU-bound work of about `ms` milliseconds (stands in for parsing a CloudTrail file). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/** A lookup-like loop: items processed in microtasks only, yielding through the slicer. */
async function busyLookup(name: string, items: number, log: string[]): Promise<void> {
  const slicer = createTimeSlicer();
  for (let i = 0; i < items; i++) {
    await slicer.maybeYield();
    spin(0.5);
    await Promise.resolve(); // an async generator's hop: a microtask, not a loop turn
  }
  log.push(`${name} done`);
}

describe('lookup time slicing', () => {
  it('needs no await while the slice has budget left', () => {
    const slicer = createTimeSlicer(60_000);
    expect(slicer.maybeYield()).toBeUndefined();
    expect(slicer.maybeYield()).toBeUndefined();
  });

  it('lets an HTTP request be answered while CPU-bound lookups run', async () => {
    const log: string[] = [];
    const server = createServer((_req, res) => {
      log.push('request answered');
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    try {
      // Two lookups of ~150 ms CPU each; without slicing they run to the end in microtasks.
      const lookups = Promise.all([busyLookup('a', 300, log), busyLookup('b', 300, log)]);
      const answer = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      await Promise.all([lookups, answer]);
      expect(await answer).toBe('ok');
      expect(log.indexOf('request answered')).toBeGreaterThanOrEqual(0);
      expect(log.indexOf('request answered')).toBeLessThan(log.indexOf('a done'));
      expect(log.indexOf('request answered')).toBeLessThan(log.indexOf('b done'));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('takes turns: concurrent lookups progress together instead of one after the other', async () => {
    const log: string[] = [];
    const progress: string[] = [];
    const track = async (name: string) => {
      const slicer = createTimeSlicer(1);
      for (let i = 0; i < 40; i++) {
        await slicer.maybeYield();
        spin(0.5);
        progress.push(name);
      }
      log.push(`${name} done`);
    };
    await Promise.all([track('a'), track('b')]);
    // b had made progress before a finished (a did not run to the end first).
    expect(progress.indexOf('b')).toBeLessThan(progress.lastIndexOf('a'));
    expect(log).toHaveLength(2);
  });

  it('a request counts as arriving for a few milliseconds only', () => {
    noteRequest(1000);
    expect(requestsArriving(1000 + QUIET_AFTER_MS / 2)).toBe(true);
    expect(requestsArriving(1000 + QUIET_AFTER_MS)).toBe(false);
  });

  it('lookups step aside for arriving requests, but a request stream that never stops cannot starve them', async () => {
    // Requests "arrive" every millisecond for as long as the lookup runs.
    const stream = setInterval(() => noteRequest(), 1);
    try {
      const log: string[] = [];
      await busyLookup('starved?', 60, log);
      expect(log).toEqual(['starved? done']);
    } finally {
      clearInterval(stream);
    }
  });
});
