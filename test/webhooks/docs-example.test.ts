import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { signatureHeader } from '../../src/webhooks/secrets.js';
import { verifySignature } from '../support/webhook-receiver.js';

// The worked example of docs/webhooks.md, recomputed: by our signer, by the standardwebhooks
// package's verifier, by the spec-written test receiver, and by the Node and Python snippets
// exactly as the page prints them.

const docs = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = '3f1c2b7e-8a4d-4c1e-9b2f-6d5e4a3b2c1d';
const timestamp = 1796290400;
const body = /^(\{"type":"item\.failed".*\})$/m.exec(docs)![1]!;
const signature = 'v1,PtE94e7xQAgEPHxuV7tzDO1oiRvp5qhlQRVxet3A0NU=';
const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
const dir = mkdtempSync(join(tmpdir(), 'webhook-docs-'));

function codeBlock(language: string, after: string): string {
  const start = docs.indexOf(after);
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(docs.slice(start));
  return match![1]!;
}

afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/webhooks.md worked example', () => {
  it('states the values it is computed from', () => {
    for (const value of [secret, id, String(timestamp), signature]) expect(docs).toContain(value);
  });

  it('is what our signer writes and what the spec-written receiver and the package accept', () => {
    expect(signatureHeader([secret], id, new Date(timestamp * 1000), body)).toBe(signature);
    expect(
      verifySignature([secret], { id, timestamp: String(timestamp), signature }, body, timestamp),
    ).toBeUndefined();
    vi.useFakeTimers({ toFake: ['Date'], now: timestamp * 1000 });
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: 'item.failed' });
  });

  it('verifies with the Node snippet, and refuses another body or a stale timestamp', async () => {
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, codeBlock('js', 'Node (no library):'));
    const { verifyWebhook } = (await import(file)) as {
      verifyWebhook: (secret: string, headers: Record<string, string>, body: Buffer) => boolean;
    };
    vi.useFakeTimers({ toFake: ['Date'], now: timestamp * 1000 + 60_000 });
    expect(verifyWebhook(secret, headers, Buffer.from(body))).toBe(true);
    expect(verifyWebhook(secret, headers, Buffer.from(body.replace('p/2.jpg', 'p/3.jpg')))).toBe(false);
    vi.setSystemTime(timestamp * 1000 + 301_000);
    expect(verifyWebhook(secret, headers, Buffer.from(body))).toBe(false);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  it.skipIf(!python)('verifies with the Python snippet, and refuses another id', () => {
    const script = `${codeBlock('python', 'Python (no library):')}
import sys, json
time.time = lambda: ${timestamp + 60}
headers = json.loads(sys.argv[1])
body = sys.argv[2].encode()
print(verify("${secret}", headers, body), verify("${secret}", {**headers, "webhook-id": "other"}, body))
`;
    const run = spawnSync('python3', ['-c', script, JSON.stringify(headers), body], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('True False');
  });
});
