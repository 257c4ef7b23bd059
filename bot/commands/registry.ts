/**
 * The `/cartographer <sub-command>` registry of one app. A sub-command is one object (CommandSpec in
 * bot/types.ts); the built-in ones are listed in `BUILT_IN_COMMANDS`, `help` is always last and lists them all.
 */
import type { CommandRegistry, CommandSpec } from '../types.ts';
import { createHelpCommand } from './help.ts';
import { ipCommand, sessionCommand, userCommand } from './lookup-commands.ts';

export const BUILT_IN_COMMANDS: readonly CommandSpec[] = [sessionCommand, userCommand, ipCommand];

export function createCommandRegistry(specs: readonly CommandSpec[] = BUILT_IN_COMMANDS): CommandRegistry {
  const commands: CommandSpec[] = [...specs];
  const registry: CommandRegistry = {
    list: () => commands,
    find: (name) => commands.find((c) => c.name === name.toLowerCase()),
    add(spec) {
      const i = commands.findIndex((c) => c.name === spec.name);
      if (i >= 0) commands[i] = spec;
      else commands.splice(commands.length - 1, 0, spec);
    },
  };
  commands.push(createHelpCommand(registry));
  return registry;
}
