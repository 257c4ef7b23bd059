/**
 * `cartographer athena check`: is the configured table what the queries need? The table exists; it has every
 * CloudTrail column the queries read (athena-columns.ts), struct fields included; it is partitioned the way
 * CARTOGRAPHER_ATHENA_TABLE_STYLE says (and, with projection, projects every region); the workgroup has a results
 * location (or Cartographer is given one) and runs engine version 3. One line per check, with the fix.
 */
import {
  AthenaClient,
  type AthenaClientConfig,
  GetTableMetadataCommand,
  GetWorkGroupCommand,
} from '@aws-sdk/client-athena';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType, PARTITION_COLUMNS } from './athena-columns.ts';
import { ALL_REGIONS } from './athena-ddl.ts';
import type { TableStyle } from './athena-sql.ts';
import { toSourceError } from './errors.ts';

export interface CheckSettings {
  region: string;
  catalog: string;
  database: string;
  table: string;
  style: TableStyle;
  workgroup: string;
  outputLocation?: string;
  clientConfig?: Partial<AthenaClientConfig>;
}

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, and (when not ok) what to do. */
  message: string;
  /** A warning: fine for queries, worth fixing. */
  warning?: boolean;
}

interface TableMetadata {
  Columns?: { Name?: string; Type?: string }[];
  PartitionKeys?: { Name?: string }[];
  Parameters?: Record<string, string>;
}

export async function checkAthena(s: CheckSettings): Promise<Check[]> {
  const client = new AthenaClient({ region: s.region, maxAttempts: 3, ...s.clientConfig });
  try {
    const table = await tableMetadata(client, s);
    const checks: Check[] = [];
    if ('error' in table) checks.push({ name: 'table', ok: false, message: table.error });
    else {
      checks.push({ name: 'table', ok: true, message: `${s.database}.${s.table} exists` });
      checks.push(columnsCheck(table.meta), partitionCheck(table.meta, s.style));
      const regions = regionsCheck(table.meta, s.style);
      if (regions) checks.push(regions);
    }
    checks.push(...(await workgroupChecks(client, s)));
    return checks;
  } finally {
    client.destroy();
  }
}

async function tableMetadata(
  client: AthenaClient,
  s: CheckSettings,
): Promise<{ meta: TableMetadata } | { error: string }> {
  try {
    const out = await client.send(
      new GetTableMetadataCommand({ CatalogName: s.catalog, DatabaseName: s.database, TableName: s.table }),
    );
    return { meta: (out.TableMetadata ?? {}) as TableMetadata };
  } catch (err) {
    const e = toSourceError(err, { source: 'athena', action: 'athena:GetTableMetadata', region: s.region });
    const missing = e.kind === 'table-not-found' || /not found|does not exist/i.test(e.message);
    return {
      error: missing
        ? `${s.catalog}.${s.database}.${s.table} does not exist: create it with the statement \`cartographer athena ddl\` prints (or set CARTOGRAPHER_ATHENA_DATABASE / CARTOGRAPHER_ATHENA_TABLE).`
        : e.message,
    };
  }
}

/** `struct<type:string,arn:string,…>` (or an array of one) → its field names, one level. */
function fieldNames(type: string): string[] {
  let t = type.replace(/\s+/g, '').toLowerCase();
  if (t.startsWith('array<') && t.endsWith('>')) t = t.slice(6, -1);
  const inner = t.startsWith('struct<') && t.endsWith('>') ? t.slice(7, -1) : '';
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if ((c === ',' || c === undefined) && depth === 0) {
      out.push(inner.slice(start, i).split(':')[0]!.toLowerCase());
      start = i + 1;
    }
  }
  return out.filter(Boolean);
}

function missingFields(c: Column, type: string, prefix: string): string[] {
  const t: ColumnType = c.type.kind === 'array' ? c.type.of : c.type;
  if (t.kind !== 'struct') return [];
  const have = new Set(fieldNames(type));
  return t.fields
    .filter((f) => !have.has(f.name.toLowerCase()))
    .map((f) => `${prefix}.${f.name.toLowerCase()}`);
}

