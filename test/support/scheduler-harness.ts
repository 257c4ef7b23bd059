/**
 * A real scheduler for alert-scan tests: in-memory scheduler state, a manual clock, the default stages and an
 * outbox that records the text of every message posted (the thread ts it answers counts up: `1.000000`, …).
 * `recordsFolder` writes CloudTrail records into a temp folder for a local source.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openSchedulerState } from '../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../bot/scheduler/clock.ts';
import { createScheduler } from '../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import { loadSchedulerConfig } from '../../config/scheduler.ts';
import type { RecordSource, SourceName } from '../../engine/source.ts';

/** An outbox that keeps the text of each message it is given. */
export function recordingOutbox(): { outbox: OutboxPoster; posted: string[] } {
  const posted: string[] = [];
  const outbox: OutboxPoster = {
    async post(_channel, message) {
      posted.push(message.text);
      return `${posted.length}.000000`;
    },
    async find() {
      return undefined;
    },
  };
  return { outbox, posted };
}

/** A temp folder holding one file `{ Records: records }`; `remove()` deletes it. */
export function recordsFolder(
  prefix: string,
  file: string,
  records: unknown[],
): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cartographer-${prefix}-`));
  writeFileSync(join(dir, file), JSON.stringify({ Records: records }));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface AlertSchedulerOptions {
  /** Scheduler settings as environment variables (CARTOGRAPHER_ALERT_CHANNEL, …). */
  env: Record<string, string>;
  sourceName: SourceName;
  source: () => Promise<RecordSource>;
  /** Where the manual clock starts, ms since the epoch. */
  start: number;
}

export function alertScheduler(options: AlertSchedulerOptions) {
  const state = openSchedulerState(':memory:');
  const { outbox, posted } = recordingOutbox();
  const clock = manualClock(options.start);
  const scheduler = createScheduler({
    config: loadSchedulerConfig(options.env),
    state,
    sourceName: options.sourceName,
    source: options.source,
    stages: loadDefaultStages,
    outbox,
    logger: pino({ level: 'silent' }),
    clock,
  });
  return { scheduler, state, clock, posted };
}
