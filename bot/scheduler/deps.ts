import type { Logger } from 'pino';
import type { SchedulerState } from '../../adapters/state/scheduler-state.ts';
import type { TriageStore } from '../../adapters/state/triage-store.ts';
import type { BotStore } from '../../adapters/store/bot-store.ts';
import type { SchedulerConfig } from '../../config/scheduler.ts';
import type { RecordSource, SourceName } from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import type { Clock } from './clock.ts';
import type { OutboxPoster } from './slack-outbox.ts';

/** What the scheduled jobs (alert scan, digest) work with; the scheduler builds it once. */
export interface SchedulerDeps {
  config: SchedulerConfig;
  clock: Clock;
  state: SchedulerState;
  sourceName: SourceName;
  source: () => Promise<RecordSource>;
  stages: () => Promise<PipelineStages>;
  outbox: OutboxPoster;
  /** Where the evidence behind "Show raw events" and "Open session" is kept (the bot's store); no button without it. */
  store?: BotStore;
  /** Alert cases: opened when an alert is posted; the digest lists the day's open ones. */
  triage?: TriageStore;
  /** Names for account ids in alerts (configured map, AWS Organizations). */
  accountNames?: () => Promise<(accountId: string) => string | undefined>;
  logger: Logger;
  /** Aborted when the scheduler stops: running queries are cancelled (Athena's stopped). */
  signal?: AbortSignal;
}
