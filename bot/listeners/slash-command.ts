/**
 * `/cartographer …`: acknowledged at once, then authorised, dispatched to its sub-command from the app's
 * registry, answered (usage or failure messages included) and audited, whatever happens.
 */
import type { App } from '@slack/bolt';
import { metrics } from '../../adapters/observability/metrics.ts';
import { UsageError } from '../../engine/errors.ts';
import { tokenize } from '../commands/parse.ts';
import type { SlackMessage } from '../messages/limits.ts';
import { failureMessage, refusalMessage, usageMessage } from '../messages/notices.ts';
import { prepare } from '../poster.ts';
import type { CommandRegistry, CommandResult } from '../types.ts';
import { errorSummary, type ListenerContext } from './context.ts';

export const COMMAND = '/cartographer';

interface SlashCommand {
  text?: string;
  user_id: string;
  channel_id: string;
  team_id: string;
}

export function registerSlashCommand(app: App, lc: ListenerContext): void {
  app.command(COMMAND, async ({ command, ack, respond }) => {
    await ack();
    lc.requests.asRequest('command', () => runCommand(lc, command, respond));
  });
}

function runCommand(
  lc: ListenerContext,
  command: SlashCommand,
  // biome-ignore lint/suspicious/noExplicitAny: Bolt's respond takes its own message union
  respond: (message: any) => Promise<unknown>,
): void {
  const started = Date.now();
  const name = commandLabel(lc.commands, command.text ?? '');
  const reply = async (m: SlackMessage) => {
    await respond({ response_type: 'ephemeral', replace_original: false, ...prepare(m, 'ephemeral reply') });
  };
  lc.requests.track(
    handleCommand(lc, command.text ?? '', command.user_id, command.channel_id, reply)
      // Whatever happens, the command is audited.
      .catch((err): CommandResult => ({ outcome: 'error', detail: errorSummary(err).message }))
      .then((result) => {
        metrics.commands.inc({ command: name, outcome: result.outcome });
        lc.audit.record({
          who: command.user_id,
          team: command.team_id,
          where: command.channel_id,
          what: `${COMMAND} ${command.text ?? ''}`.trim(),
          outcome: result.outcome,
          durationMs: Date.now() - started,
          ...(result.detail ? { detail: result.detail } : {}),
        });
      }),
  );
}

async function handleCommand(
  lc: ListenerContext,
  text: string,
  userId: string,
  channelId: string,
  reply: (m: SlackMessage) => Promise<void>,
): Promise<CommandResult> {
  const decision = await lc.authz.check(userId, channelId);
  if (!decision.allowed) {
    await reply(refusalMessage(decision.reason)).catch(() => {});
    return { outcome: 'denied', detail: decision.reason };
  }
  const [name = 'help', ...args] = tokenize(text);
  const spec = lc.commands.find(name);
  try {
    if (!spec) {
      const names = lc.commands
        .list()
        .map((c) => c.name)
        .join('|');
      throw new UsageError(`unknown command '${name}'`, `${COMMAND} ${names} …  (try ${COMMAND} help)`);
    }
    return await spec.handle(args, { userId, channelId, respond: reply, services: lc.services });
  } catch (err) {
    if (err instanceof UsageError) {
      await reply(usageMessage(err.message, err.usage ?? `${COMMAND} help`)).catch((e) =>
        lc.logger.warn({ err: errorSummary(e) }, 'could not send the usage message'),
      );
      return { outcome: 'bad-args', detail: err.message };
    }
    lc.logger.error({ err: errorSummary(err), command: name }, 'command failed');
    await reply(
      failureMessage('Something went wrong running that command', 'Try again; the bot log has the details.'),
    ).catch(() => {});
    return { outcome: 'error', detail: errorSummary(err).message };
  }
}

/** The metrics label of a slash command: its sub-command when known, else `unknown`. */
function commandLabel(commands: CommandRegistry, text: string): string {
  const first = text.trim().split(/\s+/)[0] || 'help';
  return commands.find(first)?.name ?? 'unknown';
}
