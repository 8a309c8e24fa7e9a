import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '../../src/config.js';

// An HTTP server that answers S3 requests the way a test scripts it: the failures a real S3
// endpoint shows rarely (5xx, throttling, stalls, resets, endless bodies) on demand. The SDK and
// the storage layer under test are the real ones, talking real HTTP.

export type Script = (request: IncomingMessage, response: ServerResponse) => void;

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

export interface ScriptedEndpoint {
  readonly config: Config['storage'];
  /** Requests received so far. */
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startScriptedEndpoint(
  script: Script,
  settings: { timeout?: string; maxAttempts?: string; checksum?: string } = {},
): Promise<ScriptedEndpoint> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    script(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const config = loadConfig({
    CLEARCUT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    CLEARCUT_S3_ACCESS_KEY_ID: 'test-key',
    CLEARCUT_S3_SECRET_ACCESS_KEY: 'test-secret',
    CLEARCUT_S3_TIMEOUT: settings.timeout ?? '5s',
    CLEARCUT_S3_MAX_ATTEMPTS: settings.maxAttempts ?? '1',
    CLEARCUT_S3_CHECKSUM: settings.checksum,
  }).storage;
  return {
    config,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An S3 error document, as S3 sends them. */
export function s3Error(response: ServerResponse, status: number, code: string, message = code): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>r1</RequestId></Error>`,
  );
}

/**
 * Writes zero bytes until the client hangs up, respecting backpressure; resolves with the bytes
 * written. A client that reads to the end never returns, so a finished test proves it stopped.
 */
export function endlessBody(response: ServerResponse, headers: Record<string, string>): Promise<number> {
  response.writeHead(200, { etag: '"endless"', 'content-type': 'application/octet-stream', ...headers });
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  const pump = () => {
    while (!response.destroyed) {
      written += chunk.length;
      if (!response.write(chunk)) return;
    }
  };
  response.on('drain', pump);
  pump();
  return new Promise((resolve) => response.once('close', () => resolve(written)));
}
