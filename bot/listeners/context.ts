/**
 * What every Slack listener of one app shares: the services, the authoriser, the audit log, the registry of
 * sub-commands, and the request tracker (work continues after ack(): tracked so shutdown can wait for it, logged
 * under one reqId, failures logged and never thrown into Bolt).
 */
import type { Logger as BoltLogger } from '@slack/bolt';
import { LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';
import { newRequestId, type RequestKind, withRequest } from '../../adapters/observability/request-context.ts';
import type { AuditLog } from '../audit.ts';
import type { Authorizer } from '../authz.ts';
import type { BotServices, CommandRegistry } from '../types.ts';

export interface RequestTracker {
  /** Background work still running (stop() waits for it). */
  readonly inFlight: Set<Promise<unknown>>;
  track(work: Promise<unknown>): void;
  /** Runs a command's, click's or submission's work as one request (one reqId in its logs). */
  asRequest<T>(kind: RequestKind, work: () => T): T;
}

export interface ListenerContext {
  services: BotServices;
  authz: Authorizer;
  audit: AuditLog;
  logger: Logger;
  commands: CommandRegistry;
  requests: RequestTracker;
}

export function createRequestTracker(logger: Logger): RequestTracker {
  const inFlight = new Set<Promise<unknown>>();
  return {
    inFlight,
    track(work) {
      const p = work.catch((err) => logger.error({ err: errorSummary(err) }, 'background task failed'));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
    asRequest: (kind, work) => withRequest({ id: newRequestId(kind), logger }, work),
  };
}

export function errorSummary(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}

/** Bolt logs through its own small interface; route it into pino. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
