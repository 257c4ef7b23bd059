/**
 * Compiles every rule family from file texts into one rule set: own rules (rules/detections/*.yaml), Sigma rules
 * (SigmaHQ in rules/sigma/, own Sigma-format rules and correlations in rules/detections/sigma/), CloudGrappler
 * indicators, custom folders, org-context lists, tuning and allow-lists. Pure: the adapter
 * (adapters/rules/rule-files.ts) reads the files and hands their texts in.
 */
import type { z } from 'zod';
import { type AttackTable, EMPTY_ATTACK_TABLE, parseAttackTable } from '../attack.ts';
import { parseYaml, parseYamlDocuments, type RuleProblem, snapshotSchema, validate } from '../rule-yaml.ts';
import { type AllowList, AllowListSchema, compileAllowList, expiredAllowItems } from './allowlist.ts';
import { compileCloudGrappler, FieldMapSchema } from './cloudgrappler.ts';
import { type CompiledRule, compileRule, type Provenance } from './compiled-rule.ts';
import { type CompileContext, type ConditionInput, compileCondition } from './condition.ts';
import { ContextFileSchema, compileList, listProblems } from './context.ts';
import { observeTimeProblem } from './cross-session.ts';
import type { CompiledList } from './lists.ts';
import {
  EventRuleSchema,
  RuleFileSchema,
  SequenceRuleSchema,
  ThresholdRuleSchema,
  TuningSchema,
} from './rule-schema.ts';
import { compileSigmaDoc } from './sigma.ts';
import { compileSigmaCorrelation, isCorrelation, type SigmaBase } from './sigma-correlation.ts';
import { SigmaUnsupported } from './sigma-unsupported.ts';
import { applyTuning, type TuningFile } from './tuning.ts';

// Validated once at build time for the bundled rules (engine/rule-yaml.ts snapshot).
snapshotSchema('detections/rule-file', RuleFileSchema);
snapshotSchema('detections/event-rule', EventRuleSchema);
snapshotSchema('detections/threshold-rule', ThresholdRuleSchema);
snapshotSchema('detections/sequence-rule', SequenceRuleSchema);
snapshotSchema('detections/tuning', TuningSchema);
snapshotSchema('detections/context', ContextFileSchema);
snapshotSchema('detections/cloudgrappler-fields', FieldMapSchema);

export interface RuleText {
  file: string;
  text: string;
}

/** One folder of rules: the bundled ones, or a custom folder (`--rules DIR`). */
export interface RuleFolder {
  /** Cartographer-format rule files (`rules: [...]`). */
  rules: RuleText[];
  /** Sigma-format files (rules and correlations; several documents per file allowed). */
  sigma: RuleText[];
  /** tuning.yaml files of this folder. */
  tuning: RuleText[];
  provenance: Provenance;
}

export interface RuleSources {
  attackTable?: RuleText;
  folders: RuleFolder[];
  cloudgrappler?: { queries: RuleText; fields: RuleText };
  /** rules/context/*.yaml */
  context: RuleText[];
  /** The global allow-list file and the analysts' one. */
  allowLists: RuleText[];
  /** For expiry warnings (default: now). */
  nowMs?: number;
}

export interface UnsupportedRule {
  file: string;
  rule: string;
  reason: string;
}

export interface LoadedRules {
  /** Every rule that loaded (tuned), including the ones tuning switches off. */
  rules: CompiledRule[];
  /** Loaded but not run (tuning `disabled:`). */
  disabled: { id: string; reason: string }[];
  /** Rule id → the tuning overrides applied to it (reason and file). */
  overridden: Map<string, string[]>;
  /** Errors (the rule, list or file is not loaded) and warnings (expired entries …). */
  problems: RuleProblem[];
  /** Sigma rules using constructs Cartographer cannot evaluate, reported by name. */
  unsupported: UnsupportedRule[];
  allowLists: AllowList[];
  lists: Map<string, CompiledList>;
}

type TacticsOf = (techniques: string[]) => string[];

