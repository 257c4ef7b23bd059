/**
 * The one user-agent classifier (engine/user-agent.ts over rules/user-agents.yaml): the shape signal rules name, the
 * family analysts read, the offensive tool, and what proves a console session. The cases where the former
 * vocabularies (signals' console families, the enrichment's families, the sessions' console test) disagreed are
 * pinned here with the answer chosen.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bundledUserAgents,
  isConsoleEvidence,
  readUserAgentTable,
  type UserAgentClassifier,
} from '../../engine/user-agent.ts';

let ua: UserAgentClassifier;
beforeAll(async () => {
  const read = await readUserAgentTable();
  expect(read.problems).toEqual([]);
  ua = read.classifier;
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: AWS sign-in really sends this unexpanded placeholder
const JERSEY = 'Jersey/${project.version} (HttpUrlConnection 17.0.9)';
const JAVA =
  'aws-internal/3 aws-sdk-java/1.12.488 Linux/5.4.242-166.350.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM';

describe('the user-agent table', () => {
  it('gives console pages their shape and the family console', () => {
    const cases: [string, string, string][] = [
      ['AWS Internal', 'aws-internal', 'console'],
      [JAVA, 'aws-internal-sdk', 'console'],
      [`[S3Console/0.4, ${JAVA}]`, 's3-console', 'console'],
      [`EC2ConsoleFrontend, ${JAVA}`, 'ec2-console', 'console'],
      [`AWSCloudTrail, ${JAVA}`, 'cloudtrail-console', 'console'],
      [`RDS Console, ${JAVA}`, 'service-console', 'console'],
      ['console.ec2.amazonaws.com', 'console-legacy', 'console'],
      [JERSEY, 'signin-jersey', 'console'],
      [
        'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
        'console-browser',
        'browser',
      ],
      ['secretsmanager.amazonaws.com', 'secretsmanager-service', 'aws-service'],
      [
        'aws-cli/2.15.37 Python/3.11.8 Linux/6.1.82 exec-env/CloudShell exe/x86_64.amzn.2023 prompt/off command/s3.ls',
        'cloudshell-aws-cli',
        'cloudshell',
      ],
    ];
    for (const [agent, shape, family] of cases) expect(ua.classify(agent), agent).toEqual({ shape, family });
  });

  it('names the offensive tool apart from the shape', () => {
    const terraform =
      'APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1 stratus-red-team_ab44e842';
    expect(ua.classify(terraform)).toEqual({
      shape: 'terraform',
      family: 'stratus-red-team',
      offensiveTool: 'stratus-red-team',
    });
    expect(ua.classify('aws-cli/2.13.5 md/awscrt#0.16.16 ua/2.0 os/linux#6.3.0-kali1-amd64')).toEqual({
      shape: 'aws-cli',
      family: 'aws-cli',
      offensiveTool: 'kali-linux',
    });
  });

  it('settles what the former vocabularies disagreed on', () => {
    // The enrichment called any agent containing "console" a console: the AWS CLI's own command names say otherwise.
    const cli =
      'aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux lang/python#3.11.9 md/prompt#off md/command#ec2.get-console-screenshot';
    expect(ua.classify(cli)).toEqual({ shape: 'aws-cli', family: 'aws-cli' });
    // An AWS SDK the enrichment had no pattern for was `other`; signals knew it as an SDK.
    expect(ua.classify('aws-sdk-python/1.26.0')).toEqual({ shape: 'aws-sdk', family: 'aws-sdk' });
    // Coral/Netty4 is a console shape (signals); the enrichment had it as `other`.
    expect(ua.classify('Coral/Netty4').family).toBe('console');
    // No user agent: signals said `none`, the enrichment `missing`.
    expect(ua.classify(undefined)).toEqual({ shape: 'missing', family: 'missing' });
    expect(ua.classify('')).toEqual({ shape: 'missing', family: 'missing' });
    // Signals had no shape for these (`other`); now the enrichment's ids.
    expect(ua.classify('signin.amazonaws.com')).toEqual({ shape: 'console-other', family: 'console' });
    expect(ua.classify('cloudformation.amazonaws.com').shape).toBe('cloudformation');
    expect(ua.classify('rolesanywhere.amazonaws.com').shape).toBe('aws-service');
    expect(ua.classify('Jakarta Commons-HttpClient/3.1')).toEqual({ shape: 'other', family: 'other' });
  });

  it('proves a console session by a page, a browser or sign-in, never by AWS acting for the user', () => {
    const evidence = (agent: string) => isConsoleEvidence(ua, agent);
    // The sessions' own test missed these console pages and bracketed browsers; signals knew them as console shapes.
    for (const agent of [
      `EC2ConsoleFrontend, ${JAVA}`,
      `AWSCloudTrail, ${JAVA}`,
      JERSEY,
      '[Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36]',
      'console.amazonaws.com',
      `[S3Console/0.4, ${JAVA}]`,
      'signin.amazonaws.com',
    ])
      expect(evidence(agent), agent).toBe(true);
    // AWS services acting for a user send these too (the Invictus data's "via AWS services" session).
    for (const agent of ['AWS Internal', JAVA, 'Coral/Netty4', 'aws-cli/2.15.0', 'lambda.amazonaws.com'])
      expect(evidence(agent), agent).toBe(false);
    expect(isConsoleEvidence(bundledUserAgents(), 'Mozilla/5.0 (X11)')).toBe(true);
  });

  it('reports a bad table with file and line, and then knows no shapes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ua-table-'));
    try {
      const file = join(dir, 'user-agents.yaml');
      writeFileSync(
        file,
        [
          'shapes:',
          "  - { shape: aws-cli, match: { startsWith: 'aws-cli/' } }",
          "  - { shape: broken, match: { regex: '(' } }",
          'groups:',
          '  programmatic: [aws-cli, boto3]',
        ].join('\n'),
      );
      const { classifier, problems } = await readUserAgentTable(file);
      expect(problems.map((p) => [p.line, p.message.replace(/:.*/, '')])).toEqual([
        [3, 'Invalid regular expression'],
        [5, "group 'programmatic'"],
      ]);
      expect(classifier.classify('aws-cli/2.0').shape).toBe('other');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
