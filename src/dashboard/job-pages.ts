import type { FastifyInstance, FastifyReply } from 'fastify';
import { messageIdPattern } from '../contracts/identifiers.js';
import { PermanentError } from '../errors.js';
import {
  decodeCursor,
  isItemCursor,
  isJobCursor,
  type JobState,
  jobStates,
  listItems,
  listJobs,
} from '../jobs/job-pages.js';
import { findJobs, type JobProgress } from '../jobs/job-progress.js';
import { refuse, tenantOf } from './access.js';
import { jobsProgress } from './activity-store.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';

// The tenant's jobs (paged, by state), one job with its live progress bar, failed items and
// results manifest, the progress as JSON for the bar's polling, and the manifest itself.

const jobsPerPage = 25;
const failuresPerPage = 50;
// A bound on what one download sends, not on memory: the manifest is streamed from S3.
const manifestMaxBytes = 1024 * 1024 * 1024;

export function progressOf(
  job: Pick<JobProgress, 'total' | 'listed' | 'succeeded' | 'failed' | 'state' | 'finalized'>,
) {
  const done = job.succeeded + job.failed;
  const total = job.total ?? job.listed;
  return {
    done,
    total,
    known: job.total !== null,
    percent: total === 0 ? (job.state === 'completed' ? 100 : 0) : Math.floor((done * 100) / total),
    state: job.state,
    finalized: job.finalized,
    succeeded: job.succeeded,
    failed: job.failed,
  };
}

export function registerJobPages(app: FastifyInstance, deps: DashboardDeps): void {
  const jobOf = async (tenantId: string, id: string, reply: FastifyReply) => {
    const [job] = messageIdPattern.test(id) ? await findJobs(deps.db, id, tenantId) : [];
    if (job === undefined) {
      // Another tenant's job and no job look the same.
      await refuse(reply, 404, 'No such job', `There is no job ${id.slice(0, 128)} of yours.`);
    }
    return job;
  };

  app.get<{ Querystring: { state?: string; cursor?: string } }>('/jobs', async (request, reply) => {
    const tenantId = tenantOf(request);
    const { state, cursor } = request.query;
    if (state !== undefined && state !== '' && !(jobStates as readonly string[]).includes(state)) {
      return refuse(reply, 400, 'Unknown state', `state must be one of ${jobStates.join(', ')}.`);
    }
    const after = cursor === undefined ? undefined : decodeCursor(cursor, isJobCursor);
    if (cursor !== undefined && after === undefined) {
      return refuse(reply, 400, 'Bad page link', 'That page link is not one this dashboard made.');
    }
    const page = await listJobs(deps.db, tenantId, {
      ...(state ? { state: state as JobState } : {}),
      ...(after === undefined ? {} : { after }),
      limit: jobsPerPage,
    });
    const counts = await jobsProgress(
      deps.db,
      tenantId,
      page.entries.map((entry) => entry.jobId),
    );
    const jobs = page.entries.map((entry) => {
      const job = counts.get(entry.jobId);
      return { ...entry, progress: job === undefined ? undefined : progressOf(job) };
    });
    return showPage(
      request,
      reply,
      'jobs',
      { title: 'Jobs', current: 'jobs' },
      {
        jobs,
        state: state ?? '',
        states: jobStates,
        next: page.next,
      },
    );
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string } }>(
    '/jobs/:id',
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const job = await jobOf(tenantId, request.params.id, reply);
      if (job === undefined) return reply;
      const { cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, isItemCursor);
      if (cursor !== undefined && after === undefined) {
        return refuse(reply, 400, 'Bad page link', 'That page link is not one this dashboard made.');
      }
      const failures = await listItems(
        deps.db,
        { tenantId, jobId: job.jobId },
        { status: 'failed', ...(after === undefined ? {} : { after: after[0] }), limit: failuresPerPage },
      );
      return showPage(
        request,
        reply,
        'job',
        { title: `Job ${job.jobId}`, current: 'jobs' },
        {
          job,
          progress: progressOf(job),
          failures: failures.entries,
          next: failures.next,
        },
      );
    },
  );

  app.get<{ Params: { id: string } }>('/jobs/:id/progress', async (request, reply) => {
    const job = await jobOf(tenantOf(request), request.params.id, reply);
    if (job === undefined) return reply;
    return reply.header('cache-control', 'no-store').send(progressOf(job));
  });

  app.get<{ Params: { id: string } }>('/jobs/:id/manifest', async (request, reply) => {
    const job = await jobOf(tenantOf(request), request.params.id, reply);
    if (job === undefined) return reply;
    if (job.manifest === null) {
      return refuse(
        reply,
        404,
        'No manifest yet',
        `Job ${job.jobId} has no results manifest yet: it is written when the job completes.`,
      );
    }
    const { bucket, key } = job.manifest;
    const object = await deps.manifests
      .openRead(bucket, key, { maxBytes: manifestMaxBytes })
      .catch((error: unknown) => {
        if (error instanceof PermanentError && error.code === 'not_found') return undefined;
        throw error;
      });
    if (object === undefined) {
      return refuse(
        reply,
        404,
        'Manifest gone',
        `The results manifest of job ${job.jobId} is no longer at s3://${bucket}/${key} (deleted or expired).`,
      );
    }
    // Fastify destroys the stream when the browser goes away, which closes the S3 connection.
    if (object.size !== undefined) reply.header('content-length', String(object.size));
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${job.jobId}.manifest.jsonl"`)
      .send(object.body);
  });
}
