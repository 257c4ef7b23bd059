/**
 * The bot's shared types in one module, so its parts never import each other for a type: what a command is
 * (CommandSpec, its context and result), the registry the bot is built with, a lookup request and where it
 * answers, and the collaborators a command or button handler needs (BotServices, built once per running app).
 */

import type { Logger } from 'pino';
import type { AllowListStore } from '../adapters/rules/allowlist-store.ts';
import type { TriageStore } from '../adapters/state/triage-store.ts';
import type { BotStore } from '../adapters/store/bot-store.ts';
import type { BotConfig } from '../config/bot.ts';
import type { SourceName } from '../engine/source.ts';
import type { AccountNamer } from './account-names.ts';
import type { AuditLog } from './audit.ts';
import type { SessionAnalyzer } from './lookup/analyzer.ts';
import type { Limiter } from './lookup/limiter.ts';
import type { HelpExamples } from './messages/help.ts';
import type { SlackMessage } from './messages/limits.ts';
import type { Poster } from './poster.ts';

export type Outcome = 'ok' | 'no-results' | 'bad-args' | 'denied' | 'error';

export interface CommandResult {
  outcome: Outcome;
  detail?: string;
}

export interface CommandContext {
  userId: string;
  channelId: string;
  teamId?: string;
  /** Replies only to the user who typed the command (response_url, works in any channel). */
  respond(message: SlackMessage): Promise<void>;
  services: BotServices;
}

/** A `/cartographer <sub-command>`: its name, usage line, one-line summary and handler. */
export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  /** Arguments after the sub-command name, already split into words. Throws UsageError on bad input. */
  handle(args: string[], ctx: CommandContext): Promise<CommandResult>;
}

/** The sub-commands one app answers (built with the app: bot/commands/registry.ts; no global list). */
export interface CommandRegistry {
  /** In the order help lists them, `help` last. */
  list(): readonly CommandSpec[];
  find(name: string): CommandSpec | undefined;
  /** Adds (or replaces) a sub-command, before `help`: the scheduler's `digest` plugs in this way. */
  add(spec: CommandSpec): void;
}

export interface LookupRequest {
  kind: 'session' | 'user' | 'ip';
  value: string;
  source: SourceName;
  since?: Date;
}

export interface LookupTarget {
  channel: string;
  user: string;
  respond(message: SlackMessage): Promise<void>;
}

export interface BotServices {
  config: BotConfig;
  store: BotStore;
  /** Alert cases (acknowledge, assign, resolve, reopen) and the latest digest headline. */
  triage: TriageStore;
  poster: Poster;
  /** Names for account ids (configured map, AWS Organizations when allowed). */
  accountNames(): Promise<AccountNamer>;
  analyzer: SessionAnalyzer;
  /** The one allow-list every detector of this app reads ("Mark benign" writes here). */
  allowlist: AllowListStore;
  /** Bounds how many lookups run at once. */
  limiter: Limiter;
  audit: AuditLog;
  logger: Logger;
  /** Example arguments for help, from the configured data (computed once, lazily). */
  examples(): Promise<HelpExamples>;
  lookup(request: LookupRequest, target: LookupTarget): Promise<CommandResult>;
}
