/**
 * The one user-agent classifier, from the one table rules/user-agents.yaml: each user agent's shape (the precise
 * client: `s3-console`, `cloudshell-aws-cli`; what signal label rules name), its family (what analysts read and
 * detections test: `console`, `aws-cli`, `terraform`) and the offensive tool it names, if any. Results are cached
 * per user-agent string (bounded: user agents carry version strings).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  formatProblem,
  type ParsedYaml,
  parseYamlText,
  type RuleProblem,
  readYamlFile,
  snapshotSchema,
} from './rule-yaml.ts';

const id = z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes');
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

const UserAgentTestSchema = z.strictObject({
  equals: z.string().optional(),
  startsWith: z.string().optional(),
  endsWith: z.string().optional(),
  /** All must occur. */
  contains: oneOrMany(z.string()).optional(),
  /** One must occur. */
  containsAny: z.array(z.string()).min(1).optional(),
  regex: z.string().optional(),
  ignoreCase: z.boolean().optional(),
});
export type UserAgentTest = z.infer<typeof UserAgentTestSchema>;

export const UserAgentTableSchema = z.strictObject({
  tools: z
    .array(
      z.strictObject({
        id,
        label: z.string().min(1),
        family: id.optional(),
        match: oneOrMany(UserAgentTestSchema),
      }),
    )
    .default([]),
  shapes: z
    .array(z.strictObject({ shape: id, family: id.optional(), match: oneOrMany(UserAgentTestSchema) }))
    .min(1),
  groups: z.record(id, z.array(id).min(1)).default({}),
});
export type UserAgentTable = z.infer<typeof UserAgentTableSchema>;
snapshotSchema('user-agents', UserAgentTableSchema);

export interface UserAgentClass {
  /** The precise client (`s3-console`); `other` when no shape matches, `missing` without a user agent. */
  shape: string;
  /** What analysts read (`console`, `aws-cli`, an offensive tool's family). */
  family: string;
  offensiveTool?: string;
}

export interface UserAgentClassifier {
  classify(userAgent: string | undefined | null): UserAgentClass;
  /** A shape or group name → the shapes it stands for. */
  expand(name: string): string[];
  /** Every shape and group name (for checking rules that name them). */
  readonly known: ReadonlySet<string>;
  /** The table it was built from (the Athena push-down reads the offensive tools' tests). */
  readonly table: UserAgentTable;
}

// Every class has the same three fields (offensiveTool undefined when none): one hidden class for the readers.
const MISSING: UserAgentClass = Object.freeze({
  shape: 'missing',
  family: 'missing',
  offensiveTool: undefined,
});
const CACHE_LIMIT = 10_000;

export function createUserAgentClassifier(table: UserAgentTable): UserAgentClassifier {
  const tools = table.tools.map((t) => ({ ...t, test: compileMatch(t.match) }));
  const shapes = table.shapes.map((s) => ({
    shape: s.shape,
    family: s.family ?? s.shape,
    test: compileMatch(s.match),
  }));
  const known = new Set(['other', 'missing', ...shapes.map((s) => s.shape), ...Object.keys(table.groups)]);
  const cache = new Map<string, UserAgentClass>();
  const classify = (raw: string): UserAgentClass => {
    const ua = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    const lower = ua.toLowerCase();
    const tool = tools.find((t) => t.test(ua, lower));
    const hit = shapes.find((s) => s.test(ua, lower));
    const shape = hit?.shape ?? 'other';
    const family = tool?.family ?? hit?.family ?? 'other';
    return Object.freeze({ shape, family, offensiveTool: tool?.id });
  };
  // Several stages ask about one event's user agent in a row (sessions, enrichment, labels): the last answer is
  // remembered, so most calls compare one string (often the very same one) instead of probing the map.
  let lastUserAgent = '';
  let lastHit = MISSING;
  return {
    table,
    known,
    classify(userAgent) {
      if (userAgent === lastUserAgent) return lastHit;
      if (typeof userAgent !== 'string' || userAgent === '') return MISSING;
      let hit = cache.get(userAgent);
      if (!hit) {
        hit = classify(userAgent);
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(userAgent, hit);
      }
      lastUserAgent = userAgent;
      lastHit = hit;
      return hit;
    },
    expand: (name) => table.groups[name] ?? [name],
  };
}

/** A predicate on a (bracket-trimmed) user agent and its lower-case form. */
type UaPredicate = (ua: string, lower: string) => boolean;

/** One test object or a list of them (any of) → a predicate. */
export function compileMatch(match: UserAgentTest | UserAgentTest[]): UaPredicate {
  const tests = (Array.isArray(match) ? match : [match]).map(compileTest);
  return tests.length === 1 ? tests[0]! : (ua, lower) => tests.some((t) => t(ua, lower));
}

