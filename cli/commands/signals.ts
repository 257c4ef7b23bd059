/**
 * `cartographer signals suggest <files…>`: proposes console pages (rules/signals/pages/*.yaml) for the
 * events of console sessions that only got a page-level answer, as YAML ready to edit and test.
 * `cartographer signals coverage <files…>`: how much of each console session the signal engine names.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadDefaultStages } from '../../compose/stages.ts';
import { analyze, type SessionReport } from '../../engine/pipeline.ts';
import { coverageOf } from '../../engine/signals/coverage.ts';
import { createSignalMapper, type LoadedSignalMapper } from '../../engine/signals/index.ts';
import { type PageSuggestion, suggestPages } from '../../engine/signals/suggest.ts';
import { commandErrors, stageOptions } from '../command-support.ts';
import { sourceOptionSpec, sourceOptionsUsage } from '../source-options.ts';

export const usage = `usage: cartographer signals suggest <files|directories|-> [--session KEY] [--format yaml|json]
       cartographer signals coverage <files|directories|-> [--all]

suggest   for console events that only got a page-level answer ("Viewed the RDS console: …"), proposes
          console pages for rules/signals/pages/<Service>.yaml: one page per burst of one service's calls,
          its first listing call as the anchor, a name guessed from the service and that call. Check each
          against the console, rename it, then run \`cartographer rules check\` and the tests.
coverage  per console session: events, how many sit in a named action, and by which kind of rule
          (defs: Cloud Console Cartographer definitions, pages: rules/signals/pages, summary: sentences for
          calls and writes; page-level and unmapped are not named). --all: every session, not only console.

options:
  --session KEY        only the session with this key (or an access key ID used in it)
  --format yaml|json   suggest: YAML to paste (default) or JSON
${sourceOptionsUsage}

exit codes: 0 done · 1 an input could not be read · 2 bad arguments`;

const errors = commandErrors('signals', usage);

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (sub !== 'suggest' && sub !== 'coverage') return errors.usageError(`unknown sub-command '${sub ?? ''}'`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest);
  } catch (e) {
    return errors.usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') return errors.usageError(`--format must be yaml or json`);
  const resolved = await errors.resolve(values, positionals);
  if (typeof resolved === 'number') return resolved;

  const mapper = await createSignalMapper({ warnOnRuleErrors: true });
  const stages = { ...(await loadDefaultStages(stageOptions())), signalMapper: mapper };
  const analysis = analyze(resolved.source.read(resolved.query), stages, {
    keepEvents: sub === 'suggest',
    ...(values.session !== undefined ? { sessionKey: values.session } : {}),
  });
  const sessions: SessionReport[] = [];
  for await (const s of analysis.sessions) {
    if (values.all || s.kind === 'console' || s.kind === 'unknown') sessions.push(s);
  }
  if (sub === 'coverage') process.stdout.write(coverageTable(sessions));
  else process.stdout.write(suggestText(sessions, mapper, positionals.join(' '), format));
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...sourceOptionSpec,
      session: { type: 'string' },
      format: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
}

function coverageTable(sessions: readonly SessionReport[]): string {
  const lines = [
    'session                                                   kind          events  named   share  by kind',
  ];
  let events = 0;
  let named = 0;
  for (const s of sessions) {
    const c = coverageOf(s.signals, s.unmappedEventIds);
    events += c.events;
    named += c.named;
    const kinds = Object.entries(c.byCategory)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const share = c.events ? ((c.named / c.events) * 100).toFixed(1) : '100.0';
    lines.push(
      `${s.key.slice(0, 56).padEnd(57)} ${s.kind.padEnd(12)} ${String(c.events).padStart(7)} ${String(c.named).padStart(6)} ${share.padStart(6)}%  ${kinds}`,
    );
  }
  const total = events ? ((named / events) * 100).toFixed(1) : '100.0';
  lines.push(`${sessions.length} session(s): ${named} of ${events} events named (${total}%)`);
  return `${lines.join('\n')}\n`;
}

function suggestText(
  sessions: readonly SessionReport[],
  mapper: LoadedSignalMapper,
  input: string,
  format: 'yaml' | 'json',
): string {
  const found: { session: SessionReport; s: PageSuggestion }[] = [];
  for (const session of sessions) {
    for (const s of suggestPages(session.signals, session.events ?? [], mapper.rules.phrases)) {
      found.push({ session, s });
    }
  }
  if (format === 'json')
    return `${JSON.stringify(
      found.map((f) => ({ session: f.session.key, ...f.s })),
      null,
      2,
    )}\n`;
  if (found.length === 0)
    return '# Nothing to suggest: no console event of these sessions got only a page-level answer.\n';
  const byFile = new Map<string, typeof found>();
  for (const f of found) byFile.set(f.s.file, [...(byFile.get(f.s.file) ?? []), f]);
  const events = found.reduce((n, f) => n + f.s.seen.events, 0);
  const parts = [
    `# Suggested by \`cartographer signals suggest\` from ${input}: ${found.length} page(s) for ${events} console`,
    '# event(s) that only had a page-level answer. Check each against the console, rename it, narrow its calls',
    '# (add `match` conditions), then add it to the file named below and run `cartographer rules check` and',
    '# `npx vitest run test/engine/signals/pages.test.ts`.',
  ];
  for (const [file, list] of byFile) {
    const doc = {
      service: list[0]!.s.service,
      sources: list.map(
        (f) =>
          `Recorded: ${input}, session ${f.session.key}, ${f.s.seen.start}–${f.s.seen.end}: ${Object.entries(
            f.s.seen.counts,
          )
            .map(([k, n]) => (n > 1 ? `${k} ×${n}` : k))
            .join(', ')}`,
      ),
      pages: list.map((f) => f.s.page),
    };
    parts.push('', `# --- rules/signals/pages/${file}`, stringify(doc, { lineWidth: 0 }).trimEnd());
  }
  return `${parts.join('\n')}\n`;
}
