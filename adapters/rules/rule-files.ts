/**
 * Reads the rule folders into texts for the pure compiler (engine/detections/rule-set.ts):
 *
 *   <root>/attack.yaml              the ATT&CK table (engine/attack.ts)
 *   <root>/detections/*.yaml        own rules; allowlist.yaml, tuning.yaml beside them
 *   <root>/detections/sigma/*.yml   own rules written as Sigma (correlations included)
 *   <root>/sigma/*.yml              SigmaHQ rules, unchanged; tuning.yaml beside them
 *   <root>/cloudgrappler/           queries.json (unchanged), fields.yaml, tuning.yaml
 *   <root>/context/*.yaml           org context lists
 *   <dir> (custom, `--rules DIR`)   own-format files (`rules:`) and Sigma files, tuning.yaml
 *
 * Each family keeps its test events in a `tests/` folder beside it (see rule-tests.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuleFolder, RuleSources, RuleText } from '../../engine/detections/index.ts';
import { CartographerError } from '../../engine/errors.ts';

export const DEFAULT_RULES_ROOT = fileURLToPath(new URL('../../rules/', import.meta.url));

/** Files in the detections folder that are not rule files. */
const NOT_RULES = new Set(['allowlist.yaml', 'tuning.yaml']);

export function listFiles(dir: string, exts: string[]): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .sort()
    .map((f) => join(dir, f));
}

const YAML = ['.yaml', '.yml'];
const read = (file: string): RuleText => ({ file, text: readFileSync(file, 'utf8') });
const readIf = (file: string): RuleText | undefined => (existsSync(file) ? read(file) : undefined);
const isTuning = (file: string) => basename(file) === 'tuning.yaml';

export interface RuleFileOptions {
  /** Extra folders of rules (`scan --rules DIR`, the `rulesDirs` setting). */
  extraDirs?: readonly string[];
  /** Allow-list files beyond the bundled one (the analysts' file). */
  allowlistFiles?: readonly string[];
}

export function readRuleSources(root: string, options: RuleFileOptions = {}): RuleSources {
  const detections = join(root, 'detections');
  const folders: RuleFolder[] = [
    {
      provenance: 'own',
      rules: listFiles(detections, YAML)
        .filter((f) => !NOT_RULES.has(basename(f)))
        .map(read),
      sigma: listFiles(join(detections, 'sigma'), YAML).map(read),
      tuning: [readIf(join(detections, 'tuning.yaml'))].filter((x) => x !== undefined),
    },
    {
      provenance: 'sigma',
      rules: [],
      sigma: listFiles(join(root, 'sigma'), YAML)
        .filter((f) => !isTuning(f))
        .map(read),
      tuning: [readIf(join(root, 'sigma', 'tuning.yaml'))].filter((x) => x !== undefined),
    },
    {
      provenance: 'cloudgrappler',
      rules: [],
      sigma: [],
      tuning: [readIf(join(root, 'cloudgrappler', 'tuning.yaml'))].filter((x) => x !== undefined),
    },
    ...(options.extraDirs ?? []).map(customFolder),
  ];
  const queries = readIf(join(root, 'cloudgrappler', 'queries.json'));
  const fields = readIf(join(root, 'cloudgrappler', 'fields.yaml'));
  const allow = [join(detections, 'allowlist.yaml'), ...(options.allowlistFiles ?? [])];
  const sources: RuleSources = {
    folders,
    context: listFiles(join(root, 'context'), YAML).map(read),
    allowLists: allow.map(readIf).filter((x) => x !== undefined),
  };
  const attack = readIf(join(root, 'attack.yaml'));
  if (attack) sources.attackTable = attack;
  if (queries && fields) sources.cloudgrappler = { queries, fields };
  return sources;
}

/** A custom folder: own-format files (a top-level `rules:` list) and Sigma files side by side. */
function customFolder(dir: string): RuleFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new RuleFolderError(`rules folder not found: ${dir}`);
  }
  const texts = listFiles(dir, YAML).map(read);
  return {
    provenance: 'custom',
    rules: texts.filter((t) => !isTuning(t.file) && /^rules\s*:/m.test(t.text)),
    sigma: texts.filter((t) => !isTuning(t.file) && !/^rules\s*:/m.test(t.text)),
    tuning: texts.filter((t) => isTuning(t.file)),
  };
}

export class RuleFolderError extends CartographerError {
  readonly code = 'input';
  override readonly name = 'SourceError';
}

/** Test events of every family (`<family>/tests/*.yaml`) and of the custom folders (`<dir>/tests/*.yaml`). */
export function readRuleTests(root: string, extraDirs: readonly string[] = []): RuleText[] {
  const dirs = [
    join(root, 'detections', 'tests'),
    join(root, 'sigma', 'tests'),
    join(root, 'cloudgrappler', 'tests'),
    ...extraDirs.map((d) => join(d, 'tests')),
  ];
  return dirs.flatMap((d) => listFiles(d, YAML).map(read));
}
