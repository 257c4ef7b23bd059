/**
 * Property tests (fast-check): the JSON splitter gives the same records for any split of the byte stream,
 * the record normaliser never throws and never loses a record that has a time and a name, the Sigma
 * condition parser agrees with the boolean algebra it implements, and no session token, password or
 * secret value survives the redactor at any nesting.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ATTACK_TABLE } from '../../engine/attack.ts';
import { compileSigmaRule, SigmaUnsupported } from '../../engine/detections/sigma.ts';
import { toEngineEvent } from '../../engine/events.ts';
import { JsonSplitter, type Piece } from '../../engine/ingest/json-splitter.ts';
import { normaliseRecord } from '../../engine/ingest/normalise-record.ts';
import { checkRecord } from '../../engine/ingest/record-check.ts';
import { recordsFromValue } from '../../engine/ingest/records-from-value.ts';
import { type CloudTrailRecord, CloudTrailRecordSchema } from '../../engine/record.ts';
import { REDACTED, redact } from '../../engine/redact.ts';

type Obj = Record<string, unknown>;
const demo: Obj[] = readdirSync('demo/invictus')
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records);

// ---- JSON splitter --------------------------------------------------------------------------------

/** The pieces' parsed values (and errors by place) for one text fed in the given cut points. */
function split(text: string, cuts: number[], maxRecordChars?: number): string[] {
  const splitter = new JsonSplitter(maxRecordChars ? { maxRecordChars } : {});
  const pieces: Piece[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    pieces.push(...splitter.push(text.slice(at, cut)));
    at = cut;
  }
  pieces.push(...splitter.push(text.slice(at)));
  pieces.push(...splitter.end());
  return pieces.map((p) =>
    p.kind === 'value'
      ? `${p.line}/${p.position}:${canonical(p.text)}`
      : `${p.line}/${p.position}!${p.reason}`,
  );
}

/** Parsed and re-serialised (so whitespace inside a piece does not matter), or the text when it is not JSON. */
function canonical(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return `(not JSON) ${text}`;
  }
}

/** Records with awkward text: quotes, backslashes, brackets and braces in strings, non-ASCII, surrogates. */
const awkwardRecord = fc
  .record({
    base: fc.constantFrom(...demo.slice(0, 40)),
    note: fc.string({
      unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '\n', 'ü', '✓', '😀', 'a', ' '),
    }),
    n: fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constant(null),
      fc.boolean(),
    ),
  })
  .map(({ base, note, n }) => ({
    ...base,
    errorMessage: note,
    requestParameters: { note, n, list: [note, n] },
  }));

const layouts = {
  records: (rs: Obj[]) => JSON.stringify({ Records: rs }),
  recordsPretty: (rs: Obj[]) => JSON.stringify({ NextToken: 'x"]}', Records: rs }, null, 2),
  array: (rs: Obj[]) => JSON.stringify(rs),
  lines: (rs: Obj[]) => rs.map((r) => JSON.stringify(r)).join('\n'),
  linesCrlf: (rs: Obj[]) => `${rs.map((r) => JSON.stringify(r)).join('\r\n')}\r\n`,
  recordsPerLine: (rs: Obj[]) => rs.map((r) => JSON.stringify({ Records: [r] })).join('\n'),
};

