/**
 * A local S3 for tests and benchmarks, speaking S3's REST protocol to the real `@aws-sdk/client-s3`
 * (path-style `GET /<bucket>/<key>`): GetObject with Content-Length and ETag, 404 NoSuchKey (XML error
 * body) for a missing object.
 *
 * Fault injection: `throttle(n)` answers the next n GetObjects with 503 SlowDown (the SDK retries);
 * `slow(key, …)` sends the first part of an object and then holds the rest (a big file still arriving,
 * or a replica to kill mid-file), `onGet` tells the test who started fetching what. Every request is
 * recorded with the access key that signed it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Request {
  time: number;
  method: string;
  bucket: string;
  key: string;
  accessKeyId: string;
  status: number;
}

export interface SlowObject {
  /** Bytes sent at once; the rest follows after `holdMs`. */
  firstBytes: number;
  holdMs: number;
  /** Only the first `times` GetObjects of the key are slow (default 1). */
  times?: number;
}

export interface S3Endpoint {
  url: string;
  requests: S3Request[];
  put(bucket: string, key: string, body: Buffer): void;
  remove(bucket: string, key: string): void;
  throttle(count: number): void;
  slow(bucket: string, key: string, how: SlowObject): void;
  /** Called when a GetObject of an existing object starts sending (after throttling and faults). */
  onGet?: (request: S3Request) => void;
  close(): Promise<void>;
}

export async function startS3Endpoint(): Promise<S3Endpoint> {
  const objects = new Map<string, Buffer>();
  const slow = new Map<string, SlowObject & { left: number }>();
  const requests: S3Request[] = [];
  let throttled = 0;
  const sockets = new Set<import('node:net').Socket>();

  const endpoint: S3Endpoint = {
    url: '',
    requests,
    put: (bucket, key, body) => void objects.set(`${bucket}/${key}`, body),
    remove: (bucket, key) => void objects.delete(`${bucket}/${key}`),
    throttle(count) {
      throttled = count;
    },
    slow(bucket, key, how) {
      slow.set(`${bucket}/${key}`, { ...how, left: how.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, bucket = '', ...rest] = url.pathname.split('/');
      const key = rest.map((p) => decodeURIComponent(p)).join('/');
      const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      const record: S3Request = {
        time: Date.now(),
        method: req.method ?? 'GET',
        bucket,
        key,
        accessKeyId,
        status: 200,
      };
      requests.push(record);
      if (throttled > 0) {
        throttled--;
        return xmlError(res, record, 503, 'SlowDown', 'Please reduce your request rate.', key);
      }
      const body = objects.get(`${bucket}/${key}`);
      if (!body) return xmlError(res, record, 404, 'NoSuchKey', 'The specified key does not exist.', key);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        'last-modified': new Date().toUTCString(),
        'x-amz-request-id': randomUUID(),
      });
      if (req.method === 'HEAD') return res.end();
      endpoint.onGet?.(record);
      const s = slow.get(`${bucket}/${key}`);
      if (!s || s.left <= 0) return res.end(body);
      s.left--;
      res.write(body.subarray(0, s.firstBytes));
      setTimeout(() => res.end(body.subarray(s.firstBytes)), s.holdMs).unref();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return endpoint;
}

function xmlError(
  res: ServerResponse,
  record: S3Request,
  status: number,
  code: string,
  message: string,
  key: string,
): void {
  record.status = status;
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Key>${escapeXml(key)}</Key><RequestId>${randomUUID()}</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
