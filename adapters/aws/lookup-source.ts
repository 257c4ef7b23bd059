/**
 * CloudTrail LookupEvents as a RecordSource: management events of the last 90 days, no setup needed.
 *
 * One query fans out over every (account, region) at once: a console session touches many regions, and IAM and
 * other global services log to us-east-1. Each (account, region) keeps its own budget of 2 requests per second
 * (the AWS quota); throttling answers are waited out with backoff and jitter, never turned into a failure.
 * LookupEvents takes a single lookup attribute, so the most selective one is sent and the rest is filtered here.
 * Pages arrive newest first and interleaved across regions, so records are collected (up to the event cap) and
 * handed on in time order.
 */
import { setMaxListeners } from 'node:events';
import {
  CloudTrailClient,
  type CloudTrailClientConfig,
  type LookupAttribute,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { type CloudTrailRecord, CloudTrailRecordSchema, type Origin } from '../../engine/record.ts';
import type { ReadOptions, RecordSource, SourceItem, SourceQuery } from '../../engine/source.ts';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';
import { type CredentialProvider, createCredentialResolver, type MemberAccount } from './credentials.ts';
import { isAbort, isThrottling, isTransient, SourceError, toSourceError } from './errors.ts';
import { lookupUsernameFor, matchesQuery, type QueryField } from './query-match.ts';
import { backoffMs, type RateLimiterPool, sharedLimiterPool, sleep } from './rate-limiter.ts';

export interface LookupSourceOptions {
  /** Regions to query when the query names none. */
  regions: readonly string[];
  /** Member accounts (with roles to assume); empty: only the account of the default credentials. */
  accounts?: readonly MemberAccount[];
  /** Region for STS (assume role). */
  homeRegion?: string;
  roleSessionName?: string;
  /** Stop after this many records and report `truncated` (a query's own `maxEvents` can only lower it). */
  maxEvents?: number;
  /** LookupEvents requests per second per account and region (AWS quota: 2). */
  requestsPerSecond?: number;
  /** Give up after this long and return what was found, marked truncated. */
  timeoutMs?: number;
  /** Spacing margin of the rate limiter (see rate-limiter.ts). */
  rateMarginMs?: number;
  /** Rate limiters per account+region; default: shared by every lookup source in the process (see rate-limiter.ts). */
  limiters?: RateLimiterPool;
  /** Extra SDK client settings (e.g. `credentials`, `endpoint`, `requestHandler`), mostly for tests. */
  clientConfig?: Partial<CloudTrailClientConfig>;
}

/** AWS returns at most 50 events per LookupEvents page. */
const PAGE_SIZE = 50;
/** Retries for 5xx and network errors (throttling is retried without limit). */
const TRANSIENT_RETRIES = 4;
const LOOKUP_RETENTION_MS = 90 * 24 * 3600_000;

interface Target {
  account: MemberAccount | undefined;
  region: string;
  /** Names the target in origins and messages: `us-east-1` or `111122223333/us-east-1`. */
  label: string;
}

interface Pushdown {
  attribute?: LookupAttribute;
  applied: Set<QueryField>;
  /** Short description for progress lines, e.g. `ASIATFQR…` or `user alice`. */
  subject: string;
}

export function createLookupSource(options: LookupSourceOptions): RecordSource {
  const resolveCredentials = createCredentialResolver({
    region: options.homeRegion ?? options.regions[0] ?? 'us-east-1',
    roleSessionName: options.roleSessionName,
  });
  const limiters =
    options.limiters ??
    sharedLimiterPool({ limit: options.requestsPerSecond ?? 2, marginMs: options.rateMarginMs });
  return {
    name: 'lookup',
    read: (query, readOptions) => readLookup(query, readOptions ?? {}, options, resolveCredentials, limiters),
  };
}

/** One lookup in progress: what every account-region's reader adds to, and the signal that ends them all. */
interface LookupRun {
  query: SourceQuery;
  options: LookupSourceOptions;
  pushdown: ReturnType<typeof choosePushdown>;
  cap: number;
  controller: AbortController;
  records: { record: CloudTrailRecord; origin: Origin }[];
  rejected: SourceItem[];
  pages: number;
  regionsDone: number;
  capped: boolean;
  clients: CloudTrailClient[];
  progress(extra?: string): void;
}

async function* readLookup(
  query: SourceQuery,
  { signal, onProgress }: ReadOptions,
  options: LookupSourceOptions,
  resolveCredentials: (a: MemberAccount) => CredentialProvider | undefined,
  limiters: RateLimiterPool,
): AsyncGenerator<SourceItem> {
  const targets = planTargets(query, options);
  const run = startRun(query, options, targets, onProgress);
  const { controller } = run;
  // Every in-flight request, back-off and limiter wait listens on this one signal: one set per account-region.
  setMaxListeners(10 + targets.length * 4, controller.signal);
  const onCallerAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (signal?.aborted) onCallerAbort();
  let timedOut = false;
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new Error('lookup time-out'));
        }, options.timeoutMs)
      : undefined;
  let fatal: SourceError | undefined;
  try {
    await Promise.all(
      targets.map((t) =>
        runTarget(run, t, resolveCredentials, limiters)
          .then(() => {
            run.regionsDone++;
            run.progress();
          })
          .catch((err) => {
            if (isAbort(err, controller.signal)) return;
            fatal ??=
              err instanceof SourceError
                ? err
                : toSourceError(err, { source: 'lookup', action: 'cloudtrail:LookupEvents' });
            // One unusable answer (expired credentials, access denied) ends the whole query: the other
            // regions would fail the same way, and a partial answer would look like "nothing happened".
            controller.abort(fatal);
          }),
      ),
    );
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
    for (const c of run.clients) c.destroy();
  }
  signal?.throwIfAborted();
  if (fatal) throw fatal;
  yield* finish(run, targets.length, timedOut);
}

