/**
 * The console pages of rules/signals/pages/*.yaml as data: every file names its sources, every call is an
 * API that IAM knows (no typos: a misspelt call would never match), and every page is made from its own
 * calls (its `example`, or its anchor and required calls) when nothing else is in the session.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EngineEvent } from '../../../engine/model.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import type { PageDef, PageFile } from '../../../engine/signals/schema.ts';
import { createEnricher } from '../../../enrichment/index.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { ev, session, toEvents } from '../../support/signals-support.ts';

const dir = join(TEST_DIR, '../rules/signals/pages');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, data: parse(readFileSync(join(dir, f), 'utf8')) as PageFile }));
const pages: { file: string; page: PageDef }[] = files.flatMap((f) =>
  f.data.pages.map((page) => ({ file: f.name, page })),
);

/**
 * Real CloudTrail event names whose IAM action has another name, or none: sign-in events; AWS Budgets
 * (API DescribeBudgets/CreateBudget…, IAM budgets:ViewBudget/ModifyBudget); DynamoDB PartiQL
 * (ExecuteStatement, IAM dynamodb:PartiQL*); S3 DeleteBucketPublicAccessBlock (IAM
 * s3:PutBucketPublicAccessBlock); Access Analyzer's 2024 *V2 APIs (newer than the bundled IAM data).
 */
const NOT_IAM_ACTIONS =
  /^(signin:|budgets:|dynamodb:ExecuteStatement$|s3:DeleteBucketPublicAccessBlock$|access-analyzer:\w+V2$)/;

describe('console pages (rules/signals/pages)', async () => {
  const mapper = await createSignalMapper({ fallback: false });

  it('load without problems, every file naming its sources', () => {
    expect(mapper.problems.filter((p) => p.file.includes('pages/'))).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) expect(f.data.sources.length, f.name).toBeGreaterThan(0);
    expect(mapper.rules.pages?.defs.size).toBe(pages.length);
  });

  it('call only APIs that IAM knows', async () => {
    const enricher = await createEnricher();
    const unknown: string[] = [];
    const keys = new Set(
      pages.flatMap(({ page: p }) => [...p.anchor, ...(p.required ?? []), ...(p.calls ?? [])]),
    );
    for (const key of keys) {
      if (NOT_IAM_ACTIONS.test(key)) continue;
      const [prefix, name] = key.split(':') as [string, string];
      const e = toEvents([ev(key, 0)])[0] as EngineEvent;
      e.record.eventSource = `${prefix}.amazonaws.com`;
      e.record.eventName = name;
      enricher.enrich(e);
      if ((e.enrichment?.iamActions.length ?? 0) === 0) unknown.push(key);
    }
    expect(unknown).toEqual([]);
  });

  it('each page is made from its own calls', () => {
    const failed: string[] = [];
    for (const { file, page } of pages) {
      const list = examples(page);
      if (!list) {
        failed.push(
          `${file} ${page.id}: needs an example (its anchors or required calls all have conditions)`,
        );
        continue;
      }
      const records = list.map((x, i) =>
        ev(
          x.event,
          0,
          { requestParameters: x.params ?? null, userAgent: x.userAgent ?? 'AWS Internal' },
          `e${i}`,
        ),
      );
      const { signals } = mapper.map(session, toEvents(records));
      if (!signals.some((s) => s.id === page.id && s.eventIds.includes('e0'))) {
        failed.push(`${file} ${page.id}: got ${signals.map((s) => s.id).join(', ') || 'nothing'}`);
      }
    }
    expect(failed).toEqual([]);
  });
});

/** The page's example, or its first anchor without a condition plus its required calls. */
function examples(
  page: PageDef,
): { event: string; params?: Record<string, unknown> | null; userAgent?: string }[] | undefined {
  if (page.example) return page.example;
  const free = (k: string) => !page.match?.[k];
  const anchor = page.anchor.find(free);
  const required = page.required ?? [];
  if (!anchor || !required.every(free)) return undefined;
  return [{ event: anchor }, ...required.filter((r) => r !== anchor).map((event) => ({ event }))];
}
