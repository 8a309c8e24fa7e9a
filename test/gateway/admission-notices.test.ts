import { afterAll, beforeAll, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { submitJobs } from '../../src/api/job-submission.js';
import { announceAdmissions } from '../../src/jobs/admission-notices.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';
import { untilValue } from '../support/until.js';
import { createGatewayHarness, type GatewayHarness } from './harness.js';

// A job admitted by another process (clearcut api, which runs no dispatcher) is announced on
// PostgreSQL: the gateway's dispatcher publishes its task at once, not at its next idle round,
// set here to a minute, far beyond how long the test waits.

let h: GatewayHarness;
beforeAll(async () => {
  h = await createGatewayHarness('admission notices', { CLEARCUT_DISPATCH_INTERVAL: '60s' });
  await h.startGateway();
});
afterAll(async () => h?.dispose());

const catalog = modelCatalog({ defaultModel: 'u2net' });

/** Whether the job's task gets published within 20 s (the dispatcher's idle round is 60 s). */
function published(tenant: string, jobId: string): Promise<unknown> {
  return untilValue(
    async () => {
      const [task] = await h.db.query<{ published: boolean }>(
        'SELECT published_at IS NOT NULL AS published FROM tasks WHERE tenant_id = $1 AND job_id = $2',
        [tenant, jobId],
      );
      return task?.published;
    },
    { timeoutMs: 20_000, what: `the task of ${jobId} to be published` },
  );
}

it("publishes the tasks of jobs another process admitted and announced, before the dispatcher's idle round", async () => {
  const tenant = await h.tenant('pro');
  await h.grant(tenant, 'in-a', '', 'read');
  await h.grant(tenant, 'out-a', '', 'write');
  // Admitted in a transaction of its own, then announced.
  const [decision] = await h.db.transaction((tx) =>
    admitBatch(tx, [trustedJobRequest(tenant, 'first')], { now: new Date(), catalog }),
  );
  expect(decision?.outcome).toBe('accepted');
  await announceAdmissions(h.db);
  expect(await published(tenant, 'first')).toBe(true);

  // POST /v1/jobs' admission announces by itself.
  const { keyId } = await h.key(tenant);
  const job = {
    version: 1,
    input: { bucket: 'in-a', key: 'second.jpg' },
    output: { bucket: 'out-a', prefix: '' },
  };
  const body = Buffer.from(JSON.stringify(job));
  const principal = { tenantId: tenant, keyId, scopes: new Set<never>(), nonce: null };
  const [submission] = await submitJobs([{ principal, jobId: 'second', body }], {
    db: h.db,
    catalog,
    now: new Date(),
  });
  expect(submission).toMatchObject({ kind: 'decided', decision: { outcome: 'accepted' } });
  expect(await published(tenant, 'second')).toBe(true);
});
