import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { messageIdPattern } from '../contracts/identifiers.js';
import type { Database } from '../db/database.js';
import {
  decodeCursor,
  isItemCursor,
  isJobCursor,
  itemStatuses,
  jobStates,
  listItems,
  listJobs,
} from '../jobs/job-pages.js';
import { findJobs } from '../jobs/job-progress.js';
import { contentTypePattern } from '../signing/headers.js';
import type { AuthOptions } from './authenticate.js';
import { bodyOf, principalOf } from './authenticate.js';
import type {
  Answer,
  itemListSchema,
  jobAcceptedSchema,
  jobListSchema,
  jobStatusSchema,
} from './contracts.js';
import { ProblemError, problem, rejectionProblem } from './problems.js';
import type { SubmissionBatcher } from './submission-batcher.js';

export interface JobRouteDeps {
  readonly db: Database;
  readonly submissions: SubmissionBatcher;
  readonly authenticate: (options: AuthOptions) => preHandlerAsyncHookHandler;
}

/** Entries per page: `limit`, 1 to 100, default 100. */
const maxPageSize = 100;
const statusUrl = (jobId: string) => `/v1/jobs/${jobId}`;

export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  app.post(
    '/v1/jobs',
    { preHandler: deps.authenticate({ scope: 'jobs:write', nonceByAdmission: true }) },
    async (request, reply): Promise<Answer<typeof jobAcceptedSchema>> => {
      const contentType = request.headers['content-type'] ?? '';
      if (!contentTypePattern.test(contentType)) {
        throw new ProblemError(
          problem('unsupported_media_type', 'a job is sent as Content-Type: application/json'),
        );
      }
      const jobId = request.headers['idempotency-key'];
      if (typeof jobId !== 'string' || !messageIdPattern.test(jobId)) {
        throw new ProblemError(
          problem(
            'invalid_request',
            'Idempotency-Key must be the job id: 1–128 characters from A-Z a-z 0-9 _ - (a retry sends the same one)',
          ),
        );
      }
      const submission = await deps.submissions.submit({
        principal: principalOf(request),
        jobId,
        body: bodyOf(request),
      });
      if (submission.kind === 'decided' && submission.decision.outcome === 'rejected') {
        throw new ProblemError(rejectionProblem(submission.decision.rejection));
      }
      const accepted = submission.kind === 'decided' && submission.decision.outcome === 'accepted';
      reply.code(202).header('location', statusUrl(jobId));
      return {
        jobId,
        status: 'accepted' as const,
        statusUrl: statusUrl(jobId),
        repeated: !accepted,
        ...(accepted && submission.decision.outcome === 'accepted'
          ? { items: submission.decision.job.items, model: submission.decision.job.model }
          : {}),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { preHandler: deps.authenticate({ scope: 'jobs:read' }) },
    async (request): Promise<Answer<typeof jobStatusSchema>> => {
      const { tenantId } = principalOf(request);
      const [job] = messageIdPattern.test(request.params.id)
        ? await findJobs(deps.db, request.params.id, tenantId)
        : [];
      if (job === undefined) throw notFound(request.params.id);
      const { tenantId: _, manifest, createdAt, completedAt, ...progress } = job;
      return {
        ...progress,
        createdAt: createdAt.toISOString(),
        completedAt: completedAt?.toISOString() ?? null,
        resultsManifest: manifest === null ? null : `s3://${manifest.bucket}/${manifest.key}`,
        itemsUrl: `${statusUrl(job.jobId)}/items`,
      };
    },
  );

  app.get<{ Querystring: { state?: string; cursor?: string; limit?: string } }>(
    '/v1/jobs',
    { preHandler: deps.authenticate({ scope: 'jobs:read' }) },
    async (request): Promise<Answer<typeof jobListSchema>> => {
      const { state, cursor } = request.query;
      const page = await listJobs(deps.db, principalOf(request).tenantId, {
        ...(state === undefined ? {} : { state: oneOf('state', state, jobStates) }),
        ...(cursor === undefined ? {} : { after: readCursor(cursor, isJobCursor) }),
        limit: pageLimit(request.query.limit),
      });
      const jobs = page.entries.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString() }));
      return { jobs, nextCursor: page.next };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { status?: string; cursor?: string; limit?: string } }>(
    '/v1/jobs/:id/items',
    { preHandler: deps.authenticate({ scope: 'jobs:read' }) },
    async (request): Promise<Answer<typeof itemListSchema>> => {
      const { tenantId } = principalOf(request);
      const { id } = request.params;
      const [job] = messageIdPattern.test(id) ? await findJobs(deps.db, id, tenantId) : [];
      if (job === undefined) throw notFound(id);
      const { status, cursor } = request.query;
      const page = await listItems(
        deps.db,
        { tenantId, jobId: id },
        {
          ...(status === undefined ? {} : { status: oneOf('status', status, itemStatuses) }),
          ...(cursor === undefined ? {} : { after: readCursor(cursor, isItemCursor)[0] }),
          limit: pageLimit(request.query.limit),
        },
      );
      return { items: page.entries, nextCursor: page.next };
    },
  );
}

// Another tenant's job and no job look the same: a tenant learns nothing about others' ids.
const notFound = (id: string) =>
  new ProblemError(problem('not_found', `no job ${id.slice(0, 128)} of yours`));

function pageLimit(value: unknown): number {
  if (value === undefined) return maxPageSize;
  const limit = typeof value === 'string' && /^[1-9][0-9]{0,2}$/.test(value) ? Number(value) : 0;
  if (limit >= 1 && limit <= maxPageSize) return limit;
  throw new ProblemError(problem('invalid_request', `limit must be a whole number from 1 to ${maxPageSize}`));
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ProblemError(problem('invalid_request', `${name} must be one of ${allowed.join(', ')}`));
}

function readCursor<T extends readonly unknown[]>(cursor: unknown, shape: (v: unknown) => v is T): T {
  const decoded = typeof cursor === 'string' ? decodeCursor(cursor, shape) : undefined;
  if (decoded === undefined) {
    throw new ProblemError(
      problem('invalid_request', 'cursor is not one this API gave out: pass nextCursor as is'),
    );
  }
  return decoded;
}
