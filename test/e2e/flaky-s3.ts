import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { s3Error } from '../storage/scripted-endpoint.js';

// An HTTP proxy in front of the embedded S3 server that answers 503 SlowDown for the requests a
// test picks: the SDK and the storage layer are the real ones, talking real HTTP.

export interface FlakyS3 {
  readonly endpoint: string;
  /** The next `times` requests of `method` whose path contains `fragment` fail with 503. */
  failNext(method: string, fragment: string, times: number): void;
  /** Every request whose path contains `fragment` fails until `heal(fragment)`. */
  failAlways(fragment: string): void;
  heal(fragment: string): void;
  /** Requests that were failed on purpose. */
  failed(): number;
  close(): Promise<void>;
}

export async function startFlakyS3(upstream: string): Promise<FlakyS3> {
  const target = new URL(upstream);
  const budgets: { method: string | undefined; fragment: string; left: number }[] = [];
  let failedCount = 0;
  const server = createServer((incoming, outgoing) => {
    const path = decodeURIComponent(incoming.url ?? '');
    const rule = budgets.find(
      (r) =>
        r.left > 0 && (r.method === undefined || r.method === incoming.method) && path.includes(r.fragment),
    );
    if (rule) {
      rule.left--;
      failedCount++;
      incoming.resume();
      s3Error(outgoing, 503, 'SlowDown', 'scripted failure');
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    failNext(method, fragment, times) {
      budgets.push({ method, fragment, left: times });
    },
    failAlways(fragment) {
      budgets.push({ method: undefined, fragment, left: Number.POSITIVE_INFINITY });
    },
    heal(fragment) {
      for (const rule of budgets) if (rule.fragment === fragment) rule.left = 0;
    },
    failed: () => failedCount,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
