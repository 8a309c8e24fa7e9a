import type { Queryable } from '../db/database.js';
import {
  type AdmissionRelease,
  deleteJobs,
  insertJobs,
  insertTasks,
  type JobRef,
  jobOrigins,
  jobRefKey,
  type NewJob,
  unboundedInFlight,
} from '../jobs/job-store.js';
import type { ClaimedEvent } from '../jobs/outbox.js';
import { metadataOf } from '../jobs/result-events.js';
import type { JobForTasks, ReleasedTask } from '../jobs/task-queue.js';
import type { ModelCatalog } from '../models/catalog.js';
import type { Grant } from '../policy/grants.js';
import type { EffectivePolicy } from '../policy/quotas.js';
import { loadTenantRules } from '../policy/tenant-rules.js';
import { type Decision, type Rejected, reject } from './decision.js';
import { forbiddenLocation, type JobPlan, planJob } from './job-plan.js';
import { takeQuotas } from './quota-checks.js';
import { recordDecisions } from './record.js';
import type { AdmissionRequest, NonceLedger } from './request.js';

// The one place a verified request becomes a job. For a whole batch inside the caller's ONE
// transaction, in protocol order: repeats, nonce, body and model, grants, item limit, duplicate
// job id, quotas; then the job and task rows, the audit rows and the result events. The caller
// acknowledges its requests only after that transaction commits.

export interface AdmissionContext {
  readonly now: Date;
  readonly catalog: ModelCatalog;
  /** Needed when a request carries a nonce. */
  readonly nonces?: NonceLedger;
  /**
   * Hears the admitted jobs as the dispatcher reads them back to build their tasks, before the
   * transaction commits: a door keeps them only once it has (src/gateway/admitted-jobs.ts).
   */
  readonly onAdmitted?: (jobs: readonly JobForTasks[]) => void;
  /**
   * A door that publishes after its commit: tasks of tenants with room are released to it and its
   * result events leased to it (job-store.ts insertTasks, outbox.ts enqueueEvents); `onReleased`
   * hears them before the commit. The dispatcher and relays publish them if it does not in time.
   */
  readonly release?: AdmissionRelease;
  readonly onReleased?: (tasks: readonly ReleasedTask[], events: readonly ClaimedEvent[]) => void;
}

interface Candidate {
  readonly request: AdmissionRequest;
  readonly index: number;
  plan?: JobPlan;
}

type Decide = (c: Candidate, decision: Decision) => void;

const refOf = ({ request }: Candidate): JobRef => ({ tenantId: request.tenantId, jobId: request.jobId });
const quietly: Decision = { outcome: 'redelivered' };

/** One decision per request, in request order; audit rows and result events are written too. */
export async function admitBatch(
  tx: Queryable,
  requests: readonly AdmissionRequest[],
  context: AdmissionContext,
): Promise<Decision[]> {
  const decisions: (Decision | undefined)[] = requests.map(() => undefined);
  const decide: Decide = (c, decision) => {
    decisions[c.index] = decision;
  };
  const candidates: Candidate[] = requests.map((request, index) => ({ request, index }));
  const open = () => candidates.filter((c) => decisions[c.index] === undefined);

  await settleRepeats(tx, open(), decide);
  await checkNonces(tx, open(), context, decide);
  for (const c of open()) {
    const planned = planJob(c.request.body, context.catalog);
    if ('decision' in planned) decide(c, planned.decision);
    else c.plan = planned.plan;
  }
  const { grants, policies } = await loadPolicies(tx, open());
  for (const c of open()) {
    const refusal = refusedByPolicy(
      c,
      grants.get(c.request.tenantId) ?? [],
      policies.get(c.request.tenantId),
    );
    if (refusal) decide(c, refusal);
  }
  const inserted = await insertNewJobs(tx, open(), policies, context.now, decide);
  await checkQuotas(tx, open(), policies, context.now, decide);
  const tasks = await insertTasks(
    tx,
    open().flatMap((c) =>
      c.plan!.sources.map((source, item) => ({
        ...refOf(c),
        item,
        sourceBucket: source.bucket,
        sourceKey: source.key,
        laneRank: c.plan!.laneRank,
      })),
    ),
    new Map([...policies].map(([tenant, policy]) => [tenant, policy.maxInFlight ?? unboundedInFlight])),
    context.release,
  );
  const accepted = open();
  context.onAdmitted?.(accepted.map((c) => inserted.get(jobRefKey(refOf(c)))!));
  for (const c of accepted) {
    decide(c, {
      outcome: 'accepted',
      job: {
        ...refOf(c),
        keyId: c.request.keyId,
        items: c.plan!.expands ? null : c.plan!.sources.length,
        lane: laneOf(c.request, policies.get(c.request.tenantId)),
        model: c.plan!.model,
        ...metadataOf(c.plan!.job),
      },
    });
  }
  const decided = decisions.map((decision) => decision!);
  const events = await recordDecisions(
    tx,
    candidates.map(({ request, index, plan }) => ({
      request,
      decision: decided[index]!,
      ...metadataOf(plan?.job),
    })),
    context.now,
    context.release?.leaseMs,
  );
  context.onReleased?.(tasks, events);
  return decided;
}

/** A repeated request whose job exists under its own key and nonce was admitted before its ack was lost. */
async function settleRepeats(tx: Queryable, candidates: Candidate[], decide: Decide) {
  const repeated = candidates.filter((c) => c.request.repeated);
  const origins = await jobOrigins(tx, repeated.map(refOf));
  for (const c of repeated) {
    if (sameOrigin(c, origins.get(jobRefKey(refOf(c))))) decide(c, quietly);
  }
}

