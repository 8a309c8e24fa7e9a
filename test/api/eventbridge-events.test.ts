import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { admitEvents } from '../../src/object-events/admission.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import {
  type EventSourceKey,
  eventSourceKey,
  eventToken,
  inBucket,
  objectCreated,
  postEvent,
} from './eventbridge-support.js';
import { type ApiHarness, startApiHarness } from './harness.js';

// POST /v1/events/s3 with the Amazon S3 User Guide's EventBridge event shapes, through a real API
// process and PostgreSQL: the same trigger rules, de-duplication and loop protection as the AMQP
// event consumer, limited to the caller's tenant, answered with the codes EventBridge retries on.

const bucket = 'acme-photos';
const example = inBucket(bucket);
let h: ApiHarness;
let acme: EventSourceKey;
let token: string;
let rule: string;

beforeAll(async () => {
  h = await startApiHarness('api eventbridge events');
  await h.tenant('acme');
  await h.tenant('beta');
  await addGrant(h.db, 'acme', { bucket, prefix: '', access: 'read' });
  await addGrant(h.db, 'acme', { bucket, prefix: 'cutouts/', access: 'write' });
  // Input and output in one bucket: the loop case. Only .jpg and the example's key match.
  rule = (
    await addTrigger(h.db, {
      tenantId: 'acme',
      bucket,
      prefix: '',
      suffixes: ['.jpg', 'example-key'],
      output: { bucket, prefix: 'cutouts/' },
      renditions: [{ kind: 'cutout', format: 'png' }],
      model: 'u2netp',
    })
  ).id;
  // beta watches the same bucket; acme's events must never make beta's jobs.
  await addGrant(h.db, 'beta', { bucket, prefix: '', access: 'read' });
  await addTrigger(h.db, {
    tenantId: 'beta',
    bucket,
    prefix: '',
    suffixes: [],
    output: { bucket: 'out-beta', prefix: 'cut/' },
  });
  acme = await eventSourceKey(h, 'acme');
  token = await eventToken(h.base, acme);
});
afterAll(async () => h?.close());

