import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sendWebhook } from '../../src/webhooks/sender.js';

// An https:// webhook goes to the vetted address with the URL's name as TLS SNI and Host, and the
// certificate is checked against that name: a certificate the system does not trust fails the
// attempt (no request is sent). The server's certificate is made with the openssl binary.

const openssl = spawnSync('openssl', ['version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
let server: https.Server;
let port: number;
const seen: { servername: string | undefined; requests: number } = { servername: undefined, requests: 0 };

beforeAll(async () => {
  if (!openssl) return;
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=hooks.example.test',
    '-addext',
    'subjectAltName=DNS:hooks.example.test',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  expect(made.status, made.stderr.toString()).toBe(0);
  server = https.createServer(
    {
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
      // Records the name the client asked for; the server's default certificate answers.
      SNICallback: (servername, done) => {
        seen.servername = servername;
        done(null, undefined);
      },
    },
    (_request, response) => {
      seen.requests += 1;
      response.writeHead(204).end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

it.skipIf(!openssl)(
  'sends the name as SNI to the vetted address and refuses an untrusted certificate',
  async () => {
    const result = await sendWebhook(
      new URL(`https://hooks.example.test:${port}/in`),
      { address: '127.0.0.1', family: 4 },
      {},
      '{}',
      { connectTimeoutMs: 2000, timeoutMs: 5000, maxResponseBytes: 1024 },
    );
    expect(seen.servername).toBe('hooks.example.test');
    expect(result).toMatchObject({
      statusCode: null,
      broken: true,
      error: expect.stringMatching(/^DEPTH_ZERO_SELF_SIGNED_CERT/),
    });
    expect(seen.requests).toBe(0);
  },
);
