/**
 * The bot's health, for Docker's HEALTHCHECK (bin/health-check.js), Kubernetes probes and Prometheus:
 *
 *   GET /healthz   every check: the Slack connection (Socket Mode) or the HTTP receiver listening, the state store
 *                  writable, the scheduler's last tick recent. 200 when all pass, 503 with the failing ones named.
 *   GET /readyz    the same, and 503 until start-up has finished and again once shutdown begins.
 *   GET /metrics   Prometheus text format (adapters/observability/metrics.ts).
 *
 * Served by the Slack HTTP receiver in HTTP mode and by a small listener of its own in Socket Mode (ops-server.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, registry } from '../adapters/observability/metrics.ts';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface HealthCheck {
  name: string;
  run(): CheckResult | Promise<CheckResult>;
}

export interface HealthReport {
  ok: boolean;
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export interface Health {
  report(): Promise<HealthReport>;
  setReady(ready: boolean): void;
}

/** A check that takes longer than this fails (a hung store must not hang the probe). */
const CHECK_TIMEOUT_MS = 3000;

export function createHealth(checks: HealthCheck[]): Health {
  let ready = false;
  return {
    setReady(value) {
      ready = value;
    },
    async report() {
      const results = await Promise.all(checks.map(runCheck));
      const byName: Record<string, CheckResult> = {};
      checks.forEach((c, i) => {
        byName[c.name] = results[i]!;
        metrics.healthCheck.set({ check: c.name }, results[i]!.ok ? 1 : 0);
      });
      return { ok: results.every((r) => r.ok), ready, checks: byName };
    },
  };
}

async function runCheck(check: HealthCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(() => check.run()), timeout]);
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** A check from a function that throws when unhealthy (e.g. the store's write probe). */
export function throwingCheck(
  name: string,
  okDetail: string,
  probe: () => void | Promise<void>,
): HealthCheck {
  return {
    name,
    async run() {
      await probe();
      return { ok: true, detail: okDetail };
    },
  };
}

/**
 * The scheduler ticks (its heartbeat) at least every `everyMs` while its jobs are on; a last tick older than three
 * of those means its timers stopped (a blocked event loop, a crashed cron task).
 */
export function schedulerCheck(
  tick: () => { enabled: boolean; lastTickAt?: number; startedAt?: number },
  now: () => number,
  everyMs = 60_000,
): HealthCheck {
  return {
    name: 'scheduler',
    run() {
      const t = tick();
      if (!t.enabled) return { ok: true, detail: 'no scheduled jobs' };
      const last = t.lastTickAt ?? t.startedAt;
      if (last === undefined) return { ok: false, detail: 'not started' };
      const age = now() - last;
      const ok = age <= 3 * everyMs;
      const what = t.lastTickAt === undefined ? 'started' : 'last tick';
      return {
        ok,
        detail: `${what} ${Math.round(age / 1000)} s ago${ok ? '' : ` (expected every ${everyMs / 1000} s)`}`,
      };
    },
  };
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** The GET routes: /healthz, /readyz, /metrics. */
export function healthRoutes(health: Health): Map<string, Route> {
  const probe =
    (needReady: boolean): Route =>
    (req, res) => {
      void health.report().then((r) => {
        const ok = r.ok && (!needReady || r.ready);
        const body = JSON.stringify({ status: ok ? 'ok' : 'failing', ready: r.ready, checks: r.checks });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
      });
    };
  const metricsRoute: Route = (req, res) => {
    void registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  };
  return new Map([
    ['/healthz', probe(false)],
    ['/readyz', probe(true)],
    ['/metrics', metricsRoute],
  ]);
}
