/**
 * Detections: Cartographer's own rules (rules/detections/*.yaml), SigmaHQ CloudTrail rules (rules/sigma/*.yml,
 * unchanged) and CloudGrappler indicators (rules/cloudgrappler), compiled once into one indexed rule set,
 * plus allow-lists and the session risk score.
 *
 *   const detector = await createDetector();                 // throws DetectionRulesError on a bad rule file
 *   detector.detect(session, events, signals) → Finding[]
 *   detector.score(session, findings) → { score, reasons }
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Detector } from '../stages.ts';
import { type AllowList, AllowListSchema, compileAllowList } from './allowlist.ts';
import { compileCloudGrappler, FieldMapSchema } from './cloudgrappler.ts';
import { type CompiledRule, compileRule } from './compiled-rule.ts';
import { createRuleDetector } from './detector.ts';
import {
  type AttackTable,
  AttackTableSchema,
  EventRuleSchema,
  RuleFileSchema,
  SequenceRuleSchema,
  ThresholdRuleSchema,
  type Tuning,
  TuningSchema,
} from './rule-schema.ts';
import { compileSigmaRule, SigmaUnsupported } from './sigma.ts';
import { formatProblem, parseYaml, type RuleProblem, validate } from './yaml-file.ts';

export { addAllowlistEntry } from './allowlist.ts';
export type { CompiledRule } from './compiled-rule.ts';
export { scoreSession } from './risk.ts';
export type { RuleProblem } from './yaml-file.ts';

export const DEFAULT_RULES_ROOT = fileURLToPath(new URL('../../rules/', import.meta.url));

export interface DetectorOptions {
  /** The rules root holding detections/, sigma/ and cloudgrappler/ (default: the repository's rules/). */
  rulesDir?: string;
  /** A user allow-list file (default: $CARTOGRAPHER_ALLOWLIST). A missing file is an empty list. */
  allowlistFile?: string;
  /** Skip bad rules instead of throwing (problems stay listed on the detector). */
  lenient?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface UnsupportedRule {
  file: string;
  rule: string;
  reason: string;
}

export interface LoadedRules {
  /** Every rule that loaded, including the ones tuning.yaml switches off. */
  rules: CompiledRule[];
  /** Loaded but not run (rules/detections/tuning.yaml). */
  disabled: { id: string; reason: string }[];
  /** Errors: the rule (or file) is not loaded. */
  problems: RuleProblem[];
  /** Sigma rules using constructs Cartographer cannot evaluate, reported by name. */
  unsupported: UnsupportedRule[];
  allowLists: AllowList[];
}

export class DetectionRulesError extends Error {
  override readonly name = 'DetectionRulesError';
  constructor(readonly problems: RuleProblem[]) {
    super(`detection rules have ${problems.length} problem(s):\n${problems.map(formatProblem).join('\n')}`);
  }
}

export type CartographerDetector = Detector & {
  /** The rules that run. */
  readonly rules: readonly CompiledRule[];
  readonly disabled: readonly { id: string; reason: string }[];
  readonly problems: readonly RuleProblem[];
  readonly unsupported: readonly UnsupportedRule[];
};

export async function createDetector(options: DetectorOptions = {}): Promise<CartographerDetector> {
  const env = options.env ?? process.env;
  const loaded = loadDetectionRules(
    options.rulesDir ?? DEFAULT_RULES_ROOT,
    options.allowlistFile ?? env.CARTOGRAPHER_ALLOWLIST,
  );
  if (loaded.problems.length > 0 && !options.lenient) throw new DetectionRulesError(loaded.problems);
  const off = new Set(loaded.disabled.map((d) => d.id));
  const active = loaded.rules.filter((r) => !off.has(r.id));
  const detector = createRuleDetector(active, compileAllowList(...loaded.allowLists));
  return Object.assign(detector, {
    rules: active,
    disabled: loaded.disabled,
    problems: loaded.problems,
    unsupported: loaded.unsupported,
  });
}

/** `cartographer rules check` hook: every problem in the detection, Sigma and CloudGrappler rules, as file:line. */
export async function checkDetectionRules(rulesRoot: string): Promise<RuleProblem[]> {
  const loaded = loadDetectionRules(rulesRoot, undefined);
  return [
    ...loaded.problems,
    ...loaded.unsupported.map((u) => ({
      file: u.file,
      line: 1,
      message: `Sigma rule '${u.rule}' is unsupported and not loaded: ${u.reason}`,
      severity: 'warning' as const,
    })),
  ];
}

function listFiles(dir: string, exts: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .sort()
    .map((f) => join(dir, f));
}