export function compileRuleSet(sources: RuleSources): LoadedRules {
  const nowMs = sources.nowMs ?? Date.now();
  const problems: RuleProblem[] = [];
  const unsupported: UnsupportedRule[] = [];
  const rules: CompiledRule[] = [];
  const attack = loadAttackTable(sources.attackTable, problems);
  const tacticsOf: TacticsOf = (techniques) => attack.tacticsOf(techniques);
  const allowLists = loadAllowLists(sources.allowLists, nowMs, problems);
  const { lists, conditions, conditionAt } = loadContext(sources.context, nowMs, problems);
  const orgAccounts = lists.get('org_accounts')?.entries.map((e) => e.value) ?? [];
  const ctx: CompileContext = {
    knownAccounts: new Set([...allowLists.flatMap((l) => l.knownAccounts), ...orgAccounts]),
    lists,
    conditions,
  };
  checkConditions(ctx, conditionAt, problems);
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
  const add = (rule: CompiledRule, line?: number) => {
    const refused = observeTimeProblem(rule);
    if (refused) {
      const [file, at] = splitWhere(rule.where);
      problems.push({ file, line: line ?? at, message: `rule ${rule.id}: ${refused}` });
      return;
    }
    if (claim(rule.id, rule.where)) rules.push(rule);
  };
  const tuningFiles: TuningFile[] = [];
  for (const folder of sources.folders) {
    for (const f of folder.rules) loadOwnRules(f, folder.provenance, tacticsOf, ctx, problems, add);
    loadSigma(folder, attack, problems, unsupported, add);
    for (const t of folder.tuning) {
      const r = validate(t.file, t.text, TuningSchema);
      if (r.ok) tuningFiles.push({ file: t.file, tuning: r.value, lineOf: r.lineOf });
      else problems.push(...r.problems);
    }
  }
  if (sources.cloudgrappler) loadCloudGrappler(sources.cloudgrappler, tacticsOf, problems, add);
  const tuned = applyTuning(rules, tuningFiles, ctx);
  problems.push(...tuned.problems);
  return {
    rules: tuned.rules,
    disabled: tuned.disabled,
    overridden: tuned.overridden,
    problems,
    unsupported,
    allowLists,
    lists,
  };
}

function loadAttackTable(text: RuleText | undefined, problems: RuleProblem[]): AttackTable {
  if (!text) return EMPTY_ATTACK_TABLE;
  const parsed = parseAttackTable(text.file, text.text);
  problems.push(...parsed.problems);
  return parsed.table;
}

function loadAllowLists(texts: RuleText[], nowMs: number, problems: RuleProblem[]): AllowList[] {
  const out: AllowList[] = [];
  for (const t of texts) {
    const r = validate(t.file, t.text, AllowListSchema.nullable());
    if (!r.ok) problems.push(...r.problems);
    else if (r.value) {
      out.push(r.value);
      for (const x of expiredAllowItems(r.value, nowMs))
        problems.push({ file: t.file, line: r.lineOf(x.path), message: x.text, severity: 'warning' });
    }
  }
  return out;
}

interface Context {
  lists: Map<string, CompiledList>;
  conditions: Map<string, ConditionInput>;
  /** Where each named condition is defined, for messages. */
  conditionAt: Map<string, [string, number]>;
}

function loadContext(texts: RuleText[], nowMs: number, problems: RuleProblem[]): Context {
  const lists = new Map<string, CompiledList>();
  const conditions = new Map<string, ConditionInput>();
  const conditionAt = new Map<string, [string, number]>();
  for (const t of texts) {
    const r = validate(t.file, t.text, ContextFileSchema);
    if (!r.ok) {
      problems.push(...r.problems);
      continue;
    }
    for (const [name, c] of Object.entries(r.value.conditions)) {
      const line = r.lineOf(['conditions', name]);
      if (conditions.has(name))
        problems.push({ file: t.file, line, message: `condition '${name}' is defined twice` });
      else {
        conditions.set(name, c.where);
        conditionAt.set(name, [t.file, line]);
      }
    }
    for (const [name, list] of Object.entries(r.value.lists)) {
      const line = r.lineOf(['lists', name]);
      if (lists.has(name)) {
        problems.push({ file: t.file, line, message: `list '${name}' is defined twice` });
        continue;
      }
      const found = listProblems(name, list, nowMs);
      for (const p of found)
        problems.push({
          file: t.file,
          line: r.lineOf(['lists', name, 'entries', p.index]),
          message: p.message,
          ...(p.warning ? { severity: 'warning' as const } : {}),
        });
      if (found.some((p) => !p.warning)) continue;
      lists.set(name, compileList(name, list));
    }
  }
  return { lists, conditions, conditionAt };
}

/** Every named condition compiles (names only known lists and conditions, no cycles). */
function checkConditions(
  ctx: CompileContext,
  at: Map<string, [string, number]>,
  problems: RuleProblem[],
): void {
  for (const [name, where] of ctx.conditions ?? []) {
    try {
      compileCondition(where, ctx, [name]);
    } catch (e) {
      const [file, line] = at.get(name) ?? ['rules/context', 1];
      problems.push({ file, line, message: `condition '${name}': ${(e as Error).message}` });
    }
  }
}

