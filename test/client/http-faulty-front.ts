import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

// An HTTP front before the real API that fails the requests a test lines up, the way networks and
// load balancers do: `lose-answer` forwards the request, lets the API finish it, then cuts the
// connection before the answer reaches the client; `unavailable` answers 503 without forwarding, and
// `unavailable-1s` / `unavailable-60s` do so with that Retry-After.
// Every other request passes through unchanged (method, target, headers and body bytes: signatures
// bind them).

export type Fault = 'lose-answer' | 'unavailable' | 'unavailable-1s' | 'unavailable-60s';

export interface FaultyFront {
  readonly base: string;
  /** Faults for the next requests, in order. */
  fail(...faults: Fault[]): void;
  /** Requests seen so far, as `METHOD target`. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startFaultyFront(upstream: string): Promise<FaultyFront> {
  const faults: Fault[] = [];
  const seen: string[] = [];
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    seen.push(`${request.method} ${request.url}`);
    const fault = faults.shift();
    if (fault?.startsWith('unavailable')) {
      const retryAfter = { 'unavailable-1s': '1', 'unavailable-60s': '60' }[fault as string];
      const headers = { 'content-type': 'text/plain', ...(retryAfter ? { 'retry-after': retryAfter } : {}) };
      response.writeHead(503, headers).end('upstream restarting');
      return;
    }
    const answer = await fetch(`${upstream}${request.url}`, {
      method: request.method!,
      headers: forwardedHeaders(request),
      ...(body.length === 0 ? {} : { body }),
    });
    const bytes = Buffer.from(await answer.arrayBuffer());
    if (fault === 'lose-answer') {
      request.socket.destroy();
      return;
    }
    response.writeHead(answer.status, Object.fromEntries(answer.headers)).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail: (...more) => faults.push(...more),
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forwardedHeaders(request: IncomingMessage): Record<string, string> {
  const skip = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);
  return Object.fromEntries(
    Object.entries(request.headers).flatMap(([name, value]) =>
      skip.has(name) || typeof value !== 'string' ? [] : [[name, value]],
    ),
  );
}