describe('JSON splitter', () => {
  it('any split of the stream gives the same records (every layout, awkward strings)', () => {
    fc.assert(
      fc.property(
        fc.array(awkwardRecord, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...(Object.keys(layouts) as (keyof typeof layouts)[])),
        fc.array(fc.nat(), { maxLength: 12 }),
        (records, layout, rawCuts) => {
          const text = layouts[layout](records);
          const cuts = rawCuts.map((c) => c % (text.length + 1));
          const whole = split(text, []);
          expect(split(text, cuts)).toEqual(whole);
          // And what it finds is exactly the records written.
          const values = whole.filter((p) => !p.includes('!'));
          expect(values).toHaveLength(layout === 'recordsPerLine' ? records.length : records.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any split gives the same pieces and errors on damaged input too', () => {
    fc.assert(
      fc.property(
        fc.array(awkwardRecord, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (records, cutAt, dropLen, rawCuts) => {
          const good = layouts.lines(records);
          const from = cutAt % (good.length + 1);
          const text = good.slice(0, from) + good.slice(from + (dropLen % 40));
          const cuts = rawCuts.map((c) => c % (text.length + 1));
          expect(split(text, cuts)).toEqual(split(text, []));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with a record size cap, any split refuses the same records at the same places', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...demo.slice(0, 10)), fc.nat({ max: 3000 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.constantFrom<keyof typeof layouts>('records', 'array', 'lines'),
        fc.array(fc.nat(), { maxLength: 12 }),
        (specs, layout, rawCuts) => {
          const records = specs.map(([r, pad]) => ({ ...r, pad: 'x'.repeat(pad) }));
          const text = layouts[layout](records);
          const cuts = rawCuts.map((c) => c % (text.length + 1));
          const cap = 3000;
          const got = split(text, cuts, cap);
          expect(got).toEqual(split(text, [], cap));
          const refused = got.filter((p) => p.includes('!record too large'));
          const tooBig = records.filter((r) => JSON.stringify(r, null, 0).length > cap).length;
          // A record that is over the cap only by the layout's spacing counts as over; none under it does.
          expect(refused.length).toBeGreaterThanOrEqual(tooBig);
          expect(got.length).toBe(records.length);
          expect(got.filter((p) => p.includes('(not JSON)'))).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- record normaliser ---------------------------------------------------------------------------

/** Any JSON value, including the odd spellings exporters use. */
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.constantFrom(
      'true',
      'FALSE',
      '1',
      '{"a":1}',
      '[{"arn":"x"}]',
      'null',
      '',
      '2023-07-10 11:45:00',
      '1688989500',
    ),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
}));

const FIELD_NAMES = [
  'eventTime',
  'eventtime',
  'eventName',
  'eventname',
  'eventSource',
  'eventsource',
  'userIdentity',
  'useridentity',
  'readOnly',
  'readonly',
  'managementEvent',
  'resources',
  'requestParameters',
  'requestparameters',
  'responseElements',
  'additionalEventData',
  'errorCode',
  'sessionCredentialFromConsole',
  'recipientAccountId',
  'eventVersion',
  'tlsDetails',
  'p_event_time',
  '@timestamp',
  '__proto__',
  'constructor',
];

/** A real record with some fields replaced by any value (or a variant of a sensible one). */
const mangledRecord = fc
  .record({
    base: fc.constantFrom(...demo.slice(0, 60)),
    changes: fc.dictionary(fc.constantFrom(...FIELD_NAMES), jsonish.value, { maxKeys: 6 }),
    identity: fc.dictionary(
      fc.constantFrom(
        'type',
        'arn',
        'accountId',
        'accountid',
        'invokedBy',
        'sessionContext',
        'sessioncontext',
      ),
      jsonish.value,
      { maxKeys: 3 },
    ),
  })
  .map(({ base, changes, identity }) => {
    const r: Obj = { ...base, ...changes };
    if (Object.keys(identity).length) r.userIdentity = { ...(base.userIdentity as Obj), ...identity };
    return JSON.parse(JSON.stringify(r)) as Obj;
  });

describe('record normaliser', () => {
  it('never throws, and whatever it keeps satisfies the typed record schema', () => {
    fc.assert(
      fc.property(fc.oneof(mangledRecord, jsonish.value), (value) => {
        const before = JSON.stringify(value);
        const result = checkRecord(value);
        if (result.ok) {
          expect(CloudTrailRecordSchema.safeParse(result.record).success).toBe(true);
          expect(Number.isFinite(toEngineEvent(result.record, 0).time)).toBe(true);
        } else expect(result.reason.length).toBeGreaterThan(0);
        // The input is never changed (records are copied, never edited in place).
        expect(JSON.stringify(value)).toBe(before);
        if (value && typeof value === 'object' && !Array.isArray(value)) normaliseRecord(value as Obj);
      }),
      { numRuns: 1500 },
    );
  });

  it('never loses a record that has a time and a name', () => {
    const time = fc.oneof(
      fc
        .date({ min: new Date('1990-01-01Z'), max: new Date('2090-01-01Z'), noInvalidDate: true })
        .chain((d) =>
          fc.constantFrom(
            d.toISOString(),
            `${d.toISOString().slice(0, 19)}Z`,
            d.toISOString().replace('T', ' ').replace('Z', ''),
            d.toISOString().replace('Z', '+00:00'),
            d.getTime(),
            Math.floor(d.getTime() / 1000),
            String(Math.floor(d.getTime() / 1000)),
          ),
        ),
    );
    const name = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '' && s === s.trim());
    fc.assert(
      fc.property(
        mangledRecord,
        time,
        name,
        fc.constantFrom('eventTime', 'eventtime', 'p_event_time', '@timestamp'),
        fc.boolean(),
        (r, t, n, timeKey, lower) => {
          const record: Obj = {};
          for (const k in r)
            if (!/^(eventtime|eventname|p_event_time|@timestamp)$/i.test(k)) record[k] = r[k];
          record[timeKey] = t;
          record[lower ? 'eventname' : 'eventName'] = n;
          const result = checkRecord(record);
          expect(result.ok, result.ok ? '' : result.reason).toBe(true);
          if (!result.ok) return;
          expect(result.record.eventName).toBe(n);
          expect(result.record.eventTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('containers (Records, Lake rows, EventBridge, LookupEvents) never lose the records inside', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...demo), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (records, k) => {
          const wrap = [
            (r: Obj) => ({ eventJson: JSON.stringify(r) }),
            (r: Obj) => ({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.iam', detail: r }),
            (r: Obj) => ({ CloudTrailEvent: JSON.stringify(r), EventId: r.eventID }),
            (r: Obj) => ({ Records: r }),
            (r: Obj) => r,
          ][k % 5]!;
          const value = [{ Records: records.map(wrap) }, { QueryResultRows: records.map((r) => [wrap(r)]) }][
            k % 2
          ];
          const items = [...recordsFromValue(value, { file: 'x' })];
          expect(items.map((i) => (i.kind === 'record' ? i.record.eventID : i.kind))).toEqual(
            records.map((r) => r.eventID),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- Sigma condition parser -------------------------------------------------------------------------

type Expr = { op: 'sel'; i: number } | { op: 'not'; e: Expr } | { op: 'and' | 'or'; l: Expr; r: Expr };
const SEARCHES = ['sel_a', 'sel_b', 'filter_c', 'filter_d'];

const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ op: fc.constant('sel' as const), i: fc.nat({ max: 3 }) }),
    fc.record({ op: fc.constant('not' as const), e: tie('e') }),
    fc.record({ op: fc.constantFrom('and' as const, 'or' as const), l: tie('e'), r: tie('e') }),
  ),
})).e;

/** Writes the expression as a Sigma condition, fully parenthesised or leaning on precedence, in any case. */
function render(e: Expr, minimal: boolean, upper: boolean, parent = 0): string {
  const kw = (k: string) => (upper ? k.toUpperCase() : k);
  const level = e.op === 'or' ? 1 : e.op === 'and' ? 2 : 3;
  let s: string;
  if (e.op === 'sel') return SEARCHES[e.i]!;
  if (e.op === 'not') s = `${kw('not')} ${render(e.e, minimal, upper, 3)}`;
  else s = `${render(e.l, minimal, upper, level)} ${kw(e.op)} ${render(e.r, minimal, upper, level + 1)}`;
  return !minimal || level < parent ? `( ${s} )` : s;
}

function evaluate(e: Expr, truth: boolean[]): boolean {
  if (e.op === 'sel') return truth[e.i]!;
  if (e.op === 'not') return !evaluate(e.e, truth);
  return e.op === 'and'
    ? evaluate(e.l, truth) && evaluate(e.r, truth)
    : evaluate(e.l, truth) || evaluate(e.r, truth);
}

function sigmaRule(condition: string): string {
  return `title: Property rule
id: 00000000-0000-0000-0000-00000000fc01
logsource:
    product: aws
    service: cloudtrail
detection:
${SEARCHES.map((s, i) => `    ${s}:\n        requestParameters.f${i}: 'yes'`).join('\n')}
    condition: ${JSON.stringify(condition)}
level: medium
`;
}

describe('Sigma condition parser', () => {
  it('compiles any and/or/not/parentheses condition to the boolean function it writes', () => {
    fc.assert(
      fc.property(
        expr,
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        (e, minimal, upper, truth) => {
          const rule = compileSigmaRule(sigmaRule(render(e, minimal, upper)), 'p.yml', EMPTY_ATTACK_TABLE);
          const params = Object.fromEntries(truth.map((t, i) => [`f${i}`, t ? 'yes' : 'no']));
          const event = toEngineEvent(
            {
              eventTime: '2024-01-01T00:00:00Z',
              eventSource: 'iam.amazonaws.com',
              eventName: 'X',
              requestParameters: params,
            } as CloudTrailRecord,
            0,
          );
          expect(rule.match!(event)).toBe(evaluate(e, truth));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any token soup is compiled or refused with a message, never a crash', () => {
    const token = fc.constantFrom(
      'sel_a',
      'filter_c',
      'and',
      'or',
      'not',
      '(',
      ')',
      '1',
      'of',
      'all',
      'them',
      'sel_*',
      'nosuch',
      '2',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 9 }), (tokens) => {
        try {
          compileSigmaRule(sigmaRule(tokens.join(' ')), 'p.yml', EMPTY_ATTACK_TABLE);
        } catch (e) {
          const ok =
            e instanceof SigmaUnsupported ||
            /^condition '|missing `detection.condition`/.test((e as Error).message);
          expect(ok, (e as Error).stack).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---- redactor -----------------------------------------------------------------------------------------

const SECRET_KEYS = [
  'sessionToken',
  'SessionToken',
  'secretAccessKey',
  'SecretAccessKey',
  'password',
  'newPassword',
  'masterUserPassword',
  'dbPassword',
  'user_password',
  'SecretString',
  'x-amz-security-token',
  'X-Amz-Security-Token',
  'privateKey',
  'clientSecret',
  'refreshToken',
];
/** Secret values: random, so a survivor is found by searching for it. */
const secret = fc.stringMatching(/^[A-Za-z0-9+/]{16,40}$/).map((s) => `S3CR3T${s}`);
const plain = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));

/** A JSON tree with secrets under secret keys at any depth, inside arrays, objects and JSON-ish text. */
const secretTree: fc.Arbitrary<{ tree: unknown; secrets: string[] }> = fc.letrec<{
  node: { tree: unknown; secrets: string[] };
}>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    plain.map((p) => ({ tree: p, secrets: [] })),
    fc
      .tuple(fc.constantFrom(...SECRET_KEYS), secret, fc.constantFrom('value', 'array', 'object'))
      .map(([key, s, shape]) => ({
        tree: { [key]: shape === 'value' ? s : shape === 'array' ? [s] : { value: s } },
        secrets: [s],
      })),
    fc
      .tuple(
        secret,
        fc.constantFrom(
          'aws_secret_access_key = ',
          'SessionToken: ',
          'password=',
          '"password": "',
          'X-Amz-Security-Token=',
        ),
      )
      .map(([s, prefix]) => ({
        tree: `before ${prefix}${s} after`,
        secrets: [s],
      })),
    fc.stringMatching(/^[A-Za-z0-9+/]{40,80}$/).map((s) => {
      const token = `IQoJb3JpZ2luX2Vj${s}`;
      return { tree: `token was ${token}`, secrets: [token] };
    }),
    fc
      .array(tie('node'), { maxLength: 3 })
      .map((xs) => ({ tree: xs.map((x) => x.tree), secrets: xs.flatMap((x) => x.secrets) })),
    fc
      .dictionary(
        fc.constantFrom('requestParameters', 'responseElements', 'credentials', 'data', 'items', 'a'),
        tie('node'),
        { maxKeys: 3 },
      )
      .map((d) => ({
        tree: Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.tree])),
        secrets: Object.values(d).flatMap((v) => v.secrets),
      })),
  ),
})).node;

describe('redactor (engine/redact.ts)', () => {
  it('no session token, password or secret value survives, at any nesting', () => {
    fc.assert(
      fc.property(secretTree, ({ tree, secrets }) => {
        const out = JSON.stringify(redact(tree));
        for (const s of secrets) expect(out, `${s} in ${out}`).not.toContain(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps what is not secret (access key ids, names, structure)', () => {
    const tree = {
      userIdentity: { accessKeyId: 'ASIAEXAMPLE', userName: 'bob' },
      items: [1, 'two', { three: 3 }],
    };
    expect(redact(tree)).toEqual(tree);
    expect(redact({ password: 'x' })).toEqual({ password: REDACTED });
  });
});
