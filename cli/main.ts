/**
 * `cartographer <command> …`: dispatches to one module per command in cli/commands/.
 * Each command module exports `run(argv: string[]): Promise<number>` (the exit code) and `usage`.
 */
import { type ErrorCode, errorCode } from '../engine/errors.ts';

interface CommandModule {
  run(argv: string[]): Promise<number>;
  usage: string;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  summarize: () => import('./commands/summarize.ts'),
  rules: () => import('./commands/rules.ts'),
  start: () => import('./commands/start.ts'),
  digest: () => import('./commands/digest.ts'),
  scan: () => import('./commands/scan.ts'),
  signals: () => import('./commands/signals.ts'),
  watch: () => import('./commands/watch.ts'),
  athena: () => import('./commands/athena.ts'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(helpText());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`cartographer: unknown command '${name}'\n\n${helpText()}`);
    return 2;
  }
  const command = await load();
  try {
    return await command.run(rest);
  } catch (e) {
    // Source, configuration and rule-file errors (AWS access denied, expired credentials, a missing setting,
    // a bad allow-list entry) carry a message written for the analyst, file and line or hint included:
    // print that, not a stack trace.
    const code = errorCode(e);
    const exitCode = code ? EXIT_CODES[code] : undefined;
    if (exitCode === undefined) throw e;
    process.stderr.write(`cartographer ${name}: ${(e as Error).message}\n`);
    if (code === 'rules') {
      process.stderr.write('(`cartographer rules check` lists every problem in the rule files)\n');
    }
    return exitCode;
  }
}

/**
 * Errors whose message is meant for the person at the terminal (engine/errors.ts codes), and the exit code each
 * ends with: 2 for what the person must change in how they called it, 1 for what went wrong while running.
 * The others are bugs: their stack trace is printed.
 */
const EXIT_CODES: Record<ErrorCode, number | undefined> = {
  usage: 2,
  config: 2,
  input: 1,
  source: 1,
  rules: 1,
  timeout: 1,
  unsupported: undefined,
  stale: undefined,
  object: undefined,
};

function helpText(): string {
  return `usage: cartographer <command> [options]\n\ncommands: ${Object.keys(commands).join(', ')}\n`;
}

process.exitCode = await main(process.argv.slice(2));