function startRun(
  query: SourceQuery,
  options: LookupSourceOptions,
  targets: Target[],
  onProgress: ReadOptions['onProgress'],
): LookupRun {
  const pushdown = choosePushdown(query, options.accounts?.length ? new Set(['accounts']) : new Set());
  const accountsCount = new Set(targets.map((t) => t.account?.id ?? '')).size;
  const regionCount = new Set(targets.map((t) => t.region)).size;
  const scope = `${accountsCount > 1 ? `${accountsCount} accounts × ` : ''}${regionCount} region${regionCount === 1 ? '' : 's'}`;
  const run: LookupRun = {
    query,
    options,
    pushdown,
    cap: Math.min(query.maxEvents ?? Number.POSITIVE_INFINITY, options.maxEvents ?? 10_000),
    controller: new AbortController(),
    records: [],
    rejected: [],
    pages: 0,
    regionsDone: 0,
    capped: false,
    clients: [],
    progress: (extra = '') =>
      onProgress?.({
        message: `Looking up ${pushdown.subject} in ${scope}: ${run.records.length} events, ${run.pages} pages, ${run.regionsDone}/${targets.length} ${accountsCount > 1 ? 'account-regions' : 'regions'} done${extra}`,
        records: run.records.length,
        pages: run.pages,
        regionsDone: run.regionsDone,
        regionsTotal: targets.length,
      }),
  };
  if (query.since && query.since.getTime() < Date.now() - LOOKUP_RETENTION_MS) {
    run.progress(' (LookupEvents keeps 90 days; use the Athena source for older events)');
  }
  return run;
}

/** Records in time order, then what was refused, then why the answer is incomplete (if it is). */
function* finish(run: LookupRun, targets: number, timedOut: boolean): Generator<SourceItem> {
  run.records.sort((a, b) => Date.parse(a.record.eventTime) - Date.parse(b.record.eventTime));
  for (const r of run.records) yield { kind: 'record', record: r.record, origin: r.origin };
  yield* run.rejected;
  if (run.capped) {
    yield {
      kind: 'truncated',
      reason: `stopped at ${run.cap} events (event cap, CARTOGRAPHER_LOOKUP_MAX_EVENTS); narrow the time range or raise the cap`,
    };
  } else if (timedOut) {
    yield {
      kind: 'truncated',
      reason: `stopped after ${(run.options.timeoutMs ?? 0) / 1000} s (CARTOGRAPHER_LOOKUP_TIMEOUT) with ${run.regionsDone}/${targets} regions complete`,
    };
  }
}

/** One account-region: pages of LookupEvents until the end, the cap or the end of the whole lookup. */
async function runTarget(
  run: LookupRun,
  target: Target,
  resolveCredentials: (a: MemberAccount) => CredentialProvider | undefined,
  limiters: RateLimiterPool,
): Promise<void> {
  const client = instrumentAwsClient(
    new CloudTrailClient({
      region: target.region,
      credentials: target.account ? resolveCredentials(target.account) : undefined,
      // Retries are ours: the rate limiter must see every attempt, and throttling must never end a query.
      maxAttempts: 1,
      ...run.options.clientConfig,
    }),
  );
  run.clients.push(client);
  const limiter = limiters.for(`${target.account?.id ?? 'default'}/${target.region}`);
  const { controller, query, pushdown } = run;
  let nextToken: string | undefined;
  let position = 0;
  let throttles = 0;
  let transient = 0;
  for (;;) {
    if (run.records.length >= run.cap) {
      run.capped = true;
      return;
    }
    const done = await limiter.acquire(controller.signal);
    let page: LookupEventsCommandOutput;
    try {
      page = await client.send(
        new LookupEventsCommand({
          LookupAttributes: pushdown.attribute ? [pushdown.attribute] : undefined,
          StartTime: query.since,
          EndTime: query.until,
          MaxResults: PAGE_SIZE,
          NextToken: nextToken,
        }),
        { abortSignal: controller.signal },
      );
    } catch (err) {
      done();
      if (isAbort(err, controller.signal)) throw err;
      if (isThrottling(err)) {
        limiter.penalise();
        await sleep(backoffMs(throttles++, 500, 20_000), controller.signal);
        continue;
      }
      if (isTransient(err) && transient < TRANSIENT_RETRIES) {
        await sleep(backoffMs(transient++), controller.signal);
        continue;
      }
      if (regionDisabled(run, target, err)) return;
      throw toSourceError(err, {
        source: 'lookup',
        action: 'cloudtrail:LookupEvents',
        region: target.region,
        account: target.account?.id,
      });
    }
    done();
    throttles = 0;
    transient = 0;
    run.pages++;
    position = takePage(run, target, page, position);
    run.progress();
    nextToken = page.NextToken;
    if (!nextToken) return;
  }
}