const sameOrigin = (c: Candidate, origin: { keyId: string | null; nonce: string | null } | undefined) =>
  origin !== undefined &&
  origin.keyId === c.request.keyId &&
  origin.nonce === (c.request.nonce?.value ?? null);

async function checkNonces(
  tx: Queryable,
  candidates: Candidate[],
  context: AdmissionContext,
  decide: Decide,
) {
  const signed = candidates.filter((c) => c.request.keyId !== null && c.request.nonce !== null);
  if (signed.length === 0) return;
  const ledger = context.nonces;
  if (ledger === undefined)
    throw new Error('admission: a request carries a nonce, but no nonce ledger was given');
  const replayed = (c: Candidate) =>
    decide(
      c,
      reject(
        'replayed_nonce',
        `nonce ${c.request.nonce!.value} was already used with key ${c.request.keyId}`,
      ),
    );
  const first = new Map<string, Candidate>();
  for (const c of signed) {
    const key = ledger.key({ keyId: c.request.keyId!, nonce: c.request.nonce!.value });
    if (first.has(key)) replayed(c);
    else first.set(key, c);
  }
  const uses = [...first.values()].map(({ request }) => ({
    keyId: request.keyId!,
    nonce: request.nonce!.value,
    messageId: request.jobId,
    expiresAt: request.nonce!.expiresAt,
  }));
  const taken = await ledger.record(tx, uses, context.now);
  for (const [key, holder] of taken) {
    const c = first.get(key)!;
    // Only the transport can say `repeated`, a producer cannot: this is our own earlier attempt, decided again.
    if (!(c.request.repeated && holder === c.request.jobId)) replayed(c);
  }
}

/** Grants and policies of every tenant of the batch, in one statement. */
async function loadPolicies(tx: Queryable, candidates: readonly Candidate[]) {
  const rules = await loadTenantRules(
    tx,
    candidates.map((c) => c.request.tenantId),
  );
  const grants = new Map<string, readonly Grant[]>([...rules].map(([tenant, r]) => [tenant, r.grants]));
  const policies = new Map<string, EffectivePolicy>([...rules].map(([tenant, r]) => [tenant, r.policy]));
  return { grants, policies };
}

function refusedByPolicy(
  c: Candidate,
  grants: readonly Grant[],
  policy: EffectivePolicy | undefined,
): Rejected | undefined {
  const forbidden = forbiddenLocation(c.plan!, grants);
  if (forbidden) return reject('forbidden_location', `${forbidden} for tenant ${c.request.tenantId}`);
  const maxItems = policy?.maxItemsPerJob ?? null;
  const items = c.plan!.sources.length;
  // A listed job's size is known only while it is listed: the expander stops at the maximum.
  if (maxItems !== null && items > maxItems) {
    return reject(
      'too_many_items',
      `the job has ${items} items; the tenant's maximum per job is ${maxItems}`,
    );
  }
  return undefined;
}

async function insertNewJobs(
  tx: Queryable,
  candidates: Candidate[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  now: Date,
  decide: Decide,
) {
  const duplicate = (c: Candidate) =>
    decide(c, reject('duplicate', `tenant ${c.request.tenantId} already submitted job ${c.request.jobId}`));
  const first = new Map<string, Candidate>();
  for (const c of candidates) {
    const key = jobRefKey(refOf(c));
    if (first.has(key)) duplicate(c);
    else first.set(key, c);
  }
  const jobs = [...first.values()].map((c) => ({
    ...refOf(c),
    keyId: c.request.keyId,
    nonce: c.request.nonce?.value ?? null,
    // The model actually used, also when the job named none.
    spec: { ...c.plan!.job, model: c.plan!.model },
    model: c.plan!.model,
    lane: laneOf(c.request, policies.get(c.request.tenantId)),
    // A listed job reserves its images page by page as the expander creates its tasks.
    ...(c.plan!.expands ? {} : { total: c.plan!.sources.length }),
    imagesReserved: c.plan!.sources.length,
    reservedAt: now,
  })) satisfies NewJob[];
  const created = await insertJobs(tx, jobs);
  const existing = [...first.values()].filter((c) => !created.has(jobRefKey(refOf(c))));
  const origins = await jobOrigins(tx, existing.map(refOf));
  for (const c of existing) {
    // The same origin made it: a repeat that raced its first copy (another gateway, another batch).
    if (sameOrigin(c, origins.get(jobRefKey(refOf(c))))) decide(c, quietly);
    else duplicate(c);
  }
  /** The rows inserted, as the dispatcher reads them, by jobRefKey. */
  const inserted = new Map<string, JobForTasks>();
  for (const job of jobs) {
    const key = jobRefKey(job);
    const createdAt = created.get(key);
    if (createdAt === undefined) continue;
    const { tenantId, jobId, keyId, model, lane } = job;
    inserted.set(key, { tenantId, jobId, keyId, spec: job.spec, model, lane, createdAt });
  }
  return inserted;
}

/** Quotas last: a refused job's row (inserted above, in this transaction) goes again. */
async function checkQuotas(
  tx: Queryable,
  candidates: Candidate[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  now: Date,
  decide: Decide,
) {
  const claims = candidates.map((c) => ({ tenantId: c.request.tenantId, images: c.plan!.sources.length }));
  const refusals = await takeQuotas(tx, claims, policies, now);
  for (const [index, decision] of refusals) decide(candidates[index]!, decision);
  await deleteJobs(
    tx,
    [...refusals.keys()].map((index) => refOf(candidates[index]!)),
  );
}

function laneOf(request: AdmissionRequest, policy: EffectivePolicy | undefined): 'normal' | 'priority' {
  return request.priorityLane || policy?.priority ? 'priority' : 'normal';
}