function compileTest(t: UserAgentTest): UaPredicate {
  const fold = t.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  const equals = t.equals === undefined ? undefined : fold(t.equals);
  const startsWith = t.startsWith === undefined ? undefined : fold(t.startsWith);
  const endsWith = t.endsWith === undefined ? undefined : fold(t.endsWith);
  const all = (t.contains === undefined ? [] : Array.isArray(t.contains) ? t.contains : [t.contains]).map(
    fold,
  );
  const any = t.containsAny?.map(fold);
  const re = t.regex === undefined ? undefined : new RegExp(t.regex, t.ignoreCase ? 'i' : '');
  const ignoreCase = t.ignoreCase === true;
  return (raw, lower) => {
    const ua = ignoreCase ? lower : raw;
    return (
      (equals === undefined || ua === equals) &&
      (startsWith === undefined || ua.startsWith(startsWith)) &&
      (endsWith === undefined || ua.endsWith(endsWith)) &&
      all.every((c) => ua.includes(c)) &&
      (any === undefined || any.some((c) => ua.includes(c))) &&
      (re === undefined || re.test(raw))
    );
  };
}

export const DEFAULT_USER_AGENTS_FILE = fileURLToPath(new URL('../rules/user-agents.yaml', import.meta.url));

/**
 * Reads and checks the table: file:line problems, a bad regular expression, a group naming an unknown shape.
 * With problems, the classifier knows no shapes (every user agent is `other`).
 */
export async function readUserAgentTable(
  file = DEFAULT_USER_AGENTS_FILE,
): Promise<{ classifier: UserAgentClassifier; problems: RuleProblem[] }> {
  const parsed = await readYamlFile(file, UserAgentTableSchema);
  const problems = [...parsed.problems, ...tableProblems(file, parsed)];
  const empty: UserAgentTable = { tools: [], shapes: [], groups: {} };
  if (!parsed.value || problems.length > 0) return { classifier: createUserAgentClassifier(empty), problems };
  return { classifier: createUserAgentClassifier(parsed.value), problems };
}

function tableProblems(file: string, parsed: ParsedYaml<UserAgentTable>): RuleProblem[] {
  const table = parsed.value;
  if (!table) return [];
  const problems: RuleProblem[] = [];
  const regexOk = (where: (string | number)[], match: UserAgentTest | UserAgentTest[]) => {
    for (const t of Array.isArray(match) ? match : [match]) {
      try {
        if (t.regex !== undefined) new RegExp(t.regex);
      } catch (err) {
        problems.push({ file, line: parsed.lineOf(where), message: (err as Error).message });
      }
    }
  };
  for (const [i, t] of table.tools.entries()) regexOk(['tools', i], t.match);
  for (const [i, s] of table.shapes.entries()) regexOk(['shapes', i], s.match);
  const shapes = new Set(table.shapes.map((s) => s.shape));
  for (const [group, members] of Object.entries(table.groups)) {
    for (const m of members.filter((x) => !shapes.has(x)))
      problems.push({
        file,
        line: parsed.lineOf(['groups', group]),
        message: `group '${group}': unknown shape '${m}'`,
      });
  }
  return problems;
}

let bundled: UserAgentClassifier | undefined;

/**
 * The bundled table, read once on first use (for code that runs before any rules are loaded: session building).
 * The bundled table is checked by `rules check` and the tests; a problem here is a build error, so it throws.
 */
export function bundledUserAgents(): UserAgentClassifier {
  if (!bundled) {
    const file = DEFAULT_USER_AGENTS_FILE;
    const parsed = parseYamlText(file, readFileSync(file, 'utf8'), UserAgentTableSchema);
    const problems = [...parsed.problems, ...tableProblems(file, parsed)];
    if (!parsed.value || problems.length > 0) throw new Error(problems.map(formatProblem).join('\n'));
    bundled = createUserAgentClassifier(parsed.value);
  }
  return bundled;
}

/** A browser, a console page naming itself or AWS sign-in (the table's group `console-evidence`). */
export function isConsoleEvidence(classifier: UserAgentClassifier, userAgent: string | undefined): boolean {
  if (!userAgent) return false;
  let shapes = evidence.get(classifier);
  if (!shapes) {
    shapes = new Set(classifier.expand('console-evidence'));
    evidence.set(classifier, shapes);
  }
  return shapes.has(classifier.classify(userAgent).shape);
}
const evidence = new WeakMap<UserAgentClassifier, Set<string>>();
