import type { Job } from '../contracts/job.js';
import type { Database, Queryable } from '../db/database.js';
import { errorMessage, PermanentError } from '../errors.js';
import { insertTasks, unboundedInFlight } from '../jobs/job-store.js';
import { createPollLoop, type PollLoop } from '../jobs/poll-loop.js';
import { unreadableForGood } from '../jobs/unreadable-jobs.js';
import type { Logger } from '../log.js';
import { reserveImages } from '../policy/quotas.js';
import { loadTenantRules } from '../policy/tenant-rules.js';
import type { BlobStore } from '../storage/blob-store.js';
import {
  claimExpandingJob,
  type ExpandingJob,
  existingSources,
  insertProblems,
  jobAtCursor,
  type PageRecord,
  recordExpansionFailure,
  recordPage,
  releaseExpandingJob,
  renewExpansionLease,
  tenantBacklog,
  type UnreadableExpandingJob,
} from './expansion-store.js';
import { type InputEntry, inputEntries, isCatalogInput } from './input-entries.js';
import { planPage } from './page-plan.js';

// The catalog expander runs in the gateway next to the dispatcher: it lists `prefix` and
// `manifest` inputs of jobs in the `expanding` state into tasks, one page per transaction.

export interface ExpanderOptions {
  readonly db: Database;
  readonly store: BlobStore;
  readonly log: Logger;
  readonly idleMs: number;
  /** How long a gateway owns a job it lists; after a crash another one resumes once this passed. */
  readonly leaseMs: number;
  /** Input entries per transaction. */
  readonly pageSize?: number;
  /** A tenant with this many tasks waiting for the dispatcher gets no more until they drain. */
  readonly backlog?: number;
  /** Pages listed per job before the expander looks at other jobs. */
  readonly pagesPerTurn?: number;
  /** Failed pages in a row after which the job's listing ends as `expansion_failed`. */
  readonly maxFailures?: number;
  /** Wait before a job whose page failed is tried again; doubles with each failure in a row. */
  readonly retryDelayMs?: number;
  /** Skipped entries recorded per job (listed in the results manifest); the rest are only counted. */
  readonly maxRecordedProblems?: number;
  readonly onPage?: (job: ExpandingJob, page: PageRecord) => void;
}

export const expanderDefaults = {
  pageSize: 1000,
  backlog: 10_000,
  pagesPerTurn: 50,
  // 2 + 4 + ... + 128 s: a storage or database outage of about four minutes is ridden out.
  maxFailures: 8,
  retryDelayMs: 2000,
  maxRecordedProblems: 10_000,
} as const;

interface Turn {
  readonly job: ExpandingJob;
  readonly spec: Job;
  cursor: string | null;
  counted: number;
  pages: number;
  entries?: AsyncGenerator<InputEntry>;
}

type PageOutcome = 'more' | 'finished' | 'lost';

