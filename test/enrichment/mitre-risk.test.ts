import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttackTable } from '../../engine/attack.ts';
import type { Enricher } from '../../engine/stages.ts';
import { loadIamActionIndex } from '../../enrichment/access-level.ts';
import { createEnricher } from '../../enrichment/index.ts';
import { formatTechnique } from '../../enrichment/mitre.ts';
import { createRiskClassifier, type RiskClassifier } from '../../enrichment/risk.ts';
import { loadEnrichmentTables } from '../../enrichment/tables.ts';
import {
  FIXTURES,
  observeAndEnrich,
  stratusLog,
  traildiscoverExamples,
} from '../support/enrichment-helpers.ts';
import { TEST_DIR } from '../support/paths.ts';

let enricher: Enricher;
let risk: RiskClassifier;
let attack: AttackTable;
beforeAll(async () => {
  enricher = await createEnricher();
  const tables = await loadEnrichmentTables();
  attack = tables.attack;
  risk = createRiskClassifier(
    tables.risk,
    await loadIamActionIndex(),
    tables.iamActions.notInfrastructureServices,
  );
});

const TECHNIQUE = /^(T\d{4}(?:\.\d{3})?)/;

describe('MITRE ATT&CK per event', () => {
  it('carries every technique TrailDiscover lists for the real TrailDiscover samples, with the source', () => {
    const td = JSON.parse(readFileSync(join(FIXTURES, 'traildiscover', 'events.json'), 'utf8')) as {
      eventSource: string;
      eventName: string;
      mitreAttackTechniques: string[];
      mitreAttackSubTechniques: string[];
    }[];
    const expected = new Map(
      td.map((e) => [
        `${e.eventSource}:${e.eventName}`,
        [...e.mitreAttackSubTechniques, ...e.mitreAttackTechniques]
          .map((t) => TECHNIQUE.exec(t.trim())?.[1])
          .filter((t): t is string => !!t),
      ]),
    );
    let checked = 0;
    for (const { file, events } of traildiscoverExamples()) {
      observeAndEnrich(enricher, events);
      for (const e of events) {
        const want = expected.get(`${e.record.eventSource}:${e.record.eventName}`);
        if (!want) continue;
        const got = e.enrichment!.mitre.filter((t) => t.sources.includes('traildiscover')).map((t) => t.id);
        // A parent technique listed next to its own sub-technique is shown as the sub-technique only.
        const needed = want.filter((id) => id.includes('.') || !want.some((o) => o.startsWith(`${id}.`)));
        expect(got, file).toEqual(expect.arrayContaining(needed));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('names techniques with their ids and tactics (T1562.008 on CloudTrail StopLogging, from Stratus and TrailDiscover)', () => {
    const [stop] = observeAndEnrich(enricher, stratusLog('aws.defense-evasion.cloudtrail-stop')).filter(
      (e) => e.record.eventName === 'StopLogging',
    );
    const t = stop!.enrichment!.mitre.find((m) => m.id === 'T1562.008');
    expect(t).toBeDefined();
    expect(formatTechnique(t!)).toBe('T1562.008 Disable or Modify Cloud Logs');
    expect(t!.tactics).toEqual(['Defense Evasion']);
    expect(t!.sources).toEqual(expect.arrayContaining(['stratus-red-team', 'traildiscover']));
  });

  it('maps every Stratus technique that has an ATT&CK id to its main event', () => {
    const index = JSON.parse(
      readFileSync(join(FIXTURES, 'stratus-red-team', 'aws-technique-events.json'), 'utf8'),
    ) as {
      techniques: {
        id: string;
        mitreAttackTactics: string[];
        frameworkMappings: { techniques: { id: string }[] }[];
        cloudTrailEvents: string[];
      }[];
    };
    const cases: [string, string, string][] = [
      ['aws.defense-evasion.cloudtrail-delete', 'DeleteTrail', 'T1562.008'],
      ['aws.persistence.iam-backdoor-role', 'UpdateAssumeRolePolicy', 'T1098.003'],
      ['aws.persistence.iam-backdoor-user', 'CreateAccessKey', 'T1098.001'],
      [
        'aws.exfiltration.ec2-security-group-open-port-22-ingress',
        'AuthorizeSecurityGroupIngress',
        'T1562.007',
      ],
      ['aws.persistence.sts-federation-token', 'GetFederationToken', 'T1098.001'],
      // The catalog's T1078.A001 "IAM Users" is shown as ATT&CK T1078.004 Cloud Accounts.
      ['aws.initial-access.console-login-without-mfa', 'ConsoleLogin', 'T1078.004'],
    ];
    for (const [technique, eventName, id] of cases) {
      const meta = index.techniques.find((t) => t.id === technique)!;
      const event = observeAndEnrich(enricher, stratusLog(technique)).find(
        (e) => e.record.eventName === eventName,
      );
      const t = event?.enrichment?.mitre.find((m) => m.id === id);
      expect(t, `${technique} ${eventName}`).toBeDefined();
      expect(t!.sources).toContain('stratus-red-team');
      // Stratus's tactic where the technique has it (T1098.001 → Persistence, Privilege Escalation), else the
      // technique's own ATT&CK tactic (T1562.007 is Defense Evasion even in Stratus's "Exfiltration" technique).
      const own = attack.tacticsOf([id]);
      const kept = meta.mitreAttackTactics.filter((x) => own.includes(x));
      expect(t!.tactics, technique).toEqual((kept.length > 0 ? kept : own).sort());
    }
  });

  it('does not attribute a technique to the incidental calls Stratus makes (AssumeRole to get credentials)', () => {
    const assume = observeAndEnrich(enricher, stratusLog('aws.credential-access.ec2-get-password-data')).find(
      (e) => e.record.eventName === 'AssumeRole',
    );
    expect(assume?.enrichment?.mitre.some((t) => t.sources.includes('stratus-red-team'))).toBe(false);
  });

  it('normalises Sigma tactic tags (attack.stealth / attack.defense-impairment → Defense Evasion) and keeps the rule id', () => {
    const mapping = JSON.parse(
      readFileSync(join(TEST_DIR, '..', 'rules', 'enrichment', 'mitre-mappings.json'), 'utf8'),
    ) as {
      mappings: Record<
        string,
        { id: string; tactics: string[]; sources: string[]; sourceTactics?: string[] }[]
      >;
    };
    const sigma = mapping.mappings['cloudtrail.amazonaws.com:StopLogging']!.filter((m) =>
      m.sources.some((s) => s.startsWith('sigma:')),
    );
    expect(sigma.length).toBeGreaterThan(0);
    for (const m of sigma) {
      expect(m.tactics).toEqual(['Defense Evasion']);
      expect(m.sourceTactics?.some((t) => t === 'attack.defense-impairment' || t === 'attack.stealth')).toBe(
        true,
      );
    }
    for (const source of sigma.flatMap((m) => m.sources.filter((x) => x.startsWith('sigma:')))) {
      expect(source).toMatch(/^sigma:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const tactics = new Set(
      Object.values(mapping.mappings).flatMap((list) => list.flatMap((m) => m.tactics)),
    );
    expect([...tactics].filter((t) => /stealth|impairment|-/.test(t))).toEqual([]);
  });

  it('has a name and tactics in the ATT&CK table for every technique id it can emit', () => {
    const mapping = JSON.parse(
      readFileSync(join(TEST_DIR, '..', 'rules', 'enrichment', 'mitre-mappings.json'), 'utf8'),
    ) as { mappings: Record<string, { id: string }[]> };
    const ids = new Set(Object.values(mapping.mappings).flatMap((l) => l.map((m) => m.id)));
    expect([...ids].filter((id) => !attack.technique(id)?.name)).toEqual([]);
    expect([...ids].filter((id) => attack.tacticsOf([id]).length === 0)).toEqual([]);
  });
});

describe('risk categories keyed on (service, action)', () => {
  const cs = JSON.parse(readFileSync(join(FIXTURES, 'cloudsplaining', 'risk-categories.json'), 'utf8')) as {
    credentialsExposureActions: string[];
    dataExfiltrationActions: string[];
    privilegeEscalationMethods: Record<string, string[]>;
  };

  it('follows Cloudsplaining for credentials exposure and data exfiltration', () => {
    for (const a of [
      'iam:CreateAccessKey',
      'sts:GetSessionToken',
      'ecr:GetAuthorizationToken',
      'ec2:GetPasswordData',
    ]) {
      expect(cs.credentialsExposureActions).toContain(a.toLowerCase());
      expect(risk.categories([a])).toContain('credentials-exposure');
    }
    for (const a of cs.dataExfiltrationActions) expect(risk.categories([a])).toContain('data-exfiltration');
    expect(risk.categories(['s3:ListBucket'])).not.toContain('data-exfiltration');
  });

  it('flags single-action privilege-escalation methods, not the reads inside multi-step methods', () => {
    const singleAction = Object.values(cs.privilegeEscalationMethods)
      .filter((m) => m.length === 1)
      .map((m) => m[0]!);
    expect(singleAction.length).toBeGreaterThan(5);
    for (const a of singleAction) expect(risk.categories([a]), a).toContain('privilege-escalation');
    expect(risk.categories(['ec2:DescribeInstances'])).toEqual([]);
    expect(
      risk.privilegeEscalationSources('iam:PassRole').some((s) => s.startsWith('pathfinding.cloud:')),
    ).toBe(true);
  });

  it('derives resource exposure and infrastructure modification from the access level', () => {
    expect(risk.categories(['s3:PutBucketPolicy'])).toEqual([
      'resource-exposure',
      'infrastructure-modification',
    ]);
    expect(risk.categories(['ec2:TerminateInstances'])).toEqual(['infrastructure-modification']);
    expect(risk.categories(['ec2:CreateTags'])).toEqual([]); // tagging changes metadata, not infrastructure
    expect(risk.categories(['sts:AssumeRole'])).not.toContain('infrastructure-modification');
    // Same event name, other service: the key is (service, action), never the name alone.
    expect(risk.categories(['iam:CreateAccessKey'])).toContain('credentials-exposure');
    expect(risk.categories(['lightsail:CreateBucketAccessKey'])).toContain('credentials-exposure');
    expect(risk.categories(['s3:GetObject'])).toContain('data-exfiltration');
    expect(risk.categories(['s3:GetObjectAcl'])).not.toContain('data-exfiltration');
  });

  it('puts risk categories on real events', () => {
    const events = observeAndEnrich(enricher, stratusLog('aws.persistence.iam-create-admin-user'));
    const attach = events.find((e) => e.record.eventName === 'AttachUserPolicy')!.enrichment!;
    expect(attach.riskCategories).toEqual(
      expect.arrayContaining(['privilege-escalation', 'resource-exposure', 'infrastructure-modification']),
    );
    const key = events.find((e) => e.record.eventName === 'CreateAccessKey')!.enrichment!;
    expect(key.riskCategories).toEqual(
      expect.arrayContaining(['credentials-exposure', 'privilege-escalation']),
    );
  });
});

describe('tactics per technique', () => {
  it('pairs each technique with its own tactic when a source lists several for one event', async () => {
    const enricher = await createEnricher();
    const [run] = observeAndEnrich(enricher, stratusLog('aws.execution.ec2-launch-unusual-instances')).filter(
      (e) => e.record.eventName === 'RunInstances',
    );
    const tacticsOf = (id: string) => run!.enrichment!.mitre.find((t) => t.id === id)?.tactics;
    // TrailDiscover lists RunInstances with Remote Services, Account Manipulation and Resource Hijacking under
    // "Impact, Lateral Movement, Persistence" for the event as a whole.
    expect(tacticsOf('T1021')).toEqual(['Lateral Movement']);
    expect(tacticsOf('T1098')).toEqual(['Persistence']);
    expect(tacticsOf('T1496')).toEqual(['Impact']);
  });
});
