/**
 * The Athena prefilter of the shipped rules is a superset, checked on the rules' own test events (rules/…/tests):
 * for every firing case of every enabled rule, each event that is evidence of the rule's finding is kept by the
 * rule's SQL filter, run for real in DuckDB. (Thresholds and sequences are filtered by their counted events here;
 * their groups and windows are checked on a generated day in test/adapters/aws/athena-scale.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { over, Sql, toSql } from '../../../adapters/aws/athena-filter-sql.ts';
import { sqlString } from '../../../adapters/aws/athena-sql.ts';
import { readRuleTests } from '../../../adapters/rules/rule-files.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import type { CartographerDetector } from '../../../engine/detections/index.ts';
import { pushdownOf } from '../../../engine/detections/pushdown.ts';
import { loadRuleTests } from '../../../engine/detections/rule-tests.ts';
import { checkRecord } from '../../../engine/ingest/record-check.ts';
import { analyze } from '../../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createEnricherFactory } from '../../../enrichment/index.ts';
import { DuckAthena } from '../../support/athena-duckdb.ts';

const TABLE = { catalog: 'AwsDataCatalog', database: 'security', table: 'cloudtrail_logs' };

describe('the shipped rules pushed down to Athena', () => {
  it('keep every evidence event of every firing rule test', async () => {
    const stages = await loadDefaultStages();
    const enrichers = await createEnricherFactory();
    const pushdown = pushdownOf(stages);
    const byRule = new Map(pushdown.rules.map((r) => [r.id, r]));
    const cases = loadRuleTests(readRuleTests('rules')).cases.filter((c) => c.fires && byRule.has(c.rule));
    expect(cases.length).toBeGreaterThan(300);
    // Each case's events, renamed so ids are unique across cases, analysed alone as `cartographer rules test` does.
    const all: CloudTrailRecord[] = [];
    const evidence = new Map<string, Set<string>>();
    for (const [n, c] of cases.entries()) {
      const records = c.events
        .map((raw) => checkRecord(raw))
        .filter((r) => r.ok)
        .map((r, i) => ({ ...(r as { record: CloudTrailRecord }).record, eventID: `case-${n}-${i}` }));
      all.push(...records);
      const items = async function* (): AsyncGenerator<SourceItem> {
        for (const [i, record] of records.entries())
          yield { kind: 'record', record, origin: { file: c.file, position: i } };
      };
      const fresh = {
        ...stages,
        enricher: enrichers(),
        detector: (stages.detector as CartographerDetector).fresh(),
      };
      for await (const s of analyze(items(), fresh).sessions)
        for (const f of s.findings.filter((x) => x.ruleId === c.rule)) {
          const set = evidence.get(c.rule) ?? new Set<string>();
          for (const id of f.eventIds) set.add(id);
          evidence.set(c.rule, set);
        }
    }
    expect(evidence.size).toBeGreaterThan(250);
    const duck = await DuckAthena.create(all, TABLE);
    const rows = new Sql(`FROM "${TABLE.catalog}"."${TABLE.database}"."${TABLE.table}" WHERE TRUE`);
    const missed: string[] = [];
    try {
      for (const [rule, ids] of evidence) {
        const pred = toSql(over(byRule.get(rule)!.filter, { rows }));
        const out = await duck.run(
          `SELECT eventid ${rows.text} AND (${pred.text})`,
          pred.params.map(sqlString),
        );
        const kept = new Set(out.rows.map((r) => r[0]));
        for (const id of ids) if (!kept.has(id)) missed.push(`${rule}: ${id}`);
      }
    } finally {
      duck.close();
    }
    expect(missed).toEqual([]);
  }, 300_000);
});
