/**
 * Loads rules/signals/** into a compiled rule set. A file with problems is reported (file:line) and
 * skipped; every other file still loads, so one bad definition never takes the engine down.
 */

import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParsedYaml, type RuleProblem, readYamlFile, snapshotSchema } from '../rule-yaml.ts';
import { readUserAgentTable, type UserAgentClassifier } from '../user-agent.ts';
import { compileWhen } from './conditions.ts';
import { compilePages, type PageFileInput } from './pages.ts';
import { compilePhrases, DEFAULT_PROGRAMMATIC, type Phrases } from './phrases.ts';
import type { CompiledCase, CompiledDef, SignalRuleSet } from './rule-set.ts';
import {
  type DefFile,
  DefFileSchema,
  type FallbackFile,
  FallbackFileSchema,
  type FollowupFile,
  FollowupFileSchema,
  type LabelFile,
  LabelFileSchema,
  type PageFile,
  PageFileSchema,
  type ProgrammaticFile,
  ProgrammaticFileSchema,
  type When,
} from './schema.ts';
import { templateProblems } from './templates.ts';

// Validated once at build time for the bundled rules (engine/rule-yaml.ts snapshot).
snapshotSchema('signals/defs', DefFileSchema);
snapshotSchema('signals/fallback', FallbackFileSchema);
snapshotSchema('signals/followups', FollowupFileSchema);
snapshotSchema('signals/labels', LabelFileSchema);
snapshotSchema('signals/pages', PageFileSchema);
snapshotSchema('signals/programmatic', ProgrammaticFileSchema);

export const DEFAULT_SIGNAL_RULES_DIR = fileURLToPath(new URL('../../rules/signals', import.meta.url));

export interface LoadedRules {
  rules: SignalRuleSet;
  problems: RuleProblem[];
  files: number;
}

async function yamlFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** `userAgentsFile`: the user-agent table (default: user-agents.yaml in the folder above, as rules/ holds it). */
export async function loadSignalRules(
  dir: string = DEFAULT_SIGNAL_RULES_DIR,
  userAgentsFile = join(dir, '..', 'user-agents.yaml'),
): Promise<LoadedRules> {
  const problems: RuleProblem[] = [];
  const show = (f: string) => relative(process.cwd(), f) || f;
  let files = 0;
  const read = async <T>(
    file: string,
    schema: Parameters<typeof readYamlFile<T>>[1],
  ): Promise<ParsedYaml<T>> => {
    files++;
    const parsed = await readYamlFile(file, schema);
    for (const p of parsed.problems)
      problems.push({ ...p, file: show(p.file), severity: p.severity ?? 'error' });
    return parsed;
  };

  files++;
  const uaTable = await readUserAgentTable(userAgentsFile);
  for (const p of uaTable.problems)
    problems.push({ ...p, file: show(p.file), severity: p.severity ?? 'error' });
  const ua = uaTable.classifier;

  const followParsed = await read<FollowupFile>(join(dir, 'followups.yaml'), FollowupFileSchema);
  const followups: FollowupFile = followParsed.value ?? { previousSkips: [], followups: [] };

  let fallback: FallbackFile | undefined;
  const fallbackFile = join(dir, 'fallback.yaml');
  if ((await yamlFiles(dir)).includes(fallbackFile)) {
    fallback = (await read<FallbackFile>(fallbackFile, FallbackFileSchema)).value;
  }

  const phrases = await loadPhrases(dir, read, show, problems);

  // Definitions first, so label files can be checked against them.
  const ctx: LoadContext = { read, show, problems };
  const defs = await loadDefs(dir, ctx);
  const { cases, anyCases } = await loadLabels(dir, ctx, ua, defs);

  followups.followups.forEach((f, i) => {
    const ids = followupIds(f);
    for (const id of ids) {
      if (!defs.has(id) && ![...defs.values()].some((d) => d.reportId === id)) {
        problems.push({
          file: show(join(dir, 'followups.yaml')),
          line: followParsed.lineOf(['followups', i]),
          severity: 'warning',
          message: `follow-up names signal '${id}' that no definition has`,
        });
      }
    }
  });

  const pageInputs: PageFileInput[] = [];
  for (const file of await yamlFiles(join(dir, 'pages'))) {
    pageInputs.push({ file: show(file), parsed: await read<PageFile>(file, PageFileSchema) });
  }
  const compiled = compilePages(pageInputs, ua, new Set(defs.keys()), phrases);
  problems.push(...compiled.problems);
  const pages = compiled.pages.defs.size > 0 ? compiled.pages : undefined;
  return { rules: { ua, cases, anyCases, defs, followups, fallback, pages, phrases }, problems, files };
}

interface LoadContext {
  read: <T>(file: string, schema: Parameters<typeof readYamlFile<T>>[1]) => Promise<ParsedYaml<T>>;
  show: (f: string) => string;
  problems: RuleProblem[];
}

