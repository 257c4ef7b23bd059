import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEnricher } from '../../enrichment/index.ts';
import {
  DEFAULT_ENRICHMENT_RULES_DIR,
  EnrichmentTableError,
  loadEnrichmentTables,
} from '../../enrichment/tables.ts';
import { observeAndEnrich, stratusLog, variant } from '../support/enrichment-helpers.ts';

describe('enrichment on odd input', () => {
  it('survives records with missing, null or mistyped optional parts', async () => {
    const enricher = await createEnricher();
    const base = stratusLog('aws.persistence.sts-federation-token').find(
      (e) => e.record.eventName === 'GetFederationToken',
    )!;
    const odd = [
      variant(base, { userIdentity: undefined, sourceIPAddress: undefined, userAgent: undefined }, 'bare'),
      variant(base, { responseElements: { credentials: 'ASIA-not-an-object' } }, 'creds-string'),
      variant(base, { responseElements: { credentials: { accessKeyId: 42 } } }, 'creds-number'),
      variant(base, { responseElements: null, requestParameters: null }, 'nulls'),
      variant(base, { eventSource: 'no-dots', eventName: 'Whatever' }, 'unknown-service'),
      variant(base, { sourceIPAddress: '::::::::', errorCode: '' }, 'garbage-ip'),
      variant(
        base,
        { requestParameters: { policy: { Statement: { Effect: 'Allow', Action: 7 } } } },
        'odd-policy',
      ),
      // Other tools' logs (e.g. Panther's test events) sometimes carry requestParameters as a string.
      variant(
        base,
        { eventName: 'PutBucketPolicy', requestParameters: 'policy=*' as never },
        'params-string',
      ),
    ];
    expect(() => observeAndEnrich(enricher, odd)).not.toThrow();
    for (const e of odd) expect(e.enrichment, e.id).toBeDefined();
    const bare = odd[0]!.enrichment!;
    expect(bare.userAgentFamily).toBe('missing');
    expect(bare.sourceKind).toBe('missing');
    expect(odd[4]!.enrichment!.iamActions).toEqual([]);
    expect(odd[5]!.enrichment!.sourceKind).toBe('malformed');
  });

  it('shares per-action facts between events without letting one event change another', async () => {
    const enricher = await createEnricher();
    const [a, b] = observeAndEnrich(
      enricher,
      stratusLog('aws.credential-access.ec2-get-password-data').filter(
        (e) => e.record.eventName === 'GetPasswordData',
      ),
    );
    expect(a!.enrichment!.mitre).toBe(b!.enrichment!.mitre);
    expect(() => (a!.enrichment!.iamActions as string[]).push('x:Y')).toThrow();
    expect(b!.enrichment!.iamActions).toEqual(['ec2:GetPasswordData']);
  });

  it('reports a broken table with its file and the bad entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enrichment-tables-'));
    try {
      // The enrichment folder and the ATT&CK and user-agent tables beside it, as in rules/.
      const tables = join(dir, 'enrichment');
      cpSync(DEFAULT_ENRICHMENT_RULES_DIR, tables, { recursive: true });
      for (const f of ['attack.yaml', 'user-agents.yaml'])
        cpSync(join(DEFAULT_ENRICHMENT_RULES_DIR, '..', f), join(dir, f));
      const file = join(tables, 'error-codes.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('kind: throttled', 'kind: slow'));
      await expect(loadEnrichmentTables(tables)).rejects.toThrow(EnrichmentTableError);
      await expect(loadEnrichmentTables(tables)).rejects.toThrow(/error-codes\.yaml: kinds\.2\.kind/);
      // A broken ATT&CK table is reported with its file and line.
      writeFileSync(file, readFileSync(join(DEFAULT_ENRICHMENT_RULES_DIR, 'error-codes.yaml')));
      const attack = join(dir, 'attack.yaml');
      writeFileSync(
        attack,
        readFileSync(attack, 'utf8').replace('tactics: [Collection] }', 'tactics: [Colection] }'),
      );
      await expect(loadEnrichmentTables(tables)).rejects.toThrow(
        /attack\.yaml:\d+: T\d{4}: unknown tactic 'Colection'/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