const tasksFor = (key: string) =>
  h.db.query<{ tenant_id: string; job_id: string; source_key: string }>(
    'SELECT tenant_id, job_id, source_key FROM tasks WHERE source_bucket = $1 AND source_key = $2',
    [bucket, key],
  );
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('POST /v1/events/s3', () => {
  it('admits the documented Object Created example as a job with its task, for the rule of its tenant only', async () => {
    const response = await postEvent(h.base, token, example);
    expect(response.status).toBe(202);
    const body = await json(response);
    expect(body).toMatchObject({ eventId: example.id, outcome: 'accepted' });
    const jobs = body.jobs as { jobId: string; statusUrl: string; outcome: string }[];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.outcome).toBe('accepted');
    expect(jobs[0]!.jobId).toMatch(new RegExp(`^s3-${rule}-[0-9a-f]{40}$`));
    expect(jobs[0]!.statusUrl).toBe(`/v1/jobs/${jobs[0]!.jobId}`);
    expect(await tasksFor('example-key')).toEqual([
      { tenant_id: 'acme', job_id: jobs[0]!.jobId, source_key: 'example-key' },
    ]);
    const [job] = await h.db.query<{ metadata: Record<string, unknown> }>(
      `SELECT spec->'metadata' AS metadata FROM jobs WHERE tenant_id = 'acme' AND id = $1`,
      [jobs[0]!.jobId],
    );
    expect(job?.metadata).toMatchObject({
      trigger: rule,
      event: 'ObjectCreated:Put',
      eTag: 'b1946ac92492d2347c6235b4d2611184',
      size: 5,
    });
  });

  it('answers a repeated event (the same id, sequencer and version) 200 duplicate and admits nothing twice', async () => {
    const again = await postEvent(h.base, token, example);
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ outcome: 'duplicate', jobs: [] });
    expect(await tasksFor('example-key')).toHaveLength(1);
  });

  it('takes keys as stored (not URL-encoded): spaces, plus signs and percent signs stay what they are', async () => {
    const key = 'shop/red flower+1 100%.jpg';
    const response = await postEvent(h.base, token, objectCreated({ bucket, key }));
    expect(response.status).toBe(202);
    expect((await tasksFor(key)).map((t) => t.source_key)).toEqual([key]);
  });

  it('answers 200 with a reason, and admits nothing, for a key no rule of the tenant matches', async () => {
    const response = await postEvent(h.base, token, objectCreated({ bucket, key: 'notes/readme.txt' }));
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({ outcome: 'ignored_no_rule', jobs: [] });
    expect(body.detail).toMatch(/no enabled trigger rule of your tenant/);
    expect(await tasksFor('notes/readme.txt')).toEqual([]);
  });

  it("ignores ClearCut's own outputs (loop protection): an object under the rule's output prefix", async () => {
    const key = 'cutouts/example-key.jpg';
    const response = await postEvent(h.base, token, objectCreated({ bucket, key }));
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ outcome: 'ignored_own_output', jobs: [] });
    expect(await tasksFor(key)).toEqual([]);
  });

  it("tells a tenant nothing of other tenants' outputs: no rule of its own matches, so ignored_no_rule", async () => {
    // out-beta/cut/ is beta's output; acme has no rule there. The queue (operator scope) still says why.
    const version = { bucket: 'out-beta', key: 'cut/secret.jpg' };
    const response = await postEvent(h.base, token, objectCreated(version));
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ outcome: 'ignored_no_rule', jobs: [] });
    const [viaQueue] = await h.db.transaction((tx) =>
      admitEvents(
        tx,
        [{ index: 0, source: 'aws', name: 'ObjectCreated:Put', created: true, ...version, eTag: 'e1' }],
        { now: new Date(), catalog: modelCatalog({ defaultModel: 'u2net' }) },
      ),
    );
    expect(viaQueue!.outcome).toBe('ignored_own_output');
  });

  it('answers 200 ignored_not_created for another detail-type (an Object Deleted event)', async () => {
    const deleted = {
      ...example,
      id: crypto.randomUUID(),
      'detail-type': 'Object Deleted',
      detail: { ...example.detail, reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' },
    };
    const response = await postEvent(h.base, token, deleted);
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ outcome: 'ignored_not_created', jobs: [] });
  });

  it('refuses malformed events with 4xx problems naming each fault, and audits them under the tenant', async () => {
    const { etag: _, ...withoutEtag } = example.detail.object;
    const cases: { body: unknown; contentType?: string; status: number; reason: string; problem: RegExp }[] =
      [
        { body: '{"id": ', status: 422, reason: 'invalid_body', problem: /is not UTF-8 JSON/ },
        { body: [example], status: 422, reason: 'invalid_body', problem: /one event per request/ },
        {
          body: { ...example, source: 'aws.ec2' },
          status: 422,
          reason: 'invalid_body',
          problem: /source: must be "aws.s3"/,
        },
        {
          body: { ...example, detail: { ...example.detail, object: withoutEtag } },
          status: 422,
          reason: 'invalid_body',
          problem: /detail\.object\.etag/,
        },
        {
          body: {
            ...example,
            detail: { ...example.detail, bucket: { name: 'Not_A_Bucket' } },
          },
          status: 422,
          reason: 'invalid_body',
          problem: /detail\.bucket\.name: may contain only lowercase/,
        },
        {
          body: example,
          contentType: 'text/plain',
          status: 415,
          reason: 'unsupported_media_type',
          problem: /application\/json/,
        },
      ];
    for (const c of cases) {
      const response = await postEvent(h.base, token, c.body, c.contentType);
      expect(response.status, JSON.stringify(c.body).slice(0, 80)).toBe(c.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = await json(response);
      expect(problem.reason).toBe(c.reason);
      expect(`${problem.detail} ${(problem.problems as string[] | undefined)?.join(' ')}`).toMatch(c.problem);
    }
    const audited = await listAudit(h.db, { tenantId: 'acme', limit: 20 });
    expect(audited.filter((row) => row.reason === 'invalid_body' && row.source === 'api')).toHaveLength(5);
  });

  it('makes one job of an object version that came through the AMQP door first', async () => {
    const key = 'both-doors.jpg';
    const etag = '0123456789abcdef0123456789abcdef';
    const [viaQueue] = await h.db.transaction((tx) =>
      admitEvents(
        tx,
        [{ index: 0, source: 'aws', name: 'ObjectCreated:Put', created: true, bucket, key, eTag: etag }],
        { now: new Date(), catalog: modelCatalog({ defaultModel: 'u2net' }) },
      ),
    );
    // The queue matches every tenant's rules: acme's and beta's.
    expect(viaQueue!.jobs.map((j) => j.decision.outcome)).toEqual(['accepted', 'accepted']);
    const response = await postEvent(h.base, token, objectCreated({ bucket, key, etag }));
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      outcome: 'duplicate',
      jobs: [{ jobId: viaQueue!.jobs.find((j) => j.tenantId === 'acme')!.jobId, outcome: 'repeated' }],
    });
    expect((await tasksFor(key)).map((t) => t.tenant_id).sort()).toEqual(['acme', 'beta']);
  });

  it('answers 429 with Retry-After when the tenant is over its image quota, and admits it on a later try', async () => {
    await h.tenant('gamma');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('gamma', '{"images_per_hour": 1}')`,
    );
    await addGrant(h.db, 'gamma', { bucket: 'gamma-in', prefix: '', access: 'read' });
    await addTrigger(h.db, {
      tenantId: 'gamma',
      bucket: 'gamma-in',
      prefix: '',
      suffixes: [],
      output: { bucket: 'out-gamma', prefix: 'cut/' },
    });
    const gamma = await eventToken(h.base, await eventSourceKey(h, 'gamma'));
    expect((await postEvent(h.base, gamma, objectCreated({ bucket: 'gamma-in', key: '1.jpg' }))).status).toBe(
      202,
    );
    const second = objectCreated({ bucket: 'gamma-in', key: '2.jpg' });
    const refused = await postEvent(h.base, gamma, second);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await json(refused)).toMatchObject({ reason: 'quota_exceeded' });
    // Nothing was recorded for the refused event: EventBridge's retry, once the window allows, makes the job.
    await h.db.query(
      `UPDATE quota_overrides SET limits = '{"images_per_hour": 2}' WHERE tenant_id = 'gamma'`,
    );
    expect((await postEvent(h.base, gamma, second)).status).toBe(202);
  });

  it('answers 429 when one rule of two is over quota, records nothing, and makes only the missing job on the retry', async () => {
    await h.tenant('delta');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('delta', '{"images_per_hour": 1}')`,
    );
    await addGrant(h.db, 'delta', { bucket: 'delta-in', prefix: '', access: 'read' });
    const output = (prefix: string) => ({ bucket: 'out-delta', prefix });
    for (const prefix of ['a/', 'b/']) {
      await addTrigger(h.db, {
        tenantId: 'delta',
        bucket: 'delta-in',
        prefix: '',
        suffixes: [],
        output: output(prefix),
      });
    }
    const delta = await eventToken(h.base, await eventSourceKey(h, 'delta'));
    const event = objectCreated({ bucket: 'delta-in', key: 'shoe.jpg' });
    const refused = await postEvent(h.base, delta, event);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await json(refused)).toMatchObject({ reason: 'quota_exceeded' });
    const [made] = await h.db.query<{ job_id: string }>(
      `SELECT job_id FROM tasks WHERE tenant_id = 'delta' AND source_key = 'shoe.jpg'`,
    );
    const processed = () =>
      h.db.query(`SELECT 1 FROM processed_events WHERE bucket = 'delta-in' AND key = 'shoe.jpg'`);
    expect(await processed()).toEqual([]);

    await h.db.query(
      `UPDATE quota_overrides SET limits = '{"images_per_hour": 2}' WHERE tenant_id = 'delta'`,
    );
    const retried = await postEvent(h.base, delta, event);
    expect(retried.status).toBe(202);
    const jobs = (await json(retried)).jobs as { jobId: string; outcome: string }[];
    expect(jobs.map((j) => j.outcome).sort()).toEqual(['accepted', 'repeated']);
    expect(jobs.find((j) => j.outcome === 'repeated')!.jobId).toBe(made!.job_id);
    const tasks = await h.db.query<{ job_id: string }>(
      `SELECT job_id FROM tasks WHERE tenant_id = 'delta' AND source_key = 'shoe.jpg' ORDER BY job_id`,
    );
    expect(tasks.map((t) => t.job_id)).toEqual(jobs.map((j) => j.jobId).sort());
    expect(await processed()).toHaveLength(1);
    expect((await postEvent(h.base, delta, event)).status).toBe(200);
  });

  it('answers a refused rule job with its reason, retriable or not as EventBridge needs', async () => {
    // acme may not read this prefix: the rule's job is forbidden, and a retry would not help (403).
    await addTrigger(h.db, {
      tenantId: 'acme',
      bucket: 'in-acme-private',
      prefix: '',
      suffixes: [],
      output: { bucket: 'out-acme', prefix: 'p/' },
    });
    const response = await postEvent(
      h.base,
      token,
      objectCreated({ bucket: 'in-acme-private', key: 'a.jpg' }),
    );
    expect(response.status).toBe(403);
    expect(await json(response)).toMatchObject({ reason: 'forbidden_location' });
  });
});
