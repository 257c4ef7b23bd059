/**
 * The `/cartographer <sub-command>` registry. A sub-command is one object: its name, usage line,
 * one-line summary and a handler. Adding one (e.g. `digest`) is one entry in `commands` below.
 */

import type { SlackMessage } from '../messages/limits.ts';
import type { BotServices } from '../services.ts';
import { helpCommand } from './help.ts';
import { ipCommand, sessionCommand, userCommand } from './lookup-commands.ts';

export type Outcome = 'ok' | 'no-results' | 'bad-args' | 'denied' | 'error';

export interface CommandContext {
  userId: string;
  channelId: string;
  teamId?: string;
  /** Replies only to the user who typed the command (response_url, works in any channel). */
  respond(message: SlackMessage): Promise<void>;
  services: BotServices;
}

export interface CommandResult {
  outcome: Outcome;
  detail?: string;
}

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  /** Arguments after the sub-command name, already split into words. Throws UsageError on bad input. */
  handle(args: string[], ctx: CommandContext): Promise<CommandResult>;
}

export const commands: CommandSpec[] = [sessionCommand, userCommand, ipCommand, helpCommand];

export function findCommand(name: string): CommandSpec | undefined {
  return commands.find((c) => c.name === name.toLowerCase());
}

/** Lets another module (the scheduler's `digest`) plug in without editing the list above. */
export function registerCommand(spec: CommandSpec): void {
  const i = commands.findIndex((c) => c.name === spec.name);
  if (i >= 0) commands[i] = spec;
  else commands.splice(commands.length - 1, 0, spec);
}