function loadOwnRules(
  f: RuleText,
  provenance: Provenance,
  tacticsOf: TacticsOf,
  ctx: CompileContext,
  problems: RuleProblem[],
  add: (r: CompiledRule) => void,
): void {
  const parsed = validate(f.file, f.text, RuleFileSchema);
  if (!parsed.ok) {
    problems.push(...parsed.problems);
    return;
  }
  parsed.value.rules.forEach((raw, i) => {
    const type = (raw as { type?: unknown })?.type;
    const schema =
      type === 'threshold' ? ThresholdRuleSchema : type === 'sequence' ? SequenceRuleSchema : EventRuleSchema;
    const r = parsed.check<z.output<typeof schema>>(['rules', i], schema, raw);
    if (!r.success) {
      for (const issue of r.error.issues) {
        const path = ['rules', i, ...(issue.path as (string | number)[])];
        problems.push({
          file: f.file,
          line: parsed.lineOf(path),
          message: `rule ${ruleLabel(raw, i)}: ${issue.path.join('.') || '(rule)'}: ${issue.message}`,
        });
      }
      return;
    }
    if (!r.data.enabled) return;
    const where = `${f.file}:${parsed.lineOf(['rules', i])}`;
    for (const t of r.data.techniques) {
      if (tacticsOf([t]).length === 0) {
        problems.push({
          file: f.file,
          line: parsed.lineOf(['rules', i, 'techniques']),
          message: `rule ${r.data.id}: technique ${t} is not in the ATT&CK table (rules/attack.yaml)`,
        });
      }
    }
    try {
      const allow = r.data.allow ? compileAllowList(AllowListSchema.parse(r.data.allow)) : undefined;
      add(compileRule(r.data, where, tacticsOf, allow, ctx, provenance));
    } catch (e) {
      problems.push({
        file: f.file,
        line: parsed.lineOf(['rules', i]),
        message: `rule ${r.data.id}: ${(e as Error).message}`,
      });
    }
  });
}

function loadSigma(
  folder: RuleFolder,
  attack: AttackTable,
  problems: RuleProblem[],
  unsupported: UnsupportedRule[],
  add: (r: CompiledRule, line?: number) => void,
): void {
  const bases = new Map<string, SigmaBase>();
  const correlations: { file: string; doc: Record<string, unknown> }[] = [];
  for (const f of folder.sigma) {
    const check = parseYaml(f.file, f.text.split(/^---\s*$/m)[0] ?? f.text);
    if (!check.ok) {
      problems.push(...check.problems);
      continue;
    }
    for (const d of parseYamlDocuments(f.text)) {
      if ('error' in d) {
        problems.push({ file: f.file, line: 1, message: d.error });
        continue;
      }
      const doc = d.data as Record<string, unknown> | null;
      if (!doc) continue;
      if (isCorrelation(doc)) {
        correlations.push({ file: f.file, doc });
        continue;
      }
      const label = String(doc.title ?? f.file);
      try {
        const rule = compileSigmaDoc(doc, f.file, attack);
        rule.provenance = folder.provenance;
        add(rule, check.lineOf(['detection']));
        const base: SigmaBase = { rule, generate: doc.generate === true };
        if (typeof doc.name === 'string') {
          base.name = doc.name;
          bases.set(doc.name, base);
        }
        bases.set(String(doc.id), base);
      } catch (e) {
        if (e instanceof SigmaUnsupported) unsupported.push({ file: f.file, rule: label, reason: e.message });
        else
          problems.push({
            file: f.file,
            line: check.lineOf(['detection']),
            message: `Sigma rule '${label}': ${(e as Error).message}`,
          });
      }
    }
  }
  for (const { file, doc } of correlations) {
    const label = String(doc.title ?? file);
    try {
      const rule = compileSigmaCorrelation(
        doc,
        file,
        (ref) => bases.get(ref),
        (t) => attack.tacticsOf(t),
      );
      rule.provenance = folder.provenance;
      add(rule);
    } catch (e) {
      if (e instanceof SigmaUnsupported) unsupported.push({ file, rule: label, reason: e.message });
      else problems.push({ file, line: 1, message: `Sigma correlation '${label}': ${(e as Error).message}` });
    }
  }
}

function loadCloudGrappler(
  cg: { queries: RuleText; fields: RuleText },
  tacticsOf: TacticsOf,
  problems: RuleProblem[],
  add: (r: CompiledRule) => void,
): void {
  const fields = validate(cg.fields.file, cg.fields.text, FieldMapSchema);
  if (!fields.ok) {
    problems.push(...fields.problems);
    return;
  }
  try {
    const compiled = compileCloudGrappler(cg.queries.text, fields.value, tacticsOf, cg.queries.file);
    problems.push(...compiled.problems);
    for (const rule of compiled.rules) add(rule);
  } catch (e) {
    problems.push({ file: cg.queries.file, line: 1, message: (e as Error).message });
  }
}

function ruleLabel(raw: unknown, i: number): string {
  const id = (raw as { id?: unknown })?.id;
  return typeof id === 'string' ? id : `#${i + 1}`;
}

function splitWhere(where: string): [string, number] {
  const m = where.match(/^(.*):(\d+)$/);
  return m ? [m[1]!, Number(m[2])] : [where, 1];
}
