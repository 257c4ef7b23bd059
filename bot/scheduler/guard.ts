/**
 * A job that never runs twice at once: a tick that arrives while the previous run is still going is
 * skipped with a log line (node-cron's `noOverlap` does the same for its own ticks; this guard also
 * covers runs started by hand, e.g. `/cartographer digest`, and the start-up catch-up).
 */
import type { Logger } from 'pino';
import { metrics } from '../../adapters/observability/metrics.ts';
import { newRequestId, withRequest } from '../../adapters/observability/request-context.ts';

export interface GuardedJob {
  /** Runs the job unless it is already running; resolves to false when the tick was skipped. */
  run(reason: string): Promise<boolean>;
  readonly running: boolean;
  /** Resolves when the current run (if any) has finished. */
  idle(): Promise<void>;
}

export function guardedJob(name: string, job: () => Promise<void>, logger: Logger): GuardedJob {
  let current: Promise<void> | undefined;
  return {
    get running() {
      return current !== undefined;
    },
    async run(reason) {
      if (current) {
        logger.warn(
          { job: name, reason },
          `${name}: skipped overlapping tick (the previous run is still going)`,
        );
        return false;
      }
      const started = Date.now();
      const observe = (outcome: string) =>
        metrics.scanDuration.observe({ job: name, outcome }, (Date.now() - started) / 1000);
      // One request id per run: its AWS queries and Slack posts log under it.
      current = withRequest({ id: newRequestId('job'), logger }, job)
        .then(() => observe('ok'))
        .catch((err) => {
          observe('error');
          logger.error(
            { job: name, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) },
            `${name} failed`,
          );
        })
        .finally(() => {
          current = undefined;
        });
      await current;
      logger.debug({ job: name, reason, ms: Date.now() - started }, `${name} finished`);
      return true;
    },
    async idle() {
      await current;
    },
  };
}
