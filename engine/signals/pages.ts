/**
 * Console pages (rules/signals/pages/*.yaml) compiled into a rule set the assembler runs as a second pass
 * over the console events the label/def rules leave over: each page's calls get the page as a label (in
 * file order, `continue` so a call may belong to several pages), and the page becomes a definition with
 * its anchors, required calls and members. Compiled once at load; nothing here runs per event.
 */

import type { ParsedYaml, RuleProblem } from '../rule-yaml.ts';
import type { UserAgentClassifier } from '../user-agent.ts';
import { compileWhen } from './conditions.ts';
import type { Phrases } from './phrases.ts';
import type { CompiledCase, CompiledDef, SignalRuleSet } from './rule-set.ts';
import type { PageDef, PageFile } from './schema.ts';
import { templateProblems } from './templates.ts';

export interface PageFileInput {
  file: string;
  parsed: ParsedYaml<PageFile>;
}

/** Default window of a page: its calls come within seconds of the anchor. */
const LOOKBACK_S = 2;
const LOOKAHEAD_S = 5;

export function compilePages(
  inputs: readonly PageFileInput[],
  ua: UserAgentClassifier,
  takenIds: ReadonlySet<string>,
  phrases: Phrases,
): { pages: SignalRuleSet; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const cases = new Map<string, CompiledCase[]>();
  const defs = new Map<string, CompiledDef>();
  for (const { file, parsed } of inputs) {
    const value = parsed.value;
    if (!value) continue;
    value.pages.forEach((p, i) => {
      const line = parsed.lineOf(['pages', i, 'id']);
      const found = pageProblems(p, ua).map((message) => ({ file, line, message }));
      if (takenIds.has(p.id) || defs.has(p.id)) {
        found.push({
          file,
          line,
          message: `page '${p.id}' is already defined (ids are unique across defs/ and pages/)`,
        });
      }
      if (found.length > 0) {
        problems.push(...found);
        return;
      }
      const compiled: [string, CompiledCase][] = [];
      try {
        for (const key of new Set([...p.anchor, ...(p.required ?? []), ...p.calls])) {
          compiled.push([key, { test: compileWhen(p.match?.[key], ua), labels: [p.id], continue: true }]);
        }
      } catch (err) {
        problems.push({ file, line, message: `page '${p.id}' cannot be used: ${(err as Error).message}` });
        return;
      }
      defs.set(p.id, pageDef(p, value.service));
      for (const [key, c] of compiled) {
        const list = cases.get(key) ?? [];
        list.push(c);
        cases.set(key, list);
      }
    });
  }
  return {
    // The fields of rules.ts's rule set, in its order (no fallback, no pages of its own): the assembler runs
    // on both, and one shape keeps its optimised code from deopting when the second one arrives.
    pages: {
      ua,
      cases,
      anyCases: [],
      defs,
      followups: { previousSkips: [], followups: [] },
      fallback: undefined,
      pages: undefined,
      phrases,
    },
    problems,
  };
}

function pageDef(p: PageDef, service: string): CompiledDef {
  const members = new Set([...p.anchor, ...(p.required ?? []), ...p.calls]);
  return {
    id: p.id,
    reportId: p.id,
    service,
    name: p.name,
    summary: p.summary ?? p.name,
    url: p.url,
    anchors: new Set(p.anchor),
    required: p.required && p.required.length > 0 ? [...new Set(p.required)] : null,
    members,
    lookbackMs: (p.lookback ?? LOOKBACK_S) * 1000,
    lookaheadMs: (p.lookahead ?? LOOKAHEAD_S) * 1000,
    suppressed: p.suppressed ?? false,
    eachEvent: false,
  };
}

/** Problems the schema cannot see: templates, user-agent families, conditions on calls the page lacks. */
function pageProblems(p: PageDef, ua: UserAgentClassifier): string[] {
  const out: string[] = [];
  for (const field of ['name', 'summary', 'url'] as const) {
    const text = p[field];
    if (text !== undefined) for (const m of templateProblems(text)) out.push(`page '${p.id}' ${field}: ${m}`);
  }
  const calls = new Set([...p.anchor, ...(p.required ?? []), ...p.calls]);
  for (const [key, when] of Object.entries(p.match ?? {})) {
    if (!calls.has(key)) out.push(`page '${p.id}': match names '${key}', which is not one of its calls`);
    for (const fam of [when.userAgent ?? [], when.notUserAgent ?? []].flat()) {
      if (!ua.known.has(fam)) out.push(`page '${p.id}': unknown user-agent shape or group '${fam}'`);
    }
  }
  return out;
}
