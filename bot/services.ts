/** The collaborators a command or button handler needs, built once per running app. */

import type { Logger } from 'pino';
import type { AllowListStore } from '../adapters/rules/allowlist-store.ts';
import type { TriageStore } from '../adapters/state/triage-store.ts';
import type { BotStore } from '../adapters/store/bot-store.ts';
import type { AccountNamer } from './account-names.ts';
import type { AuditLog } from './audit.ts';
import type { CommandResult } from './commands/registry.ts';
import type { BotConfig } from './config.ts';
import type { SessionAnalyzer } from './lookup/analyzer.ts';
import type { Limiter } from './lookup/limiter.ts';
import type { LookupRequest } from './lookup/run-lookup.ts';
import type { HelpExamples } from './messages/help.ts';
import type { SlackMessage } from './messages/limits.ts';
import type { Poster } from './poster.ts';

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
