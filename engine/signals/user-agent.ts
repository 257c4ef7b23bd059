/** Console user-agent families (rules/signals/user-agents.yaml): one id per user-agent shape. */
import type { UserAgentFile, UserAgentTest } from './schema.ts';

export interface UserAgentClassifier {
  family(userAgent: string | undefined | null): string;
  /** Expands a family or group name into the family ids it stands for. */
  expand(name: string): string[];
  readonly known: ReadonlySet<string>;
}

export function createUserAgentClassifier(file: UserAgentFile): UserAgentClassifier {
  const rules = file.families.map((f) => ({
    family: f.family,
    tests: (Array.isArray(f.match) ? f.match : [f.match]).map(compileTest),
  }));
  const known = new Set<string>([
    'other',
    'none',
    ...rules.map((r) => r.family),
    ...Object.keys(file.groups),
  ]);
  const memo = new Map<string, string>();
  return {
    known,
    family(userAgent) {
      if (typeof userAgent !== 'string' || userAgent === '') return 'none';
      const hit = memo.get(userAgent);
      if (hit) return hit;
      let ua = userAgent;
      if (ua.startsWith('[') && ua.endsWith(']')) ua = ua.slice(1, -1);
      let found = 'other';
      for (const r of rules) {
        if (r.tests.some((t) => t(ua))) {
          found = r.family;
          break;
        }
      }
      if (memo.size < 10_000) memo.set(userAgent, found);
      return found;
    },
    expand(name) {
      return file.groups[name] ?? [name];
    },
  };
}

function compileTest(t: UserAgentTest): (ua: string) => boolean {
  const re = t.regex !== undefined ? new RegExp(t.regex) : undefined;
  const contains = t.contains === undefined ? [] : Array.isArray(t.contains) ? t.contains : [t.contains];
  return (ua) =>
    (t.equals === undefined || ua === t.equals) &&
    (t.startsWith === undefined || ua.startsWith(t.startsWith)) &&
    (t.endsWith === undefined || ua.endsWith(t.endsWith)) &&
    contains.every((c) => ua.includes(c)) &&
    (re === undefined || re.test(ua));
}
