import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../bot/lookup/limiter.ts';

describe('lookup limiter', () => {
  it('runs at most N at once, tells waiting callers their position, keeps arrival order, survives failures', async () => {
    const limiter = createLimiter(2);
    const gates: (() => void)[] = [];
    const order: string[] = [];
    const positions: number[] = [];
    const task =
      (name: string, fail = false) =>
      () =>
        new Promise<string>((resolve, reject) => {
          order.push(`start ${name}`);
          gates.push(() => (fail ? reject(new Error(name)) : resolve(name)));
        });
    const runs = ['a', 'b', 'c', 'd'].map((n) =>
      limiter.run(task(n, n === 'a'), (p) => positions.push(p)).catch((e: Error) => `failed ${e.message}`),
    );
    await Promise.resolve();
    expect(order).toEqual(['start a', 'start b']);
    expect(positions).toEqual([1, 2]);
    expect([limiter.running, limiter.waiting]).toEqual([2, 2]);
    gates[0]!(); // a fails: its slot still goes to c
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['start a', 'start b', 'start c']);
    for (let i = 1; i < 4; i++) {
      gates[i]!();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(await Promise.all(runs)).toEqual(['failed a', 'b', 'c', 'd']);
    expect([limiter.running, limiter.waiting]).toEqual([0, 0]);
  });
});
