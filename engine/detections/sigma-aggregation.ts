/**
 * Sigma's `count()` aggregations (`selection | count() by sourceIPAddress > 5` with `timeframe: 10m`) as
 * Cartographer threshold rules. Only "at least" comparisons (`>`, `>=`) make a threshold; `<`, `<=`, `==` and
 * `near` stay unsupported and are reported by name. Without `by`, all matching events count together, as Sigma
 * defines it; with `by`, one count per value. Counts span sessions (a burst from one address can span identities).
 */

import { asText, eventFieldGetter, eventTextsGetter } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { SigmaUnsupported } from './sigma-unsupported.ts';

export interface Aggregation {
  /** `count(field)`: distinct values of the field instead of events. */
  distinct?: string;
  groupBy: string[];
  /** Matching events (or distinct values) needed. */
  atLeast: number;
}

/** Splits `search | aggregation` at the top-level pipe. */
export function splitAggregation(condition: string): [string, string | undefined] {
  const i = condition.indexOf('|');
  return i < 0 ? [condition, undefined] : [condition.slice(0, i).trim(), condition.slice(i + 1).trim()];
}

const AGGREGATION =
  /^count\(\s*([\w.[\]-]*)\s*\)\s*(?:by\s+([\w.[\]-]+(?:\s*,\s*[\w.[\]-]+)*))?\s*(>=|>|<=|<|==|=)\s*(\d+)$/i;

export function parseAggregation(text: string, condition: string): Aggregation {
  const m = AGGREGATION.exec(text);
  if (!m) {
    throw new SigmaUnsupported(`aggregation '${text}' in condition '${condition}' is not supported`);
  }
  const op = m[3]!;
  const n = Number(m[4]);
  if (op !== '>' && op !== '>=') {
    throw new SigmaUnsupported(
      `aggregation '${text}': only '>' and '>=' (at least N) make a threshold; '${op}' is not supported`,
    );
  }
  return {
    ...(m[1] ? { distinct: m[1] } : {}),
    groupBy: m[2] ? m[2].split(',').map((s) => s.trim()) : [],
    atLeast: op === '>' ? n + 1 : n,
  };
}

/** `30s`, `10m`, `1h`, `2d` → milliseconds. */
export function parseTimespan(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!m) throw new SigmaUnsupported(`timespan '${text}' is not N followed by s, m, h or d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** One group key from several fields (`group-by: [sourceIPAddress, userIdentity.arn]`); none: one group. */
export function groupKeyOfFields(fields: string[]): (e: EngineEvent) => string | undefined {
  if (fields.length === 0) return () => '*';
  const getters = fields.map((f) => eventFieldGetter(f));
  if (getters.length === 1) {
    const get = getters[0]!;
    return (e) => {
      const v = get(e)[0];
      return v === undefined ? undefined : asText(v);
    };
  }
  return (e) => {
    let key = '';
    for (const get of getters) {
      const v = get(e)[0];
      if (v === undefined) return undefined;
      key += `${asText(v)}\u0000`;
    }
    return key;
  };
}

export function aggregationThreshold(
  agg: Aggregation,
  windowMs: number,
): NonNullable<CompiledRule['threshold']> {
  const distinct = agg.distinct ? eventTextsGetter(agg.distinct) : undefined;
  return {
    count: Math.max(1, agg.atLeast),
    windowMs,
    groupKey: groupKeyOfFields(agg.groupBy),
    groupByFields: agg.groupBy,
    acrossSessions: true,
    reads: [...agg.groupBy, ...(agg.distinct ? [agg.distinct] : [])],
    ...(distinct ? { distinct, distinctField: agg.distinct! } : {}),
  };
}
