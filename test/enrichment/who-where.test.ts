import { beforeAll, describe, expect, it } from 'vitest';
import { parseIp, parseIpv6 } from '../../engine/ip-address.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { Enricher } from '../../engine/stages.ts';
import type { UserAgentClassifier } from '../../engine/user-agent.ts';
import { createErrorClassifier, type ErrorClassifier } from '../../enrichment/error-kind.ts';
import { createEnricher } from '../../enrichment/index.ts';
import { createSourceClassifier, type SourceClassifier } from '../../enrichment/source-kind.ts';
import { loadEnrichmentTables } from '../../enrichment/tables.ts';
import {
  allStratusEvents,
  observeAndEnrich,
  otrfEvents,
  traildiscoverExamples,
} from '../support/enrichment-helpers.ts';

let enricher: Enricher;
let ua: UserAgentClassifier;
let source: SourceClassifier;
let errorKind: ErrorClassifier;
beforeAll(async () => {
  enricher = await createEnricher();
  const tables = await loadEnrichmentTables();
  ua = tables.userAgents;
  source = createSourceClassifier(tables.network);
  errorKind = createErrorClassifier(tables.errorCodes);
});

describe('user-agent family', () => {
  it('recognises the tools in the real records', () => {
    const stratus = observeAndEnrich(enricher, allStratusEvents());
    const fromTool = stratus.filter((e) => e.record.userAgent?.startsWith('stratus-red-team_'));
    expect(fromTool.length).toBeGreaterThan(200);
    for (const e of fromTool) {
      expect(e.enrichment!.userAgentFamily).toBe('stratus-red-team');
      expect(e.enrichment!.offensiveTool).toBe('stratus-red-team');
    }
    const otrf = observeAndEnrich(enricher, otrfEvents());
    const families = (agent: string) =>
      new Set(otrf.filter((e) => e.record.userAgent === agent).map((e) => e.enrichment!.userAgentFamily));
    expect(families('console.ec2.amazonaws.com')).toEqual(new Set(['console']));
    expect(families('[aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59]')).toEqual(
      new Set(['aws-cli']),
    );
    expect(families('ec2.amazonaws.com')).toEqual(new Set(['aws-service']));

    const td = observeAndEnrich(
      enricher,
      traildiscoverExamples().flatMap((x) => x.events),
    );
    const byFile = (name: string) => td.find((e) => e.record.eventName === name)!.enrichment!.userAgentFamily;
    expect(byFile('CreateApi')).toBe('terraform'); // Terraform's user agent embeds aws-sdk-go-v2
    expect(byFile('DescribeAlarms')).toBe('cloudshell'); // aws-cli inside CloudShell
  });

  it('classifies SDKs, CLIs and offensive tools from their published user-agent formats', () => {
    const cases: [string, string, string?][] = [
      [
        'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/s3.ls',
        'aws-cli',
        'kali-linux',
      ],
      [
        'aws-cli/2.13.5 md/awscrt#0.16.16 ua/2.0 os/linux#6.3.0-kali1-amd64 md/distrib#kali.2023',
        'aws-cli',
        'kali-linux',
      ],
      [
        'Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.4 Pacu',
        'pacu',
        'pacu',
      ],
      ['S3 Browser 11.5.7 https://s3browser.com', 's3-browser', 's3-browser'],
      ['Boto3/1.26.0 Python/3.10 Linux/5.15 Botocore/1.29.0 Scout Suite/5.12.0', 'scoutsuite', 'scoutsuite'],
      ['Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux', 'boto3'],
      ['Botocore/1.34.0 ua/2.0 os/linux', 'botocore'],
      ['aws-sdk-js/3.470.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#18.18.2 api/s3#3.470.0', 'aws-sdk-js-v3'],
      ['aws-sdk-nodejs/2.1500.0 linux/v18.18.2 exec-env/AWS_Lambda_nodejs18.x', 'aws-sdk-js-v2'],
      ['aws-sdk-java/2.20.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17 Java/17', 'aws-sdk-java'],
      ['aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux api/sts#1.26.6', 'aws-sdk-go-v2'],
      ['aws-sdk-go/1.49.0 (go1.21.5; linux; amd64)', 'aws-sdk-go'],
      [
        'aws-sdk-dotnet-coreclr/3.7.300 aws-sdk-dotnet-core/3.7.300 .NET_Core/6.0 OS/Microsoft_Windows',
        'aws-sdk-dotnet',
      ],
      ['aws-sdk-ruby3/3.190.0 ruby/3.2.2 x86_64-linux', 'aws-sdk-ruby'],
      ['aws-sdk-php/3.295.0 OS/Linux/5.15 lang/php/8.2', 'aws-sdk-php'],
      ['AWSPowerShell.Common/4.1.500.0 .NET_Core/6.0 PowerShellCore/7', 'aws-powershell'],
      [
        'APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0',
        'terraform',
      ],
      ['cloudformation.amazonaws.com', 'cloudformation'],
      ['AWS Internal', 'console'],
      [
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
        'browser',
      ],
      ['lambda.amazonaws.com', 'aws-service'],
      ['curl/8.4.0', 'http-library'],
      ['python-urllib3/2.0.7', 'http-library'],
      ['TruffleHog', 'trufflehog', 'trufflehog'],
      ['Jakarta Commons-HttpClient/3.1', 'other'],
    ];
    for (const [agent, family, tool] of cases) {
      const got = ua.classify(agent);
      expect(got.family, agent).toBe(family);
      expect(got.offensiveTool, agent).toBe(tool);
    }
    expect(ua.classify(undefined).family).toBe('missing');
  });
});

