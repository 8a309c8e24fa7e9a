import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, accessToken, job, signedFetch, startApiHarness, type TestKey } from './harness.js';

// A burst of concurrent POST /v1/jobs (sharing admission transactions): each gets its own answer,
// twins of one job are one job, a bad body in the burst does not touch the others.

let h: ApiHarness;
let key: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api concurrent');
  await h.tenant('acme');
  key = await h.key('acme');
});
afterAll(async () => h?.close());

describe('concurrent job submissions', () => {
  it('answers each request of a burst on its own; twins are one job; a bad body fails alone', async () => {
    const token = await accessToken(h.base, key);
    const bearer = (id: string, body: string) =>
      fetch(`${h.base}/v1/jobs`, {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': id,
        },
      });
    const distinct = Array.from({ length: 30 }, (_, n) =>
      signedFetch(h.base, key, {
        method: 'POST',
        path: '/v1/jobs',
        body: job('acme', [`${n}.jpg`]),
        idempotencyKey: `burst-${n}`,
      }),
    );
    const twins = Array.from({ length: 5 }, () => bearer('twin', job('acme', ['twin.jpg'])));
    const bad = bearer('bad', '{"version":1}');
    const [distinctAnswers, twinAnswers, badAnswer] = await Promise.all([
      Promise.all(distinct),
      Promise.all(twins),
      bad,
    ]);
    expect(distinctAnswers.map((r) => r.status)).toEqual(Array(30).fill(202));
    const twinBodies = (await Promise.all(twinAnswers.map((r) => r.json()))) as { repeated: boolean }[];
    expect(twinAnswers.map((r) => r.status)).toEqual(Array(5).fill(202));
    expect(twinBodies.filter((b) => !b.repeated)).toHaveLength(1);
    expect(badAnswer.status).toBe(422);
    const [row] = await h.db.query<{ jobs: string; tasks: string }>(
      `SELECT (SELECT count(*) FROM jobs)::text AS jobs, (SELECT count(*) FROM tasks)::text AS tasks`,
    );
    expect(row).toEqual({ jobs: '31', tasks: '31' });
  });
});