/** defs/*.yaml: the signal definitions, each checked (duplicates, anchors that never join, templates). */
async function loadDefs(
  dir: string,
  { read, show, problems }: LoadContext,
): Promise<Map<string, CompiledDef>> {
  const defs = new Map<string, CompiledDef>();
  const defLines = new Map<string, string>();
  for (const file of await yamlFiles(join(dir, 'defs'))) {
    const parsed = await read<DefFile>(file, DefFileSchema);
    if (!parsed.value) continue;
    parsed.value.signals.forEach((d, i) => {
      const line = parsed.lineOf(['signals', i, 'id']);
      const where = `${show(file)}:${line}`;
      if (defs.has(d.id)) {
        problems.push({
          file: show(file),
          line,
          message: `signal '${d.id}' is already defined at ${defLines.get(d.id)}`,
        });
        return;
      }
      const members = d.required === '*' ? (d.optional ?? []) : [...d.required, ...(d.optional ?? [])];
      if (d.anchor !== '*' && !d.eachEvent) {
        const lost = d.anchor.filter((a) => !members.includes(a));
        if (lost.length > 0 && members.length > 0) {
          problems.push({
            file: show(file),
            line,
            severity: 'warning',
            message: `signal '${d.id}': anchor event(s) ${lost.join(', ')} are neither required nor optional, so they never join the signal`,
          });
        }
      }
      for (const field of ['name', 'summary', 'url'] as const) {
        const text = d[field];
        if (text === undefined) continue;
        for (const message of templateProblems(text)) {
          problems.push({
            file: show(file),
            line: parsed.lineOf(['signals', i, field]),
            message: `signal '${d.id}' ${field}: ${message}`,
          });
        }
      }
      defLines.set(d.id, where);
      defs.set(d.id, {
        id: d.id,
        reportId: d.aliasOf ?? d.id,
        service: d.service ?? parsed.value?.service ?? 'unknown',
        name: d.name,
        summary: d.summary ?? d.name,
        url: d.url,
        anchors: d.anchor === '*' ? null : new Set(d.anchor),
        required: d.required === '*' ? null : [...new Set(d.required)],
        members: members.length === 0 ? null : new Set(members),
        lookbackMs: (d.lookback ?? 3) * 1000,
        lookaheadMs: (d.lookahead ?? 3) * 1000,
        suppressed: d.suppressed ?? false,
        eachEvent: d.eachEvent ?? false,
      });
    });
  }

  return defs;
}

/** labels/*.yaml: the cases that label events, per event key (`*`: tried on every event). */
async function loadLabels(
  dir: string,
  { read, show, problems }: LoadContext,
  ua: UserAgentClassifier,
  defs: ReadonlyMap<string, CompiledDef>,
): Promise<{ cases: Map<string, CompiledCase[]>; anyCases: CompiledCase[] }> {
  const cases = new Map<string, CompiledCase[]>();
  const anyCases: CompiledCase[] = [];
  const caseFile = new Map<string, string>();
  for (const file of await yamlFiles(join(dir, 'labels'))) {
    const parsed = await read<LabelFile>(file, LabelFileSchema);
    if (!parsed.value) continue;
    for (const [key, list] of Object.entries(parsed.value.events)) {
      const keyLine = parsed.lineOf(['events', key]);
      if (caseFile.has(key)) {
        problems.push({
          file: show(file),
          line: keyLine,
          severity: 'warning',
          message: `event '${key}' also has cases in ${caseFile.get(key)}; these are tried after those`,
        });
      } else caseFile.set(key, show(file));
      const target = key === '*' ? anyCases : (cases.get(key) ?? []);
      list.forEach((c, i) => {
        const line = parsed.lineOf(['events', key, i]);
        for (const name of unknownFamilies(c.when, ua)) {
          problems.push({
            file: show(file),
            line,
            message: `unknown user-agent shape or group '${name}' (see rules/user-agents.yaml)`,
          });
        }
        for (const label of c.labels) {
          if (!defs.has(label)) {
            problems.push({
              file: show(file),
              line,
              severity: 'warning',
              message: `label '${label}' has no signal definition in defs/`,
            });
          }
        }
        try {
          target.push({ test: compileWhen(c.when, ua), labels: c.labels, continue: c.continue ?? false });
        } catch (err) {
          problems.push({
            file: show(file),
            line,
            message: `case cannot be used: ${(err as Error).message}`,
          });
        }
      });
      if (key !== '*') cases.set(key, target);
    }
  }

  return { cases, anyCases };
}

async function loadPhrases(
  dir: string,
  read: <T>(file: string, schema: Parameters<typeof readYamlFile<T>>[1]) => Promise<ParsedYaml<T>>,
  show: (f: string) => string,
  problems: RuleProblem[],
): Promise<Phrases> {
  const file = join(dir, 'programmatic.yaml');
  if (!(await yamlFiles(dir)).includes(file)) return compilePhrases(DEFAULT_PROGRAMMATIC);
  const parsed = await read<ProgrammaticFile>(file, ProgrammaticFileSchema);
  try {
    return compilePhrases(parsed.value ?? DEFAULT_PROGRAMMATIC);
  } catch (err) {
    problems.push({ file: show(file), line: 0, message: `cannot be used: ${(err as Error).message}` });
    return compilePhrases(DEFAULT_PROGRAMMATIC);
  }
}

function unknownFamilies(when: When | undefined, ua: UserAgentClassifier): string[] {
  if (!when) return [];
  const names = [when.userAgent ?? [], when.notUserAgent ?? []].flat();
  return [
    ...names.filter((n) => !ua.known.has(n)),
    ...(when.any ?? []).flatMap((w) => unknownFamilies(w, ua)),
    ...unknownFamilies(when.not, ua),
  ];
}

function followupIds(f: FollowupFile['followups'][number]): string[] {
  if ('rename' in f) return [f.rename.from, f.rename.to];
  if ('drop' in f) return [f.drop];
  if ('renamePrevious' in f) return [f.renamePrevious.from, f.renamePrevious.to];
  const m = f.merge;
  return [m.first ?? [], m.second].flat();
}
