/**
 * The playground's settings on top of what `npm start` was given, so a newcomer sees every part of
 * the bot on the local data without configuring anything:
 *
 *   - risk alerts go to #soc-alerts. The local CloudTrail is a replay of the past (the bundled demo is
 *     from 2023), so the scheduled jobs run on a replay clock: "now" starts just after the last event
 *     of the data's busiest day and moves on in real time, and the first alert scan covers that day
 *     (CARTOGRAPHER_ALERT_EVERY_MINUTES=1440). `/cartographer digest` covers the same day.
 *   - the bot's database lives for this run only, like the stand-in's workspace it belongs to (its
 *     buttons and alert ledger mean nothing once the stand-in's messages are gone).
 *   - the bundled demo's account gets a name, to show account names beside ids.
 *
 * Anything set in the environment wins over these defaults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Clock } from '../bot/scheduler/clock.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';

export const ALERT_CHANNEL = 'C0SOCALERTS';
/** The Invictus IR demo's AWS account (demo/invictus). */
const DEMO_ACCOUNTS = '123837392027=invictus-ir-demo';
/** Records read to find the busiest day (the demo has 3,900). */
const SCAN_LIMIT = 200_000;

export interface PlaygroundSetup {
  /** Settings to add to the bot's environment. */
  env: Record<string, string>;
  /** The scheduled jobs' clock (absent: the system clock). */
  clock?: Clock;
  /** What the replay covers, for the start-up log. */
  replay?: { day: string; lastEvent: string; records: number };
  cleanup(): void;
}

export async function playgroundSetup(
  env: NodeJS.ProcessEnv,
  localPaths: string[],
  now: () => number = Date.now,
): Promise<PlaygroundSetup> {
  const out: Record<string, string> = {};
  let dir: string | undefined;
  if (!env.CARTOGRAPHER_DB) {
    dir = mkdtempSync(join(tmpdir(), 'cartographer-playground-'));
    out.CARTOGRAPHER_DB = join(dir, 'bot.db');
  }
  const cleanup = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const bundled = localPaths.some((p) => resolve(p) === resolve('demo'));
  if (!env.CARTOGRAPHER_ACCOUNT_NAMES && bundled) out.CARTOGRAPHER_ACCOUNT_NAMES = DEMO_ACCOUNTS;
  const local = (env.CARTOGRAPHER_SOURCE ?? 'local') === 'local';
  if (env.CARTOGRAPHER_ALERT_CHANNEL || !local) return { env: out, cleanup };
  const busiest = await busiestDay(localPaths);
  if (!busiest) return { env: out, cleanup };
  out.CARTOGRAPHER_ALERT_CHANNEL = ALERT_CHANNEL;
  if (!env.CARTOGRAPHER_ALERT_EVERY_MINUTES) out.CARTOGRAPHER_ALERT_EVERY_MINUTES = '1440';
  const startedAt = now();
  const replayStart = Date.parse(busiest.lastEvent) + 5 * 60_000;
  return {
    env: out,
    clock: { now: () => replayStart + (now() - startedAt) },
    replay: busiest,
    cleanup,
  };
}

/** The UTC day with the most records, its last event time, and how many records it has. */
export async function busiestDay(
  paths: string[],
): Promise<{ day: string; lastEvent: string; records: number } | undefined> {
  const days = new Map<string, { records: number; last: string }>();
  for await (const item of createLocalSource(paths).read({ maxEvents: SCAN_LIMIT })) {
    if (item.kind !== 'record') continue;
    const t = item.record.eventTime;
    const day = t.slice(0, 10);
    const d = days.get(day) ?? { records: 0, last: t };
    d.records += 1;
    if (t > d.last) d.last = t;
    days.set(day, d);
  }
  const best = [...days.entries()].sort((a, b) => b[1].records - a[1].records || b[0].localeCompare(a[0]))[0];
  return best ? { day: best[0], lastEvent: best[1].last, records: best[1].records } : undefined;
}
