import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Named dependency checks for /readyz, e.g. { broker, database, model }; each resolves true when usable. */
export type ReadinessChecks = Readonly<Record<string, () => Promise<boolean> | boolean>>;

export interface OpsServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  readonly readiness: ReadinessChecks;
}

export interface OpsServer {
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz answers 200 while the process serves requests at all (liveness); /readyz runs every
 * readiness check and answers 503 with the failing names; /metrics is Prometheus text format.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((request, response) => {
    routeOpsRequest(request, response, options).catch((error: unknown) => {
      send(response, 500, 'text/plain', `internal error: ${String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers one ops request; processes that serve other routes too (the HTTP API) hand these paths here. */
export async function routeOpsRequest(
  request: IncomingMessage,
  response: ServerResponse,
  options: Pick<OpsServerOptions, 'registry' | 'readiness'>,
) {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain', 'only GET and HEAD\n');
    return;
  }
  if (path === '/healthz') {
    send(response, 200, 'text/plain', 'ok\n');
    return;
  }
  if (path === '/readyz') {
    const results = await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    const body = JSON.stringify({ ready: failing.length === 0, checks: Object.fromEntries(results) });
    send(response, failing.length === 0 ? 200 : 503, 'application/json', `${body}\n`);
    return;
  }
  if (path === '/metrics') {
    send(response, 200, options.registry.contentType, await options.registry.metrics());
    return;
  }
  send(response, 404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
}

function send(response: ServerResponse, status: number, contentType: string, body: string) {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}
