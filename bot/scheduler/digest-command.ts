/** `/cartographer digest [YYYY-MM-DD]`: the daily digest built now and posted in this channel. */
import { dayBounds } from '../../engine/digest/day.ts';

import { UsageError } from '../../engine/errors.ts';
import { failureMessage, infoMessage } from '../messages/notices.ts';
import { isNotInChannel, slackErrorCode } from '../poster.ts';
import type { CommandSpec } from '../types.ts';
import { digestCostLine } from './digest-job.ts';
import type { Scheduler } from './scheduler.ts';

const USAGE = '/cartographer digest [YYYY-MM-DD]';

export function digestCommand(scheduler: Scheduler): CommandSpec {
  return {
    name: 'digest',
    usage: USAGE,
    summary: "the daily digest (today, or the given day): sessions by risk, counts, what's new, top findings",
    async handle(args, ctx) {
      if (args.length > 1) throw new UsageError(`unexpected '${args[1]}'`, USAGE);
      const date = args[0];
      if (date !== undefined) {
        try {
          dayBounds(date, scheduler.config.timeZone);
        } catch {
          throw new UsageError(`'${date}' is not a date like 2026-11-21`, USAGE);
        }
      }
      await ctx.respond(infoMessage(`Building the digest${date ? ` of ${date}` : ''}…`));
      try {
        const produced = await scheduler.digestTo(ctx.channelId, date);
        return {
          outcome: 'ok',
          detail: `digest ${produced.digest.date}: ${produced.digest.totals.sessions} sessions${produced.stats ? `; ${digestCostLine(produced)}` : ''}`,
        };
      } catch (err) {
        const code = slackErrorCode(err);
        const hint = isNotInChannel(code)
          ? 'Invite me to this channel first (`/invite @Cartographer`).'
          : 'The bot log has the details.';
        await ctx.respond(failureMessage(`The digest failed${code ? ` (${code})` : ''}`, hint));
        return { outcome: 'error', detail: code ?? (err instanceof Error ? err.message : String(err)) };
      }
    },
  };
}
