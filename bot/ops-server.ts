/**
 * In Socket Mode the bot opens no HTTP port for Slack; this small listener serves the health and metrics routes
 * (health.ts) on PORT/HOST instead, for Docker's HEALTHCHECK, Kubernetes probes and Prometheus.
 */
import { createServer, type Server } from 'node:http';
import type { Route } from './health.ts';

export function startOpsServer(
  routes: ReadonlyMap<string, Route>,
  port: number,
  host: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const route =
      req.method === 'GET' || req.method === 'HEAD' ? routes.get((req.url ?? '/').split('?')[0]!) : undefined;
    if (route) route(req, res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
