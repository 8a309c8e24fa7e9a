import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { storableText } from '../contracts/storable-text.js';
import type { ResolvedTarget } from './resolve-target.js';

// One HTTP POST of a webhook to an address already vetted (resolve-target.ts): the socket goes to
// that address, the name travels only in Host and TLS SNI (and the certificate is checked against
// it). Bounded in every way a receiver could hold us: a connect timeout, a total timeout, a cap on
// the answer's bytes; redirects are never followed (node:http does not follow them).

export interface SendLimits {
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface SendResult {
  /** The answer's status code; null when none came (connection failed, timed out). */
  readonly statusCode: number | null;
  /** True when the exchange failed (no answer, or not all of it in time): never a success. */
  readonly broken: boolean;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The first bytes of the answer as text, for the delivery log. */
  readonly snippet: string | null;
}

const snippetBytes = 1024;

export function sendWebhook(
  url: URL,
  target: ResolvedTarget,
  headers: Readonly<Record<string, string>>,
  body: string,
  limits: SendLimits,
  /** What is left of the attempt's `timeoutMs` after resolving the host (all of it by default). */
  { leftMs = limits.timeoutMs }: { leftMs?: number } = {},
): Promise<SendResult> {
  const secure = url.protocol === 'https:';
  const started = performance.now();
  return new Promise((resolve) => {
    let statusCode: number | null = null;
    const received: Buffer[] = [];
    let receivedBytes = 0;
    let settled = false;
    const snippet = () => {
      if (receivedBytes === 0) return null;
      return storableText(Buffer.concat(received).subarray(0, snippetBytes).toString('utf8')).text;
    };
    const finish = (outcome: { broken: boolean; error: string | null }) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connecting);
      request.destroy();
      resolve({
        statusCode,
        latencyMs: Math.round(performance.now() - started),
        snippet: snippet(),
        ...outcome,
      });
    };
    // Node's timers count whole milliseconds of the loop's clock and can fire up to 1 ms before
    // performance.now() says the time is up: wait out what is left, so the latency recorded with
    // "no complete answer within N ms" is never below N.
    const deadline = started + Math.max(0, leftMs);
    const expire = () => {
      const left = deadline - performance.now();
      if (left > 0) total = setTimeout(expire, Math.ceil(left));
      else finish({ broken: true, error: `no complete answer within ${limits.timeoutMs} ms` });
    };
    let total = setTimeout(expire, Math.max(0, leftMs));
    const connecting = setTimeout(
      () => finish({ broken: true, error: `no connection within ${limits.connectTimeoutMs} ms` }),
      limits.connectTimeoutMs,
    );
    const request = (secure ? https : http).request({
      host: target.address,
      family: target.family,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      // A connection of its own: nothing pooled under another name's address.
      agent: false,
      ...(secure && isIP(url.hostname) === 0 ? { servername: url.hostname } : {}),
      headers: {
        host: url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'ClearCut-Webhooks/1',
        ...headers,
      },
    });
    request.on('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
    });
    request.on('response', (response) => {
      statusCode = response.statusCode ?? null;
      response.on('data', (chunk: Buffer) => {
        const room = limits.maxResponseBytes - receivedBytes;
        if (room > 0) received.push(chunk.subarray(0, room));
        receivedBytes += chunk.length;
        // The status already decides; the rest of an oversized answer is not read.
        if (receivedBytes > limits.maxResponseBytes) {
          receivedBytes = limits.maxResponseBytes;
          finish({ broken: false, error: `answer cut off after ${limits.maxResponseBytes} bytes` });
        }
      });
      response.on('end', () => finish({ broken: false, error: null }));
      response.on('error', (error) => finish({ broken: true, error: `answer broken off: ${error.message}` }));
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({ broken: true, error: `${error.code ?? 'error'}: ${error.message}` }),
    );
    request.end(body);
  });
}
