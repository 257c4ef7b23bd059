/**
 * Every bad argument of every command ends the same way: `cartographer <command>: <what is wrong>`, the
 * command's usage, exit code 2; never Node's own argument-parser message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';

interface Command {
  run(argv: string[]): Promise<number>;
  usage: string;
}
const commands: Record<string, () => Promise<Command>> = {
  summarize: () => import('../../cli/commands/summarize.ts'),
  scan: () => import('../../cli/commands/scan.ts'),
  digest: () => import('../../cli/commands/digest.ts'),
  rules: () => import('../../cli/commands/rules.ts'),
  start: () => import('../../cli/commands/start.ts'),
  watch: () => import('../../cli/commands/watch.ts'),
};

async function runCommand(line: string): Promise<{ code: number; stderr: string; usage: string }> {
  const [name, ...argv] = line.split(' ');
  const command = await commands[name!]!();
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await command.run(argv), stderr, usage: command.usage };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

const CASES: [string, RegExp][] = [
  ['summarize demo/ --frobnicate', /unknown option '--frobnicate'/],
  ['summarize demo/ --max-evnts 5', /unknown option '--max-evnts' \(did you mean --max-events\?\)/],
  ['summarize demo/ --max-events -5', /--max-events must be a positive whole number \(got '-5'\)/],
  ['summarize demo/ --max-events ten', /--max-events must be a positive whole number \(got 'ten'\)/],
  ['summarize demo/ --max-events 2.5', /--max-events must be a positive whole number \(got '2.5'\)/],
  ['summarize demo/ --idle-gap -30', /--idle-gap must be a positive number of minutes \(got '-30'\)/],
  ['summarize demo/ --idle-gap soon', /--idle-gap must be a positive number of minutes \(got 'soon'\)/],
  ['summarize demo/ --max-record-mb -1', /--max-record-mb must be a number of megabytes above 0/],
  ['summarize demo/ --format', /--format needs a value/],
  ['summarize demo/ --format --all', /--format needs a value \(got the option '--all'\)/],
  ['summarize demo/ --format yaml', /--format must be text or json \(got 'yaml'\)/],
  ['summarize demo/ --all=yes', /--all takes no value \(got 'yes'\)/],
  ['summarize demo/ --since yesterday', /--since: 'yesterday' is neither a duration/],
  ['summarize -7', /unknown option '-7'/],
  ['scan demo/ --min-severity', /--min-severity needs a value/],
  ['scan demo/ --min-severity severe', /--min-severity must be one of info, low, medium, high, critical/],
  ['scan demo/ --idle-gap 0', /--idle-gap must be a positive number of minutes \(got '0'\)/],
  ['scan demo/ --max-events 0', /--max-events must be a positive whole number \(got '0'\)/],
  ['digest --baseline-days -1', /--baseline-days must be a whole number from 1 to 90 \(got '-1'\)/],
  ['digest --baseline-days many', /--baseline-days must be a whole number from 1 to 90 \(got 'many'\)/],
  ['digest --date 2023-02-30', /--date: /],
  ['digest --timezone Mars/Olympus', /--timezone 'Mars\/Olympus' is not an IANA time zone/],
  ['digest --nope', /unknown option '--nope'/],
  ['rules check /no/such/rules', /cannot read rules folder \/no\/such\/rules: no such folder/],
  ['rules check package.json', /rules folder package.json is not a folder/],
  ['rules check --format xml', /--format must be text or json \(got 'xml'\)/],
  ['rules check --errors-only=1', /--errors-only takes no value/],
  ['rules check a b', /one rules folder at most/],
  ['rules explain --rules /no/such/signals demo/', /cannot read signal rules folder \/no\/such\/signals/],
  ['rules explain --from yesterday demo/', /--from must be an ISO time/],
  ['rules explain', /explain: name at least one file or folder/],
  ['rules explain demo/ --verbose', /unknown option '--verbose'/],
  ['rules frobnicate', /unknown sub-command 'frobnicate'/],
  ['rules', /name a sub-command: check, test, coverage or explain/],
  ['start --port 3000', /unknown option '--port' \(settings come from the environment\)/],
  ['start now', /unexpected argument 'now'/],
  ['watch --sorce sqs', /unknown option '--sorce' \(did you mean --source\?\)/],
  ['watch --source local', /--source local: watch reads a queue/],
  ['watch --source sqs --max-messages 0', /--max-messages must be a whole number ≥ 1 \(got '0'\)/],
  ['watch --source sqs now', /unexpected argument 'now'/],
];

describe('bad arguments: our message, the usage, exit code 2', () => {
  it.each(CASES)('%s', async (line, message) => {
    const { code, stderr, usage } = await runCommand(line);
    expect(code).toBe(2);
    const name = line.split(' ')[0];
    expect(stderr).toMatch(new RegExp(`^cartographer ${name}: `));
    expect(stderr).toMatch(message);
    expect(stderr).toContain(usage.split('\n')[0]);
    // Node's parseArgs wording never reaches the user.
    expect(stderr).not.toMatch(
      /To specify a positional argument|Unknown option|argument is ambiguous|ERR_PARSE_ARGS/,
    );
  });

  it('the real CLI exits 2 with the usage line', () => {
    const r = spawnSync(
      process.execPath,
      ['bin/cartographer.js', 'summarize', 'demo/', '--max-events', '-5'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^cartographer summarize: --max-events must be a positive whole number \(got '-5'\)\n\nusage: cartographer summarize/,
    );
    expect(r.stdout).toBe('');
  });

  it('a good negative-looking value still reaches its option (`--format=json`, `-` for standard input)', () => {
    const out = execFileSync(
      process.execPath,
      ['bin/cartographer.js', 'summarize', '--format=json', '--no-events', '-'],
      {
        input: '{"Records":[]}',
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out).inputs.files).toBe(1);
  });
});
