import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobFailures } from '../../src/jobs/job-progress.js';
import { type CatalogHarness, createCatalogHarness } from './support.js';

let h: CatalogHarness;

beforeAll(async () => {
  h = await createCatalogHarness('skipped order');
}, 60_000);
afterAll(async () => h?.dispose());

it('lists skipped input entries by manifest line number, not as text (2 before 10)', async () => {
  const tenant = await h.tenant();
  const bucket = await h.s3.createBucket('order');
  const jobId = await h.job(
    tenant,
    { bucket, manifest: { bucket, key: 'm.jsonl' } },
    { bucket, prefix: 'out/' },
  );
  await h.db.query(
    `INSERT INTO job_input_problems (tenant_id, job_id, position, entry, code, message)
     SELECT $1, $2, p, 'line ' || p, 'invalid_key', 'bad' FROM unnest($3::bigint[]) AS p`,
    [tenant, jobId, [10, 2, 100]],
  );
  const { skipped } = await jobFailures(h.db, { tenantId: tenant, jobId }, 3);
  expect(skipped.map((s) => s.position)).toEqual([2, 10, 100]);
});
