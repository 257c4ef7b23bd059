/**
 * CloudTrail delivery files for the queue tests and the bench, made from the real Invictus records in
 * demo/invictus (see demo/invictus/SOURCE.md): file i holds a slice of those records plus one successful
 * DeleteTrail record, every eventID suffixed with `-f<i>` so each file's findings are its own alerts. Gzipped and
 * named like CloudTrail names its objects. `expectedAlertKeys` runs the real detections over each file
 * alone, as the consumer does, to give the reference set the tests compare Slack against.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { alertKey } from '../../bot/scheduler/alert-key.ts';
import { loadStageFactory } from '../../compose/stages.ts';
import { SEVERITIES, type Severity } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { loadCloudTrailDir } from './aws-endpoint.ts';

export const BUCKET = 'org-cloudtrail-logs';
const ACCOUNT = '218007301253';
const REGION = 'us-east-1';

export interface DeliveryFile {
  key: string;
  body: Buffer;
  records: CloudTrailRecord[];
}

let demo: CloudTrailRecord[] | undefined;

function demoRecords(): CloudTrailRecord[] {
  demo ??= loadCloudTrailDir('demo/invictus');
  return demo;
}

export function objectKey(i: number, account = ACCOUNT): string {
  const minute = String(i % 60).padStart(2, '0');
  const hour = String(10 + (Math.floor(i / 60) % 14)).padStart(2, '0');
  const stamp = `20230710T${hour}${minute}Z`;
  return `AWSLogs/o-exampleorg/${account}/CloudTrail/${REGION}/2023/07/10/${account}_CloudTrail_${REGION}_${stamp}_${randomBytes(8).toString('hex')}.json.gz`;
}

/** `count` files of `perFile` demo records (plus the DeleteTrail record) each. */
export function buildDeliveryFiles(count: number, perFile = 20): DeliveryFile[] {
  const all = demoRecords();
  // A DeleteTrail that succeeded (a failed call is evidence of an attempt only: its findings are info).
  const trigger = all.find((r) => r.eventName === 'DeleteTrail' && !r.errorCode);
  if (!trigger) throw new Error('demo/invictus has no successful DeleteTrail record');
  const files: DeliveryFile[] = [];
  for (let i = 0; i < count; i++) {
    const start = (i * perFile) % Math.max(1, all.length - perFile);
    const records = [...all.slice(start, start + perFile), trigger].map((r) => ({
      ...r,
      eventID: `${r.eventID}-f${i}`,
    }));
    files.push({ key: objectKey(i), body: gzipSync(JSON.stringify({ Records: records })), records });
  }
  return files;
}

/** A delivery file of about `bytes` gzip bytes (records cycled from the demo, every eventID unique). */
export function buildLargeFile(bytes: number, tag: string): DeliveryFile {
  const all = demoRecords();
  const records: CloudTrailRecord[] = [];
  let body = Buffer.alloc(0);
  // Grow in steps, gzip to measure: a CloudTrail file compresses about 10:1.
  for (let step = 0; body.length < bytes; step++) {
    for (let j = 0; j < 2000; j++) {
      const r = all[(step * 2000 + j) % all.length]!;
      records.push({ ...r, eventID: `${r.eventID}-${tag}-${step}-${j}` });
    }
    body = gzipSync(JSON.stringify({ Records: records }));
  }
  return { key: objectKey(0), body, records };
}

/** Alert keys the detections give for each file analysed alone (fresh stages, as the consumer does), ≥ `min`. */
export async function expectedAlertKeys(
  files: DeliveryFile[],
  min: Severity = 'high',
): Promise<Map<string, string[]>> {
  const fresh = await loadStageFactory();
  const floor = SEVERITIES.indexOf(min);
  const out = new Map<string, string[]>();
  for (const file of files) {
    const items = (async function* () {
      for (const record of file.records)
        yield { kind: 'record' as const, record, origin: { file: file.key } };
    })();
    const keys = new Set<string>();
    for await (const s of analyze(items, fresh(), {}).sessions) {
      for (const f of s.findings) if (SEVERITIES.indexOf(f.severity) >= floor) keys.add(alertKey(f));
    }
    out.set(file.key, [...keys]);
  }
  return out;
}

/** The S3 event notification S3 sends for a new object (key URL-encoded). */
export function s3Notification(bucket: string, key: string, size = 0): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: REGION,
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'cloudtrail-alerts',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size },
        },
      },
    ],
  });
}

/** The same notification fanned out through SNS. */
export function snsNotification(bucket: string, key: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: randomBytes(8).toString('hex'),
    TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:cloudtrail-objects`,
    Subject: 'Amazon S3 Notification',
    Message: s3Notification(bucket, key),
  });
}

/** S3's event as EventBridge delivers it to an SQS target. */
export function eventBridgeNotification(bucket: string, key: string): string {
  return JSON.stringify({
    version: '0',
    id: randomBytes(8).toString('hex'),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: REGION,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: { version: '0', bucket: { name: bucket }, object: { key, size: 1 }, reason: 'PutObject' },
  });
}
