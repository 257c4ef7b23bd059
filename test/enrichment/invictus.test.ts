import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent, Signal } from '../../engine/model.ts';
import { attachSignalEnrichment, createEnricher, summarizeEnrichment } from '../../enrichment/index.ts';
import { observeAndEnrich, readEvents } from '../support/enrichment-helpers.ts';
import { TEST_DIR } from '../support/paths.ts';

// The bundled demo: the Invictus IR data set (Stratus Red Team in a real account, two people, Terraform).
const DEMO_INVICTUS = join(TEST_DIR, '..', 'demo', 'invictus');

let events: EngineEvent[];
beforeAll(async () => {
  const enricher = await createEnricher();
  const files = readdirSync(DEMO_INVICTUS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  events = observeAndEnrich(
    enricher,
    files.flatMap((f, i) => readEvents(join(DEMO_INVICTUS, f), i * 10_000)),
  );
});

const user = (e: EngineEvent) => e.record.userIdentity?.userName;

describe('enrichment of the Invictus data set', () => {
  it('enriches every event', () => {
    expect(events.length).toBeGreaterThan(2800);
    expect(events.filter((e) => !e.enrichment)).toEqual([]);
    const withAction = events.filter((e) => e.enrichment!.iamActions.length > 0).length;
    expect(withAction / events.length).toBeGreaterThan(0.98);
  });

  it('tells console, Terraform, SDK and Stratus Red Team activity apart', () => {
    const families = (pred: (e: EngineEvent) => boolean) =>
      new Set(events.filter(pred).map((e) => e.enrichment!.userAgentFamily));
    expect(families((e) => e.record.sessionCredentialFromConsole === 'true')).toEqual(new Set(['console']));
    expect(families((e) => user(e) === 'benjamin' && !!e.record.userAgent?.startsWith('Boto3/'))).toEqual(
      new Set(['boto3']),
    );
    // Stratus Red Team deploys its prerequisites with Terraform: those calls carry both names; the tool wins.
    const terraform = (e: EngineEvent) => !!e.record.userAgent?.includes('Terraform/');
    const viaStratus = (e: EngineEvent) => !!e.record.userAgent?.includes('stratus-red-team_');
    expect(families((e) => terraform(e) && !viaStratus(e))).toEqual(new Set(['terraform']));
    expect(families((e) => terraform(e) && viaStratus(e))).toEqual(new Set(['stratus-red-team']));
    const stratus = events.filter((e) => e.record.userAgent?.includes('stratus-red-team_'));
    expect(stratus.length).toBeGreaterThan(1000);
    expect(stratus.every((e) => e.enrichment!.offensiveTool === 'stratus-red-team')).toBe(true);
    expect(
      events.filter((e) => !e.record.userAgent?.includes('stratus-red-team_') && e.enrichment!.offensiveTool),
    ).toEqual([]);
  });

  it('flags the EC2 instance key used from the analyst workstation, not the instance using its own key', () => {
    const instanceUses = events.filter((e) => e.record.userIdentity?.sessionContext?.ec2RoleDelivery);
    const fromWorkstation = instanceUses.filter((e) => e.record.sourceIPAddress === '192.168.10.20');
    const fromInstance = instanceUses.filter((e) => e.enrichment!.sourceKind === 'public');
    expect(fromWorkstation.length).toBeGreaterThan(0);
    expect(fromInstance.length).toBeGreaterThan(0);
    // bert-jan works from 192.168.10.20 (read from the data, not assumed).
    expect(events.some((e) => user(e) === 'bert-jan' && e.record.sourceIPAddress === '192.168.10.20')).toBe(
      true,
    );
    for (const e of fromWorkstation) {
      expect(e.enrichment!.lineage!.originMismatch).toBe(true);
      expect(e.enrichment!.lineage!.reason).toContain('bert-jan');
    }
    for (const e of fromInstance) expect(e.enrichment!.lineage!.originMismatch).toBe(false);
  });

  it('raises no origin alarm on anything else in the data set', () => {
    const flagged = events.filter((e) => e.enrichment!.lineage?.originMismatch);
    expect(flagged.every((e) => e.record.userIdentity?.sessionContext?.ec2RoleDelivery)).toBe(true);
  });

  it('summarises a session: access levels counted, risks and techniques merged with sources', () => {
    const benjamin = events.filter((e) => user(e) === 'benjamin');
    const summary = summarizeEnrichment(benjamin);
    const levelTotal = Object.values(summary.accessLevels).reduce((a, b) => a + b, 0);
    expect(levelTotal).toBe(benjamin.filter((e) => e.enrichment!.accessLevel).length);
    const ids = new Set(benjamin.flatMap((e) => e.enrichment!.mitre.map((t) => t.id)));
    expect(summary.mitre.map((t) => t.id)).toEqual([...ids].sort());
    for (const t of summary.mitre) {
      const sources = new Set(
        benjamin.flatMap((e) => e.enrichment!.mitre.filter((m) => m.id === t.id).flatMap((m) => m.sources)),
      );
      expect(t.sources).toEqual([...sources].sort());
    }
    const risks = new Set(benjamin.flatMap((e) => e.enrichment!.riskCategories));
    expect(new Set(summary.riskCategories)).toEqual(risks);
    expect(summarizeEnrichment([])).toEqual({ accessLevels: {}, riskCategories: [], mitre: [] });
  });

  it('puts the summary of its events on each signal', () => {
    const stratus = events.filter((e) => e.record.userAgent?.includes('stratus-red-team_')).slice(0, 40);
    const signal: Signal = {
      id: 'test-signal',
      name: 'Stratus calls',
      summary: '',
      service: 'mixed',
      start: stratus[0]!.record.eventTime,
      end: stratus.at(-1)!.record.eventTime,
      eventIds: [...stratus.map((e) => e.id), 'not-in-this-session'],
      suppressed: false,
      details: {},
    };
    attachSignalEnrichment([signal], events);
    expect(signal.details.enrichment).toEqual(summarizeEnrichment(stratus));
  });
});
