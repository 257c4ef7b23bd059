/**
 * The scheduled scans: node-cron runs the daily digest at the configured local time in the
 * configured time zone (node-cron evaluates the pattern in that zone, so 08:00 stays 08:00 across
 * daylight-saving changes) and the alert scan every N minutes. Each job is guarded (guard.ts): a tick that
 * arrives while the previous run is still going is skipped with a log line, never run twice.
 *
 * Start-up: settle alerts left pending by a crash, then catch up a missed digest (yesterday's, if
 * today's digest time has passed) and run one alert scan, which covers the downtime (bounded).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { SchedulerState } from '../../adapters/state/scheduler-state.ts';
import { alertCron, digestCron, type SchedulerConfig } from '../../config/scheduler.ts';
import { offsetMs } from '../../engine/digest/day.ts';
import type { ProducedDigest } from '../../engine/digest/produce.ts';
import { type AlertScanDeps, reconcilePending, runAlertScan, type ScanResult } from './alert-scan.ts';
import { type Clock, systemClock } from './clock.ts';
import type { SchedulerDeps } from './deps.ts';
import { type DigestDeps, runDigestNow, runScheduledDigest } from './digest-job.ts';
import { type GuardedJob, guardedJob } from './guard.ts';

/**
 * The jobs' dependencies; the clock defaults to the system clock. `shared`: the state is a database
 * several replicas use (then only rows older than `staleMs` are reconciled at start-up: younger ones may
 * be another replica's posts in progress).
 */
export type SchedulerOptions = Omit<SchedulerDeps, 'clock'> & {
  clock?: Clock;
  shared?: boolean;
  staleMs?: number;
};

export interface Scheduler {
  readonly config: SchedulerConfig;
  readonly state: SchedulerState;
  readonly clock: Clock;
  /** Reconciles, catches up, and (when enabled) starts the cron jobs. */
  start(): Promise<void>;
  /** Stops the cron jobs and waits for running jobs. Does not close the state (the owner does). */
  stop(): Promise<void>;
  /** One alert scan now (skipped with a log line if one is running). */
  scanNow(reason?: string): Promise<boolean>;
  /** The scheduled digest job now (skipped if running; posts at most once per date). */
  digestNow(reason?: string): Promise<boolean>;
  /** An on-demand digest posted to `channel`. */
  digestTo(channel: string, date: string | undefined): Promise<ProducedDigest>;
  /** The digest job's next run times (from node-cron, in the configured time zone). */
  nextDigestRuns(count: number): Date[];
  readonly lastScan?: ScanResult;
  readonly jobs: { digest: GuardedJob; scan: GuardedJob };
  /** For the health check: whether any job is scheduled, when the cron timers last ticked and when it started. */
  heartbeat(): { enabled: boolean; lastTickAt?: number; startedAt?: number };
}

