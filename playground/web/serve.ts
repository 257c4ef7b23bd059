/**
 * Serves the playground page (this directory) from the Slack stand-in: `/` is index.html and
 * `/web/<file>` the page's scripts and styles. Only files that exist directly in this directory
 * are served, so a crafted path cannot read anything else on the machine.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = fileURLToPath(new URL('.', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The servable files: plain names in this directory with a known type (listed per request: cheap, always current). */
async function servable(): Promise<Set<string>> {
  return new Set((await readdir(WEB_DIR)).filter((n) => TYPES[extname(n)]));
}

/** True when `path` is a playground page path (`/`, `/index.html`, `/web/…`, a message link `/archives/…`). */
export function isWebPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/web/') || ARCHIVES.test(path);
}

/** Slack's message links (`/archives/<channel>/p<ts>`): the page opens that message. */
const ARCHIVES = /^\/archives\/[A-Z0-9]+\/p\d{16}$/;

export async function serveWeb(path: string, res: ServerResponse): Promise<void> {
  const page = path === '/' || path === '/index.html' || ARCHIVES.test(path);
  const name = page ? 'index.html' : path.slice('/web/'.length);
  const files = await servable();
  if (!files.has(name)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${path}`);
    return;
  }
  const body = await readFile(join(WEB_DIR, name));
  // No caching: the page is edited while the stand-in runs, and it is served from 127.0.0.1 anyway.
  res.writeHead(200, {
    'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
