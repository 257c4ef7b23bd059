/**
 * One audit line per command and per button click: who, where, what, outcome, duration.
 * Written with pino; `what` is redacted (a user may paste a secret into a command) and no token or
 * signing secret is ever passed to the logger.
 */
import pino, { type Logger } from 'pino';
import { currentRequest } from '../adapters/observability/request-context.ts';
import { redactText } from '../engine/redact.ts';

export interface AuditEntry {
  who: string;
  team?: string;
  where: string;
  what: string;
  outcome: string;
  durationMs: number;
  detail?: string;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
}

/** Paths pino blanks if they ever reach a log call (defence in depth; we do not log them on purpose). */
export const LOG_REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers["x-slack-signature"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: LOG_REDACT_PATHS, censor: '[REDACTED]' },
    base: { app: 'cartographer' },
    // Every line written while serving a command, click or scheduled run names it (request-context.ts).
    mixin: () => {
      const request = currentRequest();
      return request ? { reqId: request.id } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export function createAuditLog(logger: Logger): AuditLog {
  const audit = logger.child({ audit: true });
  return {
    record(entry) {
      const line = { ...entry, what: redactText(entry.what).slice(0, 500) };
      if (line.detail) line.detail = redactText(line.detail).slice(0, 500);
      audit.info(line, 'audit');
    },
  };
}
