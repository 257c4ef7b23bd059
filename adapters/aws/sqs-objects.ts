/**
 * The CloudTrail objects a notification names, fetched with `@aws-sdk/client-s3` (GetObject, streamed)
 * and read by the same ingest as local files (engine/ingest: gzip by magic bytes, JSON split into
 * records), named `s3://bucket/key` in every origin. A failed GetObject becomes an S3ObjectError that
 * says what happened to which object (gone, access denied, throttled past the SDK's retries).
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CartographerError } from '../../engine/errors.ts';
import { readStream } from '../../engine/ingest/read-input.ts';
import type { SourceItem } from '../../engine/source.ts';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';
import type { S3ObjectRef } from './sqs-notification.ts';

export class S3ObjectError extends CartographerError {
  readonly code = 'source';
  override readonly name = 'S3ObjectError';
  constructor(
    message: string,
    /** `gone` (404), `denied` (403), `other`. */
    readonly kind: 'gone' | 'denied' | 'other',
  ) {
    super(message);
  }
}

export interface ObjectReader {
  /** Starts the GetObject; rejects with S3ObjectError when S3 refuses. Items name the object `s3://…`. */
  open(ref: S3ObjectRef, signal?: AbortSignal): Promise<AsyncIterable<SourceItem>>;
}

export function createS3ObjectReader(options: { region: string; client?: S3Client }): ObjectReader {
  const client =
    options.client ??
    instrumentAwsClient(new S3Client({ region: options.region, followRegionRedirects: true }));
  return {
    async open(ref, signal) {
      const name = objectName(ref);
      let body: NodeJS.ReadableStream;
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }),
          signal ? { abortSignal: signal } : {},
        );
        body = out.Body as NodeJS.ReadableStream;
      } catch (err) {
        throw objectError(name, err);
      }
      return readStream(name, body);
    },
  };
}

export function objectName(ref: S3ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}`;
}

function objectError(name: string, err: unknown): S3ObjectError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const code = e.name ?? 'Error';
  if (status === 404 || code === 'NoSuchKey' || code === 'NotFound') {
    return new S3ObjectError(`${name}: the object is gone (404 ${code})`, 'gone');
  }
  if (status === 403 || code === 'AccessDenied') {
    return new S3ObjectError(
      `${name}: access denied (403 ${code}): the role needs s3:GetObject on it`,
      'denied',
    );
  }
  return new S3ObjectError(
    `${name}: GetObject failed (${status ?? 'no status'} ${code}: ${e.message ?? ''})`,
    'other',
  );
}
