/**
 * The request a piece of work belongs to: one Slack command, button click, modal, event (App Home) or scheduled
 * job run. Everything it
 * starts (its AWS queries, its Slack posts, the log lines of both) runs inside the same AsyncLocalStorage context,
 * so every log line written on its behalf carries the same `reqId` (see bot/audit.ts createLogger's mixin).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';

export interface RequestContext {
  /** Short random id, e.g. `c-3f9a1b2c4d5e` (c: command, a: action/click, v: view, e: event, j: scheduled job). */
  id: string;
  /** Where code without its own logger (AWS adapters) writes on behalf of this request. */
  logger?: Logger;
}

export type RequestKind = 'command' | 'action' | 'view' | 'event' | 'job';

const storage = new AsyncLocalStorage<RequestContext>();

export function newRequestId(kind: RequestKind): string {
  return `${kind[0]}-${randomBytes(6).toString('hex')}`;
}

/** Runs `work` as (part of) the request `context`; whatever it starts, awaited or not, stays in it. */
export function withRequest<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The request the calling code runs for, if any (none: start-up, the CLI). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
