/**
 * `cartographer <command> …`: dispatches to one module per command in cli/commands/.
 * Each command module exports `run(argv: string[]): Promise<number>` (the exit code) and `usage`.
 */
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
    // Source and configuration errors (AWS access denied, expired credentials, missing setting) carry a message
    // written for the analyst, hint included: print that, not a stack trace.
    const err = e as Error;
    if (err?.name === 'SourceError' || err?.name === 'ConfigError') {
      process.stderr.write(`cartographer ${name}: ${err.message}\n`);
      return err.name === 'ConfigError' ? 2 : 1;
    }
    throw e;
  }
}

function helpText(): string {
  return `usage: cartographer <command> [options]\n\ncommands: ${Object.keys(commands).join(', ')}\n`;
}

process.exitCode = await main(process.argv.slice(2));
