import { buildHelp } from '../messages/help.ts';
import type { CommandRegistry, CommandSpec } from '../types.ts';

/** `/cartographer help`: every sub-command of this app's registry, with examples from the configured data. */
export function createHelpCommand(registry: Pick<CommandRegistry, 'list'>): CommandSpec {
  return {
    name: 'help',
    usage: '/cartographer help',
    summary: 'this help',
    async handle(_args, ctx) {
      await ctx.respond(
        buildHelp(
          registry.list(),
          ctx.services.config.defaultSource,
          await ctx.services.examples().catch(() => ({})),
        ),
      );
      return { outcome: 'ok' };
    },
  };
}
