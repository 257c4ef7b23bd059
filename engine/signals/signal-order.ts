import type { Signal } from '../model.ts';

/** The time order of output signals: start, then end, then id (same for batch and streaming). */
export function compareSignals(a: Signal, b: Signal): number {
  return cmp(a.start, b.start) || cmp(a.end, b.end) || cmp(a.id, b.id);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
