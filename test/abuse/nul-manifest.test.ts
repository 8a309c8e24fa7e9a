import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpander } from '../../src/catalog/expander.js';
import { type CatalogHarness, createCatalogHarness, silent } from '../catalog/support.js';
import { until } from '../support/until.js';

// The attack: a manifest with NUL characters (a raw 0x00 byte, a \u0000 escape inside a key) that
// PostgreSQL cannot store in a text column. Before the fix every page of that job failed, the job
// was claimed again oldest-first forever, and no other tenant's catalog job was listed again.

let h: CatalogHarness;
let bucket: string;

beforeAll(async () => {
  h = await createCatalogHarness('abuse nul manifest');
  bucket = await h.s3.createBucket('nul');
}, 60_000);
afterAll(async () => h?.dispose());

const nul = '\u0000';

describe('a manifest with NUL characters', () => {
  it("is listed with the bad lines as escaped problem entries, and another tenant's prefix job behind it finishes", async () => {
    const attacker = await h.tenant({ grants: [{ bucket, prefix: '', access: 'read' }] });
    const victim = await h.tenant({ grants: [{ bucket, prefix: 'shop/', access: 'read' }] });
    const lines = [
      '{"key": "a/1.jpg"}',
      '{"key": "a/2\\u0000.jpg"}', // a JSON escape: the key itself holds NUL
      `a/3${nul}.jpg`, // a raw 0x00 byte in a plain key
      `{"key": "a/4.jpg"}${nul}`, // a raw 0x00 byte after the JSON
      '{"key": "a/5\\ud800.jpg"}', // an unpaired surrogate: no UTF-8 form, not an S3 key
      '{"key": "a/6.jpg"}',
    ];
    await h.s3.store.put(bucket, 'lists/nul.jsonl', Buffer.from(lines.join('\n')), {
      contentType: 'text/plain',
    });
    const attackJob = await h.job(attacker, { manifest: { bucket, key: 'lists/nul.jsonl' } });
    await h.putObjects(bucket, ['shop/1.jpg', 'shop/2.jpg', 'shop/3.jpg']);
    const victimJob = await h.job(victim, { bucket, prefix: 'shop/' });

    const expander = createExpander({
      db: h.db,
      store: h.s3.store,
      log: silent,
      idleMs: 20,
      leaseMs: 30_000,
    });
    expander.start();
    try {
      const state = async (tenant: string, job: string) => (await h.jobRow(tenant, job)).state;
      await until(async () => (await state(victim, victimJob)) !== 'expanding', {
        what: "the other tenant's prefix job to be listed",
      });
      await until(async () => (await state(attacker, attackJob)) !== 'expanding', {
        what: 'the NUL manifest job to be listed',
      });
    } finally {
      await expander.stop();
    }

    expect((await h.tasks(victim, victimJob)).map((t) => t.key)).toEqual([
      'shop/1.jpg',
      'shop/2.jpg',
      'shop/3.jpg',
    ]);
    expect((await h.tasks(attacker, attackJob)).map((t) => t.key)).toEqual(['a/1.jpg', 'a/6.jpg']);
    const problems = await h.db.query<{ position: string; code: string; entry: string; message: string }>(
      `SELECT position::text, code, entry, message FROM job_input_problems
       WHERE tenant_id = $1 AND job_id = $2 ORDER BY position`,
      [attacker, attackJob],
    );
    expect(problems.map((p) => [Number(p.position), p.code])).toEqual([
      [2, 'invalid_key'],
      [3, 'invalid_key'],
      [4, 'invalid_line'],
      [5, 'invalid_key'],
    ]);
    // What was stored says what the line held, escaped, and says that it was escaped.
    expect(problems[1]).toMatchObject({
      entry: 'a/3\\u0000.jpg',
      message: expect.stringContaining('NUL characters, shown as \\uXXXX escapes'),
    });
    expect(problems[2]!.entry).toBe('{"key": "a/4.jpg"}\\u0000');
    expect(problems.every((p) => !p.entry.includes(nul) && !p.message.includes(nul))).toBe(true);
    expect(await h.jobRow(attacker, attackJob)).toMatchObject({ state: 'running', total: 2, skipped: 4 });
  });
});