export function loadDetectionRules(root: string, userAllowlistFile: string | undefined): LoadedRules {
  const problems: RuleProblem[] = [];
  const unsupported: UnsupportedRule[] = [];
  const rules: CompiledRule[] = [];
  const detectionsDir = join(root, 'detections');

  // ATT&CK technique → tactics, so every finding says which tactic it belongs to.
  let table: AttackTable = { techniques: {} };
  const tableFile = join(detectionsDir, 'attack-tactics.yaml');
  if (existsSync(tableFile)) {
    const r = validate(tableFile, readFileSync(tableFile, 'utf8'), AttackTableSchema);
    if (r.ok) table = r.value;
    else problems.push(...r.problems);
  }
  const tacticsOf = (techniques: string[]): string[] => {
    const out = new Set<string>();
    for (const t of techniques) {
      const entry = table.techniques[t] ?? table.techniques[t.split('.')[0]!];
      for (const tactic of entry?.tactics ?? []) out.add(tactic);
    }
    return [...out];
  };

  const allowLists: AllowList[] = [];
  const readAllowList = (file: string) => {
    const r = validate(file, readFileSync(file, 'utf8'), AllowListSchema.nullable());
    if (!r.ok) problems.push(...r.problems);
    else if (r.value) allowLists.push(r.value);
  };
  const globalAllow = join(detectionsDir, 'allowlist.yaml');
  if (existsSync(globalAllow)) readAllowList(globalAllow);
  if (userAllowlistFile && existsSync(userAllowlistFile)) readAllowList(userAllowlistFile);

  const compileContext = { knownAccounts: new Set(allowLists.flatMap((l) => l.knownAccounts)) };
  const seen = new Map<string, string>();
  const claim = (id: string, where: string): boolean => {
    const prev = seen.get(id);
    if (prev) {
      const [file, line] = splitWhere(where);
      problems.push({ file, line, message: `duplicate rule id '${id}' (first defined at ${prev})` });
      return false;
    }
    seen.set(id, where);
    return true;
  };

  for (const file of listFiles(detectionsDir, ['.yaml', '.yml'])) {
    const name = basename(file);
    if (name === 'allowlist.yaml' || name === 'attack-tactics.yaml' || name === 'tuning.yaml') continue;
    const parsed = validate(file, readFileSync(file, 'utf8'), RuleFileSchema);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    parsed.value.rules.forEach((raw, i) => {
      const type = (raw as { type?: unknown })?.type;
      const schema =
        type === 'threshold'
          ? ThresholdRuleSchema
          : type === 'sequence'
            ? SequenceRuleSchema
            : EventRuleSchema;
      const r = schema.safeParse(raw);
      if (!r.success) {
        for (const issue of r.error.issues) {
          const path = ['rules', i, ...(issue.path as (string | number)[])];
          problems.push({
            file,
            line: parsed.lineOf(path),
            message: `rule ${ruleLabel(raw, i)}: ${issue.path.join('.') || '(rule)'}: ${issue.message}`,
          });
        }
        return;
      }
      if (!r.data.enabled) return;
      const where = `${file}:${parsed.lineOf(['rules', i])}`;
      if (!claim(r.data.id, where)) return;
      for (const t of r.data.techniques) {
        if (tacticsOf([t]).length === 0) {
          problems.push({
            file,
            line: parsed.lineOf(['rules', i, 'techniques']),
            message: `rule ${r.data.id}: technique ${t} is not in attack-tactics.yaml`,
          });
        }
      }
      const allow = r.data.allow ? compileAllowList(AllowListSchema.parse(r.data.allow)) : undefined;
      rules.push(compileRule(r.data, where, tacticsOf, allow, compileContext));
    });
  }

  for (const file of listFiles(join(root, 'sigma'), ['.yml', '.yaml'])) {
    const text = readFileSync(file, 'utf8');
    const parsedYaml = parseYaml(file, text);
    if (!parsedYaml.ok) {
      problems.push(...parsedYaml.problems);
      continue;
    }
    const label = String((parsedYaml.data as { title?: unknown })?.title ?? basename(file));
    try {
      const rule = compileSigmaRule(text, file, tacticsOf);
      if (claim(rule.id, `${file}:1`)) rules.push(rule);
    } catch (e) {
      if (e instanceof SigmaUnsupported) unsupported.push({ file, rule: label, reason: e.message });
      else
        problems.push({
          file,
          line: parsedYaml.lineOf(['detection']),
          message: `Sigma rule '${label}': ${(e as Error).message}`,
        });
    }
  }

  const cgDir = join(root, 'cloudgrappler');
  const queriesFile = join(cgDir, 'queries.json');
  const fieldsFile = join(cgDir, 'fields.yaml');
  if (existsSync(queriesFile) && existsSync(fieldsFile)) {
    const fields = validate(fieldsFile, readFileSync(fieldsFile, 'utf8'), FieldMapSchema);
    if (!fields.ok) problems.push(...fields.problems);
    else {
      try {
        const cg = compileCloudGrappler(
          readFileSync(queriesFile, 'utf8'),
          fields.value,
          tacticsOf,
          queriesFile,
        );
        problems.push(...cg.problems);
        for (const rule of cg.rules) if (claim(rule.id, queriesFile)) rules.push(rule);
      } catch (e) {
        problems.push({ file: queriesFile, line: 1, message: (e as Error).message });
      }
    }
  }
  let tuning: Tuning = { disabled: [] };
  const tuningFile = join(detectionsDir, 'tuning.yaml');
  if (existsSync(tuningFile)) {
    const r = validate(tuningFile, readFileSync(tuningFile, 'utf8'), TuningSchema);
    if (!r.ok) problems.push(...r.problems);
    else {
      tuning = r.value;
      tuning.disabled.forEach((d, i) => {
        if (!seen.has(d.id))
          problems.push({
            file: tuningFile,
            line: r.lineOf(['disabled', i, 'id']),
            message: `unknown rule id '${d.id}'`,
          });
      });
    }
  }
  return { rules, disabled: tuning.disabled, problems, unsupported, allowLists };
}

function ruleLabel(raw: unknown, i: number): string {
  const id = (raw as { id?: unknown })?.id;
  return typeof id === 'string' ? id : `#${i + 1}`;
}

function splitWhere(where: string): [string, number] {
  const m = where.match(/^(.*):(\d+)$/);
  return m ? [m[1]!, Number(m[2])] : [where, 1];
}
