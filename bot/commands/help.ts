import { buildHelp } from '../messages/help.ts';
import type { CommandSpec } from './registry.ts';

export const helpCommand: CommandSpec = {
  name: 'help',
  usage: '/cartographer help',
  summary: 'this help',
  async handle(_args, ctx) {
    const { commands } = await import('./registry.ts');
    await ctx.respond(
      buildHelp(commands, ctx.services.config.defaultSource, await ctx.services.examples().catch(() => ({}))),
    );
    return { outcome: 'ok' };
  },
};
