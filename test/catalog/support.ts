import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { createExpander, type ExpanderOptions } from '../../src/catalog/expander.js';
import type { PageRecord } from '../../src/catalog/expansion-store.js';
import type { Job, JobInput } from '../../src/contracts/job.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { insertJobs } from '../../src/jobs/job-store.js';
import { createLogger } from '../../src/log.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { noLimits, type QuotaChanges, setQuota } from '../../src/policy/quota-settings.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// A migrated schema and an embedded S3 server; jobs are inserted as admission inserts them
// (state expanding for prefix/manifest inputs), so each test drives the expander directly.

export interface CatalogHarness {
  readonly environment: TestEnvironment;
  readonly db: Database;
  readonly s3: TestS3;
  tenant(options?: {
    quota?: QuotaChanges;
    grants?: { bucket: string; prefix: string; access: 'read' | 'write' }[];
  }): Promise<string>;
  putObjects(bucket: string, keys: readonly string[], body?: Buffer): Promise<void>;
  /** Inserts an admitted job (total unknown for prefix/manifest inputs) and returns its id. */
  job(tenantId: string, input: JobInput['input'], output?: Job['output']): Promise<string>;
  /** Runs an expander until no expanding job is left (or `until` says stop); returns its pages. */
  expand(
    options?: Partial<ExpanderOptions> & { until?: (pages: PageRecord[]) => boolean },
  ): Promise<PageRecord[]>;
  tasks(tenantId: string, jobId: string): Promise<{ item: number; bucket: string; key: string }[]>;
  jobRow(tenantId: string, jobId: string): Promise<Record<string, unknown>>;
  problems(tenantId: string, jobId: string): Promise<{ position: number; code: string; entry: string }[]>;
  dispose(): Promise<void>;
}

export const silent = createLogger('silent');

export async function createCatalogHarness(label: string): Promise<CatalogHarness> {
  const s3 = await startTestS3();
  const environment = await createTestEnvironment(label, s3.env);
  const db = createDatabase(environment.config.database);
  await migrate(db);
  const harness: CatalogHarness = {
    environment,
    db,
    s3,
    async tenant({ quota, grants = [] } = {}) {
      const id = (await createTenant(db, `tenant-${randomUUID().slice(0, 8)}`, 'pro')).id;
      // Every limit lifted but max in flight, which stays the tier's.
      await setQuota(db, id, { ...noLimits, maxInFlight: 'default', ...quota });
      for (const grant of grants) await addGrant(db, id, grant);
      return id;
    },
    async putObjects(bucket, keys, body = Buffer.from('x')) {
      for (let i = 0; i < keys.length; i += 25) {
        await Promise.all(
          keys.slice(i, i + 25).map((key) => s3.store.put(bucket, key, body, { contentType: 'image/jpeg' })),
        );
      }
    },
    async job(tenantId, input, output = { bucket: 'out-bucket', prefix: 'cut/' }) {
      const jobId = `job-${randomUUID()}`;
      const spec = {
        version: 1,
        input,
        output,
        renditions: [{ kind: 'cutout', format: 'png' }],
        model: 'u2netp',
      };
      const listed = 'prefix' in input || 'manifest' in input;
      await insertJobs(db, [
        {
          tenantId,
          jobId,
          keyId: 'ck_test_x',
          nonce: randomUUID(),
          spec,
          model: 'u2netp',
          lane: 'normal',
          ...(listed ? {} : { total: 'keys' in input ? input.keys.length : 1 }),
          imagesReserved: 0,
          reservedAt: new Date(),
        },
      ]);
      return jobId;
    },
    async expand({ until, ...options } = {}) {
      const pages: PageRecord[] = [];
      let done!: () => void;
      const stopped = new Promise<void>((resolve) => (done = resolve));
      const expander = createExpander({
        db,
        store: s3.store,
        log: silent,
        idleMs: 20,
        leaseMs: 30_000,
        ...options,
        onPage: (job, page) => {
          pages.push(page);
          options.onPage?.(job, page);
          if (until?.(pages)) done();
        },
      });
      expander.start();
      const idle = (async () => {
        for (;;) {
          const [row] = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM jobs WHERE state = 'expanding'`,
          );
          if (row!.n === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })();
      await Promise.race([stopped, idle]);
      await expander.stop();
      return pages;
    },
    async tasks(tenantId, jobId) {
      return db.query(
        `SELECT item, source_bucket AS bucket, source_key AS key FROM tasks WHERE tenant_id = $1 AND job_id = $2 ORDER BY item`,
        [tenantId, jobId],
      );
    },
    async jobRow(tenantId, jobId) {
      const [row] = await db.query('SELECT * FROM jobs WHERE tenant_id = $1 AND id = $2', [tenantId, jobId]);
      expect(row).toBeDefined();
      return row!;
    },
    async problems(tenantId, jobId) {
      return (
        await db.query<{ position: string; code: string; entry: string }>(
          'SELECT position, code, entry FROM job_input_problems WHERE tenant_id = $1 AND job_id = $2 ORDER BY position',
          [tenantId, jobId],
        )
      ).map((p) => ({ ...p, position: Number(p.position) }));
    },
    async dispose() {
      await db.close();
      await environment.dispose();
      await s3.stop();
    },
  };
  return harness;
}
