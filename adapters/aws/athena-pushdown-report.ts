/**
 * `cartographer rules check`, Athena part: which enabled rules the scans cannot push down to Athena, and why.
 *
 *   not pushed down      the rule's prefilter is TRUE: every event of the scanned range travels for it
 *   pushed down in part  the SQL is wider than the rule (a part only Cartographer can decide): more rows travel,
 *                        the rule still decides in Node
 *
 * Warnings, not errors: a rule that is not pushed down is still evaluated exactly, it only costs rows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eventPushdown } from '../../engine/detections/pushdown.ts';
import type { RuleProblem } from '../../engine/rule-yaml.ts';
import { createFieldDescriber } from '../../enrichment/pushdown.ts';
import { loadEnrichmentTables } from '../../enrichment/tables.ts';
import { loadDetectionRules } from '../rules/detection-rules.ts';
import { over, Sql } from './athena-filter-sql.ts';

export async function pushdownProblems(rulesRoot: string): Promise<RuleProblem[]> {
  const loaded = loadDetectionRules(rulesRoot, undefined);
  const off = new Set(loaded.disabled.map((d) => d.id));
  // The rules a detector runs (buildDetector): not switched off, not a correlation's silent base rule.
  const rules = loaded.rules.filter((r) => !off.has(r.id) && !r.silent);
  const enrichmentDir = join(rulesRoot, 'enrichment');
  const tables = await (existsSync(enrichmentDir)
    ? loadEnrichmentTables(enrichmentDir)
    : loadEnrichmentTables());
  const pushdown = eventPushdown(rules, createFieldDescriber(tables));
  const where = new Map(rules.map((r) => [r.id, r.where]));
  const out: RuleProblem[] = [];
  for (const r of pushdown.rules) {
    const widened = new Set<string>();
    const everything = over(r.filter, { rows: new Sql('FROM cloudtrail WHERE TRUE'), widened }) === true;
    const notes = [...new Set([...r.notes, ...widened])];
    if (notes.length === 0) continue;
    const [file, line] = splitWhere(where.get(r.id) ?? rulesRoot);
    out.push({
      file,
      line,
      severity: 'warning',
      message: everything
        ? `rule ${r.id} is not pushed down to Athena (every event of a scanned range is read for it): ${notes.join('; ')}`
        : `rule ${r.id} is pushed down to Athena in part (its SQL filter is wider; Cartographer decides the rest): ${notes.join('; ')}`,
    });
  }
  return out;
}

function splitWhere(where: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(where);
  return m ? [m[1]!, Number(m[2])] : [where, 1];
}
