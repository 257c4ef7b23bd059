/** Small HTTP helpers of the stand-in: bodies, content types, bearer tokens, form and JSON arguments. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './context.ts';

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function isJson(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

export function parseArgs(req: IncomingMessage, raw: Buffer): Json {
  const type = req.headers['content-type'] ?? '';
  const text = raw.toString('utf8');
  if (type.includes('application/json')) return text ? (JSON.parse(text) as Json) : {};
  const out: Json = {};
  for (const [k, v] of new URLSearchParams(text)) {
    // The Web API client JSON-encodes objects and arrays (blocks, files, view) into form fields.
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** The upload POST is multipart (the Web API client sends the bytes as a form file) or a raw body. */
export async function extractUpload(req: IncomingMessage, raw: Buffer): Promise<string> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    for (const [, value] of form) {
      return typeof value === 'string' ? value : await value.text();
    }
    return '';
  }
  return raw.toString('utf8');
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