function columnsCheck(meta: TableMetadata): Check {
  const types = new Map(
    (meta.Columns ?? []).map((c) => [String(c.Name).toLowerCase(), String(c.Type ?? '')]),
  );
  const missing: string[] = [];
  for (const c of CLOUDTRAIL_COLUMNS) {
    const name = c.name.toLowerCase();
    const type = types.get(name);
    if (type === undefined) missing.push(name);
    else missing.push(...missingFields(c, type, name));
  }
  return missing.length === 0
    ? {
        name: 'columns',
        ok: true,
        message: `all ${CLOUDTRAIL_COLUMNS.length} CloudTrail columns are declared`,
      }
    : {
        name: 'columns',
        ok: false,
        message: `missing ${missing.join(', ')}: queries fail with COLUMN_NOT_FOUND; recreate the table with \`cartographer athena ddl\` (or ALTER TABLE … ADD COLUMNS).`,
      };
}

function partitionCheck(meta: TableMetadata, style: TableStyle): Check {
  const keys = (meta.PartitionKeys ?? []).map((k) => String(k.Name).toLowerCase());
  const projected = meta.Parameters?.['projection.enabled'] === 'true';
  const found = keys.length === 0 ? 'none' : keys.join(', ');
  const expected = PARTITION_COLUMNS[style];
  const styleOf = (): TableStyle | undefined =>
    (['projection', 'partitioned', 'none'] as const).find(
      (s) => PARTITION_COLUMNS[s].join(',') === keys.join(',') && (s !== 'projection' || projected),
    );
  const actual = styleOf();
  if (actual === style) {
    return {
      name: 'partitions',
      ok: true,
      message: `partitioned by (${found}), as table style ${style} expects`,
    };
  }
  const hint = actual
    ? `set CARTOGRAPHER_ATHENA_TABLE_STYLE=${actual}`
    : `recreate the table with \`cartographer athena ddl\``;
  const want = expected.length
    ? `(${expected.join(', ')})${style === 'projection' ? ' with projection.enabled' : ''}`
    : 'no partitions';
  return {
    name: 'partitions',
    ok: false,
    message: `table style ${style} expects ${want}, the table has (${found})${keys.length && !projected && style === 'projection' ? ' without projection' : ''}: ${hint}.`,
  };
}

function regionsCheck(meta: TableMetadata, style: TableStyle): Check | undefined {
  if (style !== 'projection') return undefined;
  const values = meta.Parameters?.['projection.region.values'];
  if (values === undefined) return undefined;
  const have = new Set(values.split(',').map((r) => r.trim()));
  const missing = ALL_REGIONS.filter((r) => !have.has(r));
  return missing.length === 0
    ? {
        name: 'regions',
        ok: true,
        message: `every region is projected (${ALL_REGIONS.length}, opt-in ones included)`,
      }
    : {
        name: 'regions',
        ok: true,
        warning: true,
        message: `projection.region.values lacks ${missing.join(', ')}: events there are never read; add them (\`cartographer athena ddl\` lists every region).`,
      };
}

async function workgroupChecks(client: AthenaClient, s: CheckSettings): Promise<Check[]> {
  let wg: { Configuration?: unknown } | undefined;
  try {
    wg = (await client.send(new GetWorkGroupCommand({ WorkGroup: s.workgroup }))).WorkGroup;
  } catch (err) {
    const e = toSourceError(err, { source: 'athena', action: 'athena:GetWorkGroup', region: s.region });
    return [{ name: 'workgroup', ok: false, message: `workgroup ${s.workgroup}: ${e.message}` }];
  }
  const config = (wg?.Configuration ?? {}) as {
    ResultConfiguration?: { OutputLocation?: string };
    EnforceWorkGroupConfiguration?: boolean;
    EngineVersion?: { EffectiveEngineVersion?: string };
  };
  const own = config.ResultConfiguration?.OutputLocation;
  const checks: Check[] = [];
  if (!own && !s.outputLocation) {
    checks.push({
      name: 'output location',
      ok: false,
      message: `workgroup ${s.workgroup} has no query results location and CARTOGRAPHER_ATHENA_OUTPUT is not set: set one (s3://bucket/prefix/).`,
    });
  } else {
    const where =
      config.EnforceWorkGroupConfiguration && own
        ? `${own} (enforced by the workgroup)`
        : (s.outputLocation ?? own);
    checks.push({ name: 'output location', ok: true, message: `query results go to ${where}` });
  }
  const engine = config.EngineVersion?.EffectiveEngineVersion ?? 'unknown';
  checks.push(
    /3/.test(engine)
      ? { name: 'engine', ok: true, message: `${engine}` }
      : {
          name: 'engine',
          ok: false,
          message: `workgroup ${s.workgroup} runs ${engine}: the queries need Athena engine version 3 (json_format of structs); upgrade the workgroup.`,
        },
  );
  return checks;
}
