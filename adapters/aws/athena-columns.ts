/**
 * The CloudTrail table's columns, in one place: the DDL (`cartographer athena ddl`), the select list, the check
 * (`cartographer athena check`), the row reader (athena-rows.ts), the pushdown's field → column mapping, and any other
 * definition of the table (a Glue table in CloudFormation) can be checked against `CLOUDTRAIL_COLUMNS`.
 *
 * Names are CloudTrail's own spelling (camelCase, `ARN` in resources); Athena lower-cases them. The list follows the
 * record contents CloudTrail documents for management, data and network activity events (event version 1.11),
 * `userIdentity` included (its `inScopeOf`, `onBehalfOf`, `credentialId`, `identityProvider`, `assumedRoot`).
 * CloudTrail's JSON objects whose shape varies per API (`requestParameters`, `responseElements`, …) are `json`:
 * STRING columns holding the JSON text.
 */

export type ColumnType =
  | { kind: 'string' }
  | { kind: 'json' }
  | { kind: 'map' }
  | { kind: 'struct'; fields: Column[] }
  | { kind: 'array'; of: ColumnType };

export interface Column {
  /** CloudTrail's spelling. */
  name: string;
  type: ColumnType;
}

const S: ColumnType = { kind: 'string' };
const J: ColumnType = { kind: 'json' };
const col = (name: string, type: ColumnType = S): Column => ({ name, type });
const struct = (name: string, ...fields: Column[]): Column => ({ name, type: { kind: 'struct', fields } });
const strings = (...names: string[]): Column[] => names.map((n) => col(n));

const SESSION_ISSUER = struct(
  'sessionIssuer',
  ...strings('type', 'principalId', 'arn', 'accountId', 'userName'),
);

export const CLOUDTRAIL_COLUMNS: readonly Column[] = [
  col('eventVersion'),
  struct(
    'userIdentity',
    ...strings('type', 'principalId', 'arn', 'accountId', 'invokedBy', 'accessKeyId', 'userName'),
    struct('onBehalfOf', ...strings('userId', 'identityStoreArn')),
    struct(
      'sessionContext',
      struct('attributes', ...strings('mfaAuthenticated', 'creationDate')),
      SESSION_ISSUER,
      col('ec2RoleDelivery'),
      struct('webIdFederationData', col('federatedProvider'), col('attributes', { kind: 'map' })),
      col('sourceIdentity'),
      col('assumedRoot'),
    ),
    col('identityProvider'),
    col('credentialId'),
    struct('inScopeOf', ...strings('sourceArn', 'sourceAccount', 'issuerType', 'credentialsIssuedTo')),
  ),
  ...strings('eventTime', 'eventSource', 'eventName', 'awsRegion', 'sourceIPAddress', 'userAgent'),
  ...strings('errorCode', 'errorMessage'),
  col('requestParameters', J),
  col('responseElements', J),
  col('additionalEventData', J),
  ...strings('requestID', 'eventID', 'readOnly'),
  {
    name: 'resources',
    type: { kind: 'array', of: { kind: 'struct', fields: strings('ARN', 'accountId', 'type') } },
  },
  ...strings('eventType', 'apiVersion', 'managementEvent', 'recipientAccountId'),
  col('serviceEventDetails', J),
  ...strings('sharedEventID', 'vpcEndpointId', 'vpcEndpointAccountId', 'eventCategory'),
  struct('addendum', ...strings('reason', 'updatedFields', 'originalRequestID', 'originalEventID')),
  col('sessionCredentialFromConsole'),
  col('edgeDeviceDetails', J),
  struct('tlsDetails', ...strings('tlsVersion', 'cipherSuite', 'clientProvidedHostHeader')),
];

/** Partition columns per table style (athena-sql.ts `TableStyle`). */
export const PARTITION_COLUMNS = {
  projection: ['account', 'region', 'timestamp'],
  partitioned: ['account', 'region', 'year', 'month', 'day'],
  none: [],
} as const;

/** Hive DDL type of a column (`STRUCT<type: STRING, …>`). */
export function hiveType(t: ColumnType, indent = ''): string {
  switch (t.kind) {
    case 'string':
    case 'json':
      return 'STRING';
    case 'map':
      return 'MAP<STRING, STRING>';
    case 'array':
      return `ARRAY<${hiveType(t.of, indent)}>`;
    case 'struct': {
      const inner = `${indent}  `;
      const fields = t.fields.map((f) => `${inner}${f.name.toLowerCase()}: ${hiveType(f.type, inner)}`);
      return `STRUCT<\n${fields.join(',\n')}\n${indent}>`;
    }
  }
}

/** The column list of the CREATE TABLE statement. */
export function columnDefinitions(): string {
  return CLOUDTRAIL_COLUMNS.map((c) => `  ${c.name.toLowerCase()} ${hiveType(c.type, '  ')}`).join(',\n');
}

/**
 * The select list: every column, complex ones as JSON text (`json_format(CAST(… AS JSON))`) so nested fields keep
 * their names and types instead of Hive's `{key=value, …}` rendering.
 */
export function selectList(prefix = ''): string[] {
  return CLOUDTRAIL_COLUMNS.map((c) => {
    const name = c.name.toLowerCase();
    const complex = c.type.kind === 'struct' || c.type.kind === 'array' || c.type.kind === 'map';
    return complex ? `json_format(CAST(${prefix}${name} AS JSON)) AS ${name}` : `${prefix}${name}`;
  });
}

/** Every field name at any depth (CloudTrail spelling), for turning Athena's lower-case names back. */
export function allFieldNames(): string[] {
  const out = new Set<string>();
  const walk = (cols: readonly Column[]) => {
    for (const c of cols) {
      out.add(c.name);
      const t = c.type.kind === 'array' ? c.type.of : c.type;
      if (t.kind === 'struct') walk(t.fields);
    }
  };
  walk(CLOUDTRAIL_COLUMNS);
  return [...out];
}

/**
 * Where a record field path (a rule's `userIdentity.sessionContext.sessionIssuer.arn`) lives in the table:
 *   scalar  a STRING column or struct field: the SQL expression holds exactly the value
 *   json    inside a JSON-text column (`requestParameters.x.y`): only the column's text is available
 *   complex a struct, array or map (or a path through an array): only its JSON text is available
 * Undefined: no such column (the path is not CloudTrail's, or spelt differently).
 */
export type ColumnRef = { kind: 'scalar' | 'json' | 'complex'; sql: string };

export function columnFor(path: string): ColumnRef | undefined {
  const parts = path
    .replace(/\[\d*\]/g, '')
    .split('.')
    .filter(Boolean);
  let cols: readonly Column[] = CLOUDTRAIL_COLUMNS;
  let sql = '';
  for (let i = 0; i < parts.length; i++) {
    const c = cols.find((x) => x.name === parts[i]);
    if (!c) return undefined;
    sql = sql ? `${sql}.${c.name.toLowerCase()}` : c.name.toLowerCase();
    const last = i === parts.length - 1;
    if (c.type.kind === 'string') return last ? { kind: 'scalar', sql } : undefined;
    if (c.type.kind === 'json') return { kind: 'json', sql };
    if (c.type.kind === 'struct' && !last) {
      cols = c.type.fields;
      continue;
    }
    // A whole struct, an array (walked) or a map: compare against its JSON text.
    const root = sql.split('.')[0]!;
    return { kind: 'complex', sql: `json_format(CAST(${root} AS JSON))` };
  }
  return undefined;
}
