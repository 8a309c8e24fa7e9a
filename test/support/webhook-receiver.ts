import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A webhook receiver written from the Standard Webhooks specification
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
// with node:crypto only — deliberately NOT with the standardwebhooks package the sender uses, so a
// mistake in how we call it cannot hide here:
//   signed content  = "<webhook-id>.<webhook-timestamp>.<raw body>"
//   key             = base64-decode(secret without its "whsec_" prefix)
//   signature       = base64(HMAC-SHA256(key, signed content))
//   webhook-signature: space-delimited "v1,<signature>" entries; any one matching verifies.
// The timestamp must be within `toleranceSeconds` of now (replay protection). A request that does
// not verify is answered 401 and recorded with the reason.

export interface ReceivedWebhook {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Why verification failed; undefined when it passed. */
  readonly refused?: string;
}

/** What to answer a verified request: a status and body, or 'hang' (never answer). */
export type Answer = { status: number; body?: string | Buffer } | 'hang';

export interface WebhookReceiver {
  readonly url: string;
  /** Every request, in arrival order (verified or not). */
  readonly received: ReceivedWebhook[];
  /** Verified requests only. */
  verified(): ReceivedWebhook[];
  /** The secrets a signature may match (a rotation test changes them). */
  secrets: string[];
  /** Decides the answer to each verified request (default 204). */
  answer: (request: ReceivedWebhook, index: number) => Answer;
  close(): Promise<void>;
}

export const toleranceSeconds = 5 * 60;

/** The spec's verification; returns why it failed, or undefined. */
export function verifySignature(
  secrets: readonly string[],
  headers: { id?: string; timestamp?: string; signature?: string },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | undefined {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp is not whole seconds';
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds)
    return 'webhook-timestamp outside the tolerance';
  const offered = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  for (const secret of secrets) {
    if (!secret.startsWith('whsec_')) continue;
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    if (offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected)))
      return undefined;
  }
  return 'no signature matches';
}

export async function startWebhookReceiver(secrets: string[] = []): Promise<WebhookReceiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    verified: () => receiver.received.filter((request) => request.refused === undefined),
    secrets,
    answer: () => ({ status: 204 }),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => request.headers[name] as string | undefined;
      const parts = {
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
      };
      const refused = verifySignature(receiver.secrets, parts, body);
      const received: ReceivedWebhook = {
        ...parts,
        headers: request.headers,
        body,
        ...(refused ? { refused } : {}),
      };
      receiver.received.push(received);
      if (refused) {
        response.writeHead(401).end(refused);
        return;
      }
      const answer = receiver.answer(received, receiver.verified().length - 1);
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      response.writeHead(answer.status).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/hooks/clearcut` });
}