/** A region the account has not enabled is reported as refused, and the others go on. */
function regionDisabled(run: LookupRun, target: Target, err: unknown): boolean {
  const e = toSourceError(err, {
    source: 'lookup',
    action: 'cloudtrail:LookupEvents',
    region: target.region,
    account: target.account?.id,
  });
  if (e.kind !== 'region-disabled') return false;
  run.rejected.push({
    kind: 'rejected',
    origin: { file: `lookup:${target.label}` },
    reason: `${e.summary} ${e.hint}`,
  });
  return true;
}

/** Adds a page's events that match the query (up to the cap); returns the position of its last event. */
function takePage(run: LookupRun, target: Target, page: LookupEventsCommandOutput, start: number): number {
  let position = start;
  for (const event of page.Events ?? []) {
    position++;
    const origin: Origin = { file: `lookup:${target.label}`, position };
    const parsed = parseEvent(event.CloudTrailEvent);
    if ('reason' in parsed) {
      run.rejected.push({ kind: 'rejected', origin, reason: parsed.reason });
      continue;
    }
    if (!matchesQuery(parsed.record, run.query, run.pushdown.applied)) continue;
    if (run.records.length >= run.cap) {
      run.capped = true;
      break;
    }
    run.records.push({ record: parsed.record, origin });
  }
  return position;
}

function planTargets(query: SourceQuery, options: LookupSourceOptions): Target[] {
  const regions = [...new Set(query.regions?.length ? query.regions : options.regions)];
  if (regions.length === 0) {
    throw new SourceError(
      'No regions to look up.',
      'invalid-request',
      'Set CARTOGRAPHER_REGIONS or pass --regions.',
    );
  }
  const configured = options.accounts ?? [];
  let accounts: (MemberAccount | undefined)[] = configured.length ? [...configured] : [undefined];
  if (query.accounts?.length && configured.length) {
    const unknown = query.accounts.filter((id) => !configured.some((a) => a.id === id));
    if (unknown.length) {
      throw new SourceError(
        `Account ${unknown.join(', ')} is not configured for the lookup source.`,
        'invalid-request',
        'Add it with its role to CARTOGRAPHER_ACCOUNTS (or the accounts list of the config file).',
      );
    }
    accounts = configured.filter((a) => query.accounts!.includes(a.id));
  }
  return accounts.flatMap((account) =>
    regions.map((region) => ({ account, region, label: account ? `${account.id}/${region}` : region })),
  );
}

/**
 * The one lookup attribute to send, most selective first: access key, then user name, then a single event name,
 * then the read-only flag. Time range always goes as StartTime/EndTime.
 */
export function choosePushdown(query: SourceQuery, alreadyApplied: Set<QueryField> = new Set()): Pushdown {
  const applied = new Set<QueryField>(alreadyApplied);
  applied.add('time');
  if (query.accessKeyId) {
    applied.add('accessKeyId');
    return {
      attribute: { AttributeKey: 'AccessKeyId', AttributeValue: query.accessKeyId },
      applied,
      subject: query.accessKeyId,
    };
  }
  const username = query.user ? lookupUsernameFor(query.user) : undefined;
  if (query.user && username) {
    // A name is matched exactly as CloudTrail matches it; an ARN is re-checked here (the name alone is ambiguous).
    if (!query.user.startsWith('arn:')) applied.add('user');
    return {
      attribute: { AttributeKey: 'Username', AttributeValue: username },
      applied,
      subject: `user ${query.user}`,
    };
  }
  const subject = query.user ? `user ${query.user}` : 'all events';
  if (query.eventNames?.length === 1) {
    applied.add('eventNames');
    return {
      attribute: { AttributeKey: 'EventName', AttributeValue: query.eventNames[0]! },
      applied,
      subject,
    };
  }
  if (query.readOnly !== undefined) {
    applied.add('readOnly');
    return {
      attribute: { AttributeKey: 'ReadOnly', AttributeValue: String(query.readOnly) },
      applied,
      subject,
    };
  }
  return { applied, subject };
}

function parseEvent(text: string | undefined): { record: CloudTrailRecord } | { reason: string } {
  if (!text) return { reason: 'LookupEvents returned an event without CloudTrailEvent' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { reason: `CloudTrailEvent is not valid JSON: ${(err as Error).message}` };
  }
  const parsed = CloudTrailRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { reason: `not a CloudTrail record: ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
  }
  return { record: parsed.data };
}