/** The heartbeat ticks every minute while any job is scheduled (bot/health.ts checks it is recent). */
export const HEARTBEAT_EVERY_MS = 60_000;

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { config, state, logger } = options;
  const clock = options.clock ?? systemClock;
  // Stopping the scheduler aborts running scans, which stops their Athena queries.
  let stopping = new AbortController();
  const deps = jobDeps(options, clock, stopping.signal);
  let lastScan: ScanResult | undefined;
  let lastScanStart: number | undefined;
  // One process on its own file needs no lease (and must not wait for one a killed predecessor still holds).
  const lease = createLeases(state, logger, options.shared === true);
  const scan = guardedJob(
    'alert scan',
    async () => {
      await lease.run('alert scan', async () => {
        lastScanStart = clock.now();
        lastScan = await runAlertScan(deps);
        if (lastScan.posted + lastScan.repeats + lastScan.snoozed > 0) {
          logger.info({ ...lastScan, notes: lastScan.notes.length }, 'alert scan posted');
        }
      });
    },
    logger,
  );
  const digest: GuardedJob = guardedJob(
    'daily digest',
    async () => {
      const ran = await lease.run('daily digest', async () => {
        await runScheduledDigest(deps);
      });
      // Held elsewhere: look again once that lease can have lapsed (its holder may die before posting).
      if (!ran) lease.retryLater(() => void digest.run('lease retry'));
    },
    logger,
  );
  const tasks: ScheduledTask[] = [];
  let lastTickAt: number | undefined;
  let startedAt: number | undefined;
  const heartbeatTask = cron.createTask(
    '* * * * *',
    () => {
      lastTickAt = clock.now();
    },
    { name: 'cartographer-heartbeat', noOverlap: false },
  );
  const digestTask = cron.createTask(digestCron(config), () => digest.run('cron'), {
    timezone: config.timeZone,
    name: 'cartographer-digest',
    // Our guard skips overlapping ticks itself, with the log line (node-cron's noOverlap would skip silently).
    noOverlap: false,
  });
  const everyMs = config.alertEveryMinutes * 60_000;
  const scanTask = cron.createTask(
    alertCron(config.alertEveryMinutes),
    () => {
      // Patterns that cannot express N (e.g. every 7 minutes) tick each minute; run when N has passed.
      if (lastScanStart !== undefined && clock.now() - lastScanStart < everyMs - 30_000) return;
      return scan.run('cron');
    },
    { timezone: config.timeZone, name: 'cartographer-alert-scan', noOverlap: false },
  );

  return {
    config,
    state,
    clock,
    get lastScan() {
      return lastScan;
    },
    jobs: { digest, scan },
    heartbeat: () => ({
      enabled: tasks.length > 0,
      ...(lastTickAt !== undefined ? { lastTickAt } : {}),
      ...(startedAt !== undefined ? { startedAt } : {}),
    }),
    async start() {
      if (stopping.signal.aborted) {
        stopping = new AbortController();
        deps.signal = stopping.signal;
      }
      await reconcilePending(deps, options.shared ? (options.staleMs ?? LEASE_MS) : 0).catch((err) =>
        logger.error({ err: String(err) }, 'could not reconcile pending alerts (will retry next start)'),
      );
      if (!config.enabled) {
        logger.info('scheduled scans are off (CARTOGRAPHER_SCHEDULE=off)');
        return;
      }
      if (config.digestChannel) {
        tasks.push(digestTask);
        await digestTask.start();
        if (missedToday(config, clock.now())) void digest.run('start-up catch-up');
      } else logger.info('no CARTOGRAPHER_DIGEST_CHANNEL: the daily digest is off');
      if (config.alertChannel && config.alertSource === 'sqs') {
        logger.info(
          'alerts come from the SQS queue (CARTOGRAPHER_ALERT_SOURCE=sqs): no scheduled alert scan',
        );
      } else if (config.alertChannel) {
        tasks.push(scanTask);
        await scanTask.start();
        void scan.run('start-up');
      } else logger.info('no CARTOGRAPHER_ALERT_CHANNEL: risk alerts are off');
      if (tasks.length > 0) {
        startedAt = clock.now();
        tasks.push(heartbeatTask);
        await heartbeatTask.start();
      }
    },
    async stop() {
      for (const t of tasks) await t.stop();
      lease.stop();
      stopping.abort(new Error('the scheduler is stopping'));
      await Promise.all([digest.idle(), scan.idle()]);
    },
    scanNow: (reason = 'manual') => scan.run(reason),
    digestNow: (reason = 'manual') => digest.run(reason),
    digestTo: (channel, date) => runDigestNow(deps, channel, date),
    nextDigestRuns: (count) => digestTask.getNextRuns(count),
  };
}

/** What the alert scan and the digest jobs need, from the scheduler's options. */
function jobDeps(options: SchedulerOptions, clock: Clock, signal: AbortSignal): AlertScanDeps & DigestDeps {
  const { config, state, logger } = options;
  return {
    signal,
    config,
    clock,
    state,
    sourceName: options.sourceName,
    source: options.source,
    stages: options.stages,
    outbox: options.outbox,
    logger,
    ...(options.store ? { store: options.store } : {}),
    ...(options.triage ? { triage: options.triage } : {}),
    ...(options.accountNames ? { accountNames: options.accountNames } : {}),
  };
}

/** Today's digest time has passed: yesterday's digest is due (and posted at most once). */
export function missedToday(config: SchedulerConfig, now: number): boolean {
  // Wall-clock minutes since local midnight (from the zone's offset, so DST days count right).
  const local = now + offsetMs(now, config.timeZone);
  const localMinutes = Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
  return localMinutes >= config.digestHour * 60 + config.digestMinute;
}

/** How long a job's lease lasts without renewal (renewed every third of it while the job runs). */
const LEASE_MS = 60_000;

/**
 * Scheduled jobs run on one replica at a time: a lease in the state store, taken before the job, renewed
 * while it runs and given up after. A replica that finds the lease held skips the run with a log line.
 */
function createLeases(state: SchedulerState, logger: SchedulerOptions['logger'], shared: boolean) {
  const holder = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const timers = new Set<NodeJS.Timeout>();
  return {
    /** Runs `job` under the lease `name`; false when another replica holds it. */
    async run(name: string, job: () => Promise<void>): Promise<boolean> {
      if (!shared) {
        await job();
        return true;
      }
      if (!(await state.acquireLease(name, holder, LEASE_MS))) {
        logger.info({ job: name }, `${name}: another replica holds the lease and runs it`);
        return false;
      }
      const renew = setInterval(() => {
        state.acquireLease(name, holder, LEASE_MS).catch(() => {});
      }, LEASE_MS / 3);
      try {
        await job();
      } finally {
        clearInterval(renew);
        await state.releaseLease(name, holder).catch(() => {});
      }
      return true;
    },
    retryLater(again: () => void) {
      const t = setTimeout(() => {
        timers.delete(t);
        again();
      }, LEASE_MS + 1000);
      t.unref();
      timers.add(t);
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
