#!/usr/bin/env node
// The Docker image's HEALTHCHECK: asks the running bot's GET /healthz (on PORT, default 3000) and exits 0 when it
// answers 200, 1 otherwise, printing the failing checks (Docker keeps the output in `docker inspect`).
const port = process.env.PORT || '3000';
const host =
  !process.env.HOST || ['0.0.0.0', '::'].includes(process.env.HOST) ? '127.0.0.1' : process.env.HOST;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  const body = await res.text();
  process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
  process.exitCode = res.status === 200 ? 0 : 1;
} catch (err) {
  process.stdout.write(`no answer from ${url}: ${err.cause?.code ?? err.message}\n`);
  process.exitCode = 1;
}