describe('source classification', () => {
  it('survives the malformed addresses of the anonymised Stratus logs and classifies the rest', () => {
    const events = observeAndEnrich(enricher, allStratusEvents());
    const kinds = new Map<string, string>();
    for (const e of events) kinds.set(e.record.sourceIPAddress ?? '', e.enrichment!.sourceKind);
    expect(kinds.get('06.237.252.245')).toBe('malformed');
    expect(kinds.get('255.090.254.5')).toBe('malformed');
    expect(kinds.get('200.249.253.51')).toBe('public');
    expect(new Set(kinds.values())).toEqual(new Set(['public', 'malformed']));
  });

  it('knows service principals, AWS Internal, private ranges and IPv6', () => {
    const cases: [string | undefined, string][] = [
      ['ec2.amazonaws.com', 'aws-service'],
      ['cloudtrail.amazonaws.com', 'aws-service'],
      ['AWS Internal', 'aws-internal'],
      ['10.1.2.3', 'private'],
      ['172.20.0.9', 'private'],
      ['172.32.0.9', 'public'],
      ['192.168.1.10', 'private'],
      ['100.64.0.1', 'private'],
      ['8.8.8.8', 'public'],
      ['2001:db8::1', 'public'],
      ['fd00::1', 'private'],
      ['fe80::1%eth0', 'private'],
      ['::ffff:10.0.0.1', 'public'],
      ['2600:1f18:4a3:6902:c1e:3e46:a5e4:2b18', 'public'],
      ['sagov-westsouth-1r', 'malformed'],
      ['1.2.3', 'malformed'],
      ['1.2.3.4.5', 'malformed'],
      ['256.1.1.1', 'malformed'],
      ['1::2::3', 'malformed'],
      ['12345::', 'malformed'],
      ['', 'missing'],
      [undefined, 'missing'],
    ];
    for (const [addr, kind] of cases) expect(source(addr).kind, String(addr)).toBe(kind);
  });

  it('parses IPv6 forms to the same value', () => {
    expect(parseIpv6('2001:db8:0:0:0:0:0:1')).toBe(parseIpv6('2001:db8::1'));
    expect(parseIpv6('::')).toBe(0n);
    expect(parseIp('::ffff:1.2.3.4')?.value).toBe(0xffff01020304n);
    expect(parseIp('not an address')).toBeUndefined();
  });
});

describe('error meaning', () => {
  it('labels the failed calls in the real records', () => {
    const events = observeAndEnrich(enricher, [
      ...traildiscoverExamples().flatMap((x) => x.events),
      ...allStratusEvents(),
    ]);
    const byCode = new Map<string, Set<string | undefined>>();
    for (const e of events) {
      const code = e.record.errorCode ?? '';
      if (!byCode.has(code)) byCode.set(code, new Set());
      byCode.get(code)!.add(e.enrichment!.errorKind);
    }
    expect(byCode.get('AccessDenied')).toEqual(new Set(['denied']));
    expect(byCode.get('Client.UnauthorizedOperation')).toEqual(new Set(['denied']));
    expect(byCode.get('NoSuchBucket')).toEqual(new Set(['not-found']));
    expect(byCode.get('Client.InvalidParameterValue')).toEqual(new Set(['invalid']));
    expect(byCode.get('')).toEqual(new Set([undefined]));
  });

  it('tells denied, throttled, not found and invalid apart', () => {
    const rec = (errorCode: string) => ({ errorCode }) as CloudTrailRecord;
    const cases: [string, string][] = [
      ['AccessDeniedException', 'denied'],
      ['Client.UnauthorizedOperation', 'denied'],
      ['ThrottlingException', 'throttled'],
      ['Client.RequestLimitExceeded', 'throttled'],
      ['NoSuchEntity', 'not-found'],
      ['ResourceNotFoundException', 'not-found'],
      ['Client.InvalidInstanceID.NotFound', 'not-found'],
      ['ValidationException', 'invalid'],
      ['InvalidParameterValueException', 'invalid'],
      ['ServiceUnavailableException', 'other'],
    ];
    for (const [code, kind] of cases) expect(errorKind(rec(code)), code).toBe(kind);
    expect(errorKind({ responseElements: { ConsoleLogin: 'Failure' } } as unknown as CloudTrailRecord)).toBe(
      'denied',
    );
    expect(
      errorKind({ responseElements: { ConsoleLogin: 'Success' } } as unknown as CloudTrailRecord),
    ).toBeUndefined();
  });
});
