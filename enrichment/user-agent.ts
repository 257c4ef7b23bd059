/**
 * User-agent family (console, CloudShell, AWS CLI, each SDK, Terraform, …) and known offensive tools,
 * from the ordered patterns in rules/enrichment/user-agents.yaml. Results are cached per user-agent string.
 */
import type { EnrichmentTables } from './tables.ts';

export interface UserAgentClass {
  family: string;
  offensiveTool?: string;
}

interface CompiledMatcher {
  contains: string[];
  regex?: RegExp;
}

const CACHE_LIMIT = 10_000;

function compile(m: { contains?: string[] | undefined; regex?: string | undefined }): CompiledMatcher {
  return {
    contains: (m.contains ?? []).map((c) => c.toLowerCase()),
    ...(m.regex ? { regex: new RegExp(m.regex, 'i') } : {}),
  };
}
function matches(m: CompiledMatcher, lower: string): boolean {
  return m.contains.some((c) => lower.includes(c)) || (m.regex?.test(lower) ?? false);
}

export type UserAgentClassifier = (userAgent: string | undefined) => UserAgentClass;

export function createUserAgentClassifier(rules: EnrichmentTables['userAgents']): UserAgentClassifier {
  const offensive = rules.offensive.map((o) => ({ ...o, m: compile(o) }));
  const families = rules.families.map((f) => ({ id: f.id, m: compile(f) }));
  const cache = new Map<string, UserAgentClass>();

  const classify = (ua: string): UserAgentClass => {
    const lower = ua.toLowerCase();
    const tool = offensive.find((o) => matches(o.m, lower));
    const family = tool?.family ?? families.find((f) => matches(f.m, lower))?.id ?? 'other';
    return Object.freeze(tool ? { family, offensiveTool: tool.id } : { family });
  };

  return (userAgent) => {
    if (!userAgent) return { family: 'missing' };
    let hit = cache.get(userAgent);
    if (!hit) {
      hit = classify(userAgent);
      // Bounded: user agents carry version strings, so a long stream can hold many distinct ones.
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(userAgent, hit);
    }
    return hit;
  };
}
