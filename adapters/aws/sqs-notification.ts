/**
 * What an SQS message from a CloudTrail bucket says: which S3 objects were written. Four shapes arrive:
 *
 *   - an S3 event notification `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name"},"object":{"key"}}}]}`
 *     (keys URL-encoded, spaces as `+`), or S3's `s3:TestEvent` when the notification is set up;
 *   - the same inside an SNS envelope `{"Type":"Notification","Message":"<json>"}` (fan-out through a topic);
 *   - CloudTrail's own SNS delivery notice inside that envelope `{"s3Bucket":"…","s3ObjectKey":["…"]}`;
 *   - an EventBridge event `{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket","object"}}`
 *     (keys as they are).
 *
 * Then which of those objects are CloudTrail log files: digest files, CloudTrail Insights files, folder
 * markers and anything else in the bucket are skipped with the reason.
 */

export interface S3ObjectRef {
  bucket: string;
  key: string;
  size?: number;
}

export type Notification =
  | { kind: 'objects'; objects: S3ObjectRef[]; envelope: 's3' | 'sns' | 'eventbridge' | 'cloudtrail-sns' }
  /** A message that is about no object (S3's test event, an SNS subscription confirmation, a delete). */
  | { kind: 'ignore'; reason: string }
  | { kind: 'invalid'; reason: string };

type Json = Record<string, unknown>;

export function parseNotification(body: string): Notification {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { kind: 'invalid', reason: `message body is not JSON (${(err as Error).message})` };
  }
  if (!isObject(value)) return { kind: 'invalid', reason: 'message body is not a JSON object' };
  if (value.Type === 'Notification' && typeof value.Message === 'string') {
    const inner = parseNotification(value.Message);
    if (inner.kind === 'objects' && inner.envelope === 's3') return { ...inner, envelope: 'sns' };
    return inner;
  }
  if (typeof value.Type === 'string' && /Subscription|Unsubscribe/.test(value.Type)) {
    return { kind: 'ignore', reason: `SNS ${value.Type}` };
  }
  if (value.Event === 's3:TestEvent') return { kind: 'ignore', reason: 'S3 test event' };
  if (Array.isArray(value.Records)) return fromS3Records(value.Records);
  if (typeof value.s3Bucket === 'string' && Array.isArray(value.s3ObjectKey)) {
    const bucket = value.s3Bucket;
    const objects = value.s3ObjectKey
      .filter((k): k is string => typeof k === 'string')
      .map((key) => ({ bucket, key }));
    return { kind: 'objects', objects, envelope: 'cloudtrail-sns' };
  }
  if (value.source === 'aws.s3' && isObject(value.detail)) return fromEventBridge(value);
  return { kind: 'invalid', reason: 'not an S3 event notification (S3, SNS or EventBridge)' };
}

function fromS3Records(records: unknown[]): Notification {
  const objects: S3ObjectRef[] = [];
  let other = 0;
  for (const r of records) {
    const s3 = isObject(r) && isObject(r.s3) ? r.s3 : undefined;
    const bucket = s3 && isObject(s3.bucket) ? s3.bucket.name : undefined;
    const object = s3 && isObject(s3.object) ? s3.object : undefined;
    if (!isObject(r) || typeof bucket !== 'string' || !object || typeof object.key !== 'string') {
      return { kind: 'invalid', reason: 'S3 event record without s3.bucket.name and s3.object.key' };
    }
    if (typeof r.eventName === 'string' && !r.eventName.startsWith('ObjectCreated:')) {
      other++;
      continue;
    }
    const ref: S3ObjectRef = { bucket, key: decodeS3Key(object.key) };
    if (typeof object.size === 'number') ref.size = object.size;
    objects.push(ref);
  }
  if (objects.length === 0 && other > 0)
    return { kind: 'ignore', reason: 'S3 events other than ObjectCreated' };
  return { kind: 'objects', objects, envelope: 's3' };
}

function fromEventBridge(value: Json): Notification {
  const detail = value.detail as Json;
  if (value['detail-type'] !== 'Object Created') {
    return { kind: 'ignore', reason: `EventBridge ${String(value['detail-type'])}` };
  }
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : undefined;
  if (typeof bucket !== 'string' || !object || typeof object.key !== 'string') {
    return {
      kind: 'invalid',
      reason: 'EventBridge S3 event without detail.bucket.name and detail.object.key',
    };
  }
  const ref: S3ObjectRef = { bucket, key: object.key };
  if (typeof object.size === 'number') ref.size = object.size;
  return { kind: 'objects', objects: [ref], envelope: 'eventbridge' };
}

/** S3 event notifications URL-encode keys with `+` for spaces. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/**
 * Why an object is not a CloudTrail log file to analyse, or undefined when it is one:
 * `…/AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`.
 */
export function skipReason(key: string): string | undefined {
  if (key === '' || key.endsWith('/')) return 'folder marker';
  if (/(^|\/)CloudTrail-Digest\//.test(key)) return 'CloudTrail digest file';
  if (/(^|\/)CloudTrail-Insight\//.test(key)) return 'CloudTrail Insights file';
  if (!/(^|\/)CloudTrail\//.test(key)) return 'not under a CloudTrail/ log prefix';
  if (!/\.json(\.gz)?$/i.test(key)) return 'not a .json or .json.gz log file';
  return undefined;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