export function createExpander(options: ExpanderOptions): PollLoop {
  const { db, store, log, leaseMs } = options;
  const pageSize = options.pageSize ?? expanderDefaults.pageSize;
  const backlog = options.backlog ?? expanderDefaults.backlog;
  const pagesPerTurn = options.pagesPerTurn ?? expanderDefaults.pagesPerTurn;
  const maxFailures = options.maxFailures ?? expanderDefaults.maxFailures;
  const retryDelayMs = options.retryDelayMs ?? expanderDefaults.retryDelayMs;
  const maxRecordedProblems = options.maxRecordedProblems ?? expanderDefaults.maxRecordedProblems;
  let turn: Turn | undefined;

  async function endTurn(release: boolean) {
    const ended = turn;
    turn = undefined;
    if (!ended) return;
    await ended.entries?.return(undefined).catch(() => {});
    if (release) await releaseExpandingJob(db, ended.job);
  }

  async function claim(): Promise<Turn | undefined> {
    for (;;) {
      const job = await claimExpandingJob(db, leaseMs, backlog);
      if (!job) return undefined;
      if (!('problem' in job)) {
        return {
          job,
          spec: job.spec,
          cursor: job.cursor,
          counted: job.expandedItems + job.skipped,
          pages: 0,
        };
      }
      await passOver(job); // and claim the next one
    }
  }

  /**
   * A job it cannot read: one no process can read by now ends its listing as `invalid_job`; a
   * younger one keeps its lease, for another (perhaps newer) gateway once that runs out.
   */
  async function passOver(job: UnreadableExpandingJob) {
    const failed = unreadableForGood(job);
    const about = { tenant: job.tenantId, job: job.jobId, problem: job.problem };
    if (!failed) {
      log.warn(
        about,
        'a catalog job does not match this version of the job contract: left to other gateways for now',
      );
      return;
    }
    const truncated = {
      code: 'invalid_job',
      message: `${job.problem}; the listing ended here: submit the job again (admission names anything this release refuses in it)`,
    };
    const page = {
      cursor: job.cursor,
      created: 0,
      skipped: 0,
      reservedAt: new Date(),
      finished: true,
      truncated,
    };
    await recordPage(db, job, job.cursor, page, leaseMs);
    log.error(about, 'a catalog job no longer matches the job contract: its listing ended as invalid_job');
  }

  /**
   * Reads one page of entries, renewing the job's lease meanwhile (a slow read must not hand the
   * job to another gateway mid-page); a permanent read failure (no manifest, no bucket) ends the listing.
   */
  async function readPage(current: Turn) {
    const input = current.spec.input;
    if (!isCatalogInput(input)) throw new Error(`job ${current.job.jobId} has no prefix or manifest input`);
    current.entries ??= inputEntries(store, input, current.cursor);
    const entries: InputEntry[] = [];
    const renewal = setInterval(() => {
      renewExpansionLease(db, current.job, current.cursor, leaseMs).catch((error: unknown) =>
        log.warn({ err: error, job: current.job.jobId }, 'could not renew the listing lease'),
      );
    }, leaseMs / 3);
    try {
      while (entries.length < pageSize) {
        const next = await current.entries.next();
        if (next.done) return { entries, exhausted: true };
        entries.push(next.value);
      }
      return { entries, exhausted: false };
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      const truncated = { code: error.code, message: `the input could not be read: ${error.message}` };
      return { entries, exhausted: true, truncated };
    } finally {
      clearInterval(renewal);
    }
  }

  /**
   * A page that failed (a database refusal, storage down) is retried later with backoff; after
   * `maxFailures` in a row the listing ends as `expansion_failed` and the job completes with what
   * was listed, so no job is retried forever.
   */
  async function pageFailed(current: Turn, error: unknown) {
    const { job, cursor } = current;
    const failures = await recordExpansionFailure(db, job, cursor, retryDelayMs);
    log.warn({ err: error, tenant: job.tenantId, job: job.jobId, failures }, 'catalog page failed');
    if (failures === undefined || failures < maxFailures) return;
    const truncated = {
      code: 'expansion_failed',
      message: `listing the input failed ${failures} times in a row; the last error: ${errorMessage(error)}`,
    };
    await recordPage(
      db,
      job,
      cursor,
      { cursor, created: 0, skipped: 0, reservedAt: new Date(), finished: true, truncated },
      leaseMs,
    );
  }

  async function expandPage(current: Turn): Promise<PageOutcome> {
    const { entries, exhausted, truncated: unreadable } = await readPage(current);
    const { tenantId } = current.job;
    const lost = new Error('the job moved on');
    return db
      .transaction(async (tx): Promise<PageOutcome> => {
        // Read first, lock late: the job's row is the one every task completion of the job updates.
        const at = await jobAtCursor(tx, current.job, current.cursor);
        if (!at) return 'lost'; // another gateway took the job over and moved on
        const rules = (await loadTenantRules(tx, [tenantId])).get(tenantId);
        const policy = rules?.policy;
        const candidates = entries.flatMap((e) => (e.source ? [e.source] : []));
        const plan = planPage(entries, {
          output: current.spec.output,
          grants: rules?.grants ?? [],
          counted: at.expandedItems + at.skipped,
          existing: await existingSources(tx, current.job, candidates),
        });
        let truncated = unreadable;
        let sources = plan.sources;
        const room = policy?.maxItemsPerJob == null ? Infinity : policy.maxItemsPerJob - at.expandedItems;
        if (sources.length > room) {
          sources = sources.slice(0, Math.max(room, 0));
          truncated = {
            code: 'too_many_items',
            message: `the tenant's maximum is ${policy!.maxItemsPerJob} items per job; the listing stopped there`,
          };
        }
        // The job's row first, then the tenant's counters: the order a worker ending a task takes them.
        if (!(await jobAtCursor(tx, current.job, current.cursor, { lock: true }))) return 'lost';
        const now = new Date();
        const reserved = await reserveUpTo(tx, tenantId, sources.length, now);
        if (reserved.count < sources.length) {
          sources = sources.slice(0, reserved.count);
          truncated = { code: 'quota_exceeded', message: `${reserved.detail}; the listing stopped there` };
        }
        await insertTasks(
          tx,
          sources.map((source, index) => ({
            tenantId,
            jobId: current.job.jobId,
            item: at.expandedItems + index,
            sourceBucket: source.bucket,
            sourceKey: source.key,
            laneRank: current.spec.priority === 'high' ? 0 : 1,
          })),
          new Map([[tenantId, policy?.maxInFlight ?? unboundedInFlight]]),
        );
        // Past the cap, skipped entries are only counted; the results manifest says how many more.
        const recorded = Math.min(at.skipped, maxRecordedProblems);
        await insertProblems(
          tx,
          current.job,
          plan.problems.slice(0, Math.max(maxRecordedProblems - recorded, 0)),
        );
        const page: PageRecord = {
          cursor: entries.at(-1)?.cursor ?? current.cursor,
          created: sources.length,
          skipped: plan.problems.length,
          reservedAt: now,
          finished: exhausted || truncated !== undefined,
          ...(truncated ? { truncated } : {}),
        };
        // The job moved on while this page was written: roll all of it back.
        if (!(await recordPage(tx, current.job, current.cursor, page, leaseMs))) throw lost;
        current.cursor = page.cursor;
        options.onPage?.(current.job, page);
        return page.finished ? 'finished' : 'more';
      })
      .catch(async (error: unknown): Promise<PageOutcome> => {
        // Also a task of this page another gateway committed first (a unique violation): lost, not failed.
        if (error === lost || !(await jobAtCursor(db, current.job, current.cursor))) return 'lost';
        throw error;
      });
  }

  const loop = createPollLoop({
    name: 'catalog expander',
    idleMs: options.idleMs,
    log,
    async step() {
      turn ??= await claim();
      const current = turn;
      if (!current) return 0;
      try {
        if ((await tenantBacklog(db, current.job.tenantId)) >= backlog) {
          await endTurn(true);
          return 0;
        }
        const outcome = await expandPage(current);
        current.pages += 1;
        if (outcome === 'finished') {
          log.info({ tenant: current.job.tenantId, job: current.job.jobId }, 'catalog job listed');
          await endTurn(false);
        } else if (outcome === 'lost') await endTurn(false);
        else if (current.pages >= pagesPerTurn) await endTurn(true);
        return 1;
      } catch (error) {
        await endTurn(false).catch(() => {});
        await pageFailed(current, error);
        return 1;
      }
    },
  });
  return {
    start: () => loop.start(),
    nudge: () => loop.nudge(),
    async stop() {
      await loop.stop();
      await endTurn(true).catch((error: unknown) =>
        log.warn({ err: error }, 'could not release a listed job'),
      );
    },
  };
}

/** Reserves as many of `count` images as the quotas allow, halving the ask after each refusal. */
async function reserveUpTo(
  tx: Queryable,
  tenantId: string,
  count: number,
  now: Date,
): Promise<{ count: number; detail?: string }> {
  let ask = count;
  let detail: string | undefined;
  while (ask > 0) {
    const reservation = await reserveImages(tx, tenantId, ask, now);
    if (reservation.ok) return detail === undefined ? { count: ask } : { count: ask, detail };
    detail ??= reservation.detail;
    ask = Math.floor(ask / 2);
  }
  return detail === undefined ? { count: 0 } : { count: 0, detail };
}
