import type { Queryable } from '../db/database.js';
import {
  deleteJobs,
  insertJobs,
  insertTasks,
  type JobRef,
  jobOrigins,
  jobRefKey,
  type NewJob,
  unboundedInFlight,
} from '../jobs/job-store.js';
import { metadataOf } from '../jobs/result-events.js';
import { type Grant, loadGrants } from '../policy/grants.js';
import { type EffectivePolicy, effectivePolicy } from '../policy/quotas.js';
import { type Decided, type Decision, reject } from './decisions.js';
import { forbiddenLocation, type JobPlan, type PlanContext, planJob } from './job-plan.js';
import { nonceUseKey, recordNonces } from './nonces.js';
import { takeQuotas } from './quota-checks.js';
import type { Screened, Verified } from './screen.js';

// The checks that need the database, for a whole batch inside ONE transaction, in protocol order:
// nonce, body, grants, limits, duplicate job id, quotas. Writes the nonces, jobs and tasks; the
// caller adds audit rows and result events to the same transaction and acks after it commits.

export interface AdmissionContext extends PlanContext {
  readonly now: Date;
  readonly windowMs: number;
}

interface Candidate extends Verified {
  readonly index: number;
  plan?: JobPlan;
}

const refOf = (c: Verified): JobRef => ({ tenantId: c.key.tenantId, jobId: c.headers.messageId });

export async function decideBatch(
  tx: Queryable,
  screened: readonly Screened[],
  context: AdmissionContext,
): Promise<Decided[]> {
  const decisions: (Decision | undefined)[] = screened.map((s) => (s.verified ? undefined : s.decision));
  const decide = (c: Candidate, decision: Decision) => {
    decisions[c.index] = decision;
  };
  const candidates: Candidate[] = screened.flatMap((s, index) => (s.verified ? [{ ...s, index }] : []));
  const open = () => candidates.filter((c) => decisions[c.index] === undefined);

  await settleRedeliveries(tx, open(), decide);
  await checkNonces(tx, open(), context, decide);
  for (const c of open()) {
    const planned = planSafely(c, context);
    if ('decision' in planned) decide(c, planned.decision);
    else c.plan = planned.plan;
  }
  const tenants = [...new Set(open().map((c) => c.key.tenantId))].sort();
  const grants = new Map<string, Grant[]>();
  const policies = new Map<string, EffectivePolicy>();
  for (const tenant of tenants) {
    grants.set(tenant, await loadGrants(tx, tenant));
    const policy = await effectivePolicy(tx, tenant);
    if (policy) policies.set(tenant, policy);
  }
  for (const c of open()) {
    const forbidden = forbiddenLocation(c.plan!, grants.get(c.key.tenantId) ?? []);
    if (forbidden) {
      decide(c, reject('forbidden_location', `${forbidden} for tenant ${c.key.tenantId}`));
      continue;
    }
    const maxItems = policies.get(c.key.tenantId)?.maxItemsPerJob ?? null;
    const items = c.plan!.sources.length;
    // A listed job's size is known only while it is listed: the expander stops at the maximum.
    if (maxItems !== null && items > maxItems) {
      decide(
        c,
        reject('too_many_items', `the job has ${items} items; the tenant's maximum per job is ${maxItems}`),
      );
    }
  }
  await insertNewJobs(tx, open(), policies, context, decide);
  await checkQuotas(tx, open(), policies, context, decide);
  await insertTasks(
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
  );
  for (const c of open()) {
    decide(c, {
      outcome: 'accepted',
      job: {
        ...refOf(c),
        keyId: c.key.keyId,
        items: c.plan!.expands ? null : c.plan!.sources.length,
        lane: laneOf(policies.get(c.key.tenantId)),
        model: c.plan!.model,
        ...metadataOf(c.plan!.job),
      },
    });
  }
  return screened.map((s, index) => ({
    delivery: s.delivery,
    sender: s.sender,
    decision: decisions[index]!,
  }));
}

type Decide = (c: Candidate, decision: Decision) => void;

/** Nothing a producer writes may crash the consumer: a body the parser chokes on is an invalid body. */
function planSafely(c: Candidate, context: PlanContext): ReturnType<typeof planJob> {
  try {
    return planJob(c.delivery.body, context);
  } catch (error) {
    return { decision: reject('invalid_body', `the body could not be read: ${String(error).slice(0, 200)}`) };
  }
}

const quietly: Decision = { outcome: 'redelivered' };

/** A redelivered message whose job exists under its own key and nonce was admitted before the ack was lost. */
async function settleRedeliveries(tx: Queryable, candidates: Candidate[], decide: Decide) {
  const redelivered = candidates.filter((c) => c.delivery.redelivered);
  const origins = await jobOrigins(tx, redelivered.map(refOf));
  for (const c of redelivered) {
    const origin = origins.get(jobRefKey(refOf(c)));
    if (origin?.keyId === c.key.keyId && origin.nonce === c.headers.nonce) decide(c, quietly);
  }
}

async function checkNonces(
  tx: Queryable,
  candidates: Candidate[],
  context: AdmissionContext,
  decide: Decide,
) {
  const replayed = (c: Candidate) =>
    decide(c, reject('replayed_nonce', `nonce ${c.headers.nonce} was already used with key ${c.key.keyId}`));
  const first = new Map<string, Candidate>();
  for (const c of candidates) {
    const key = nonceUseKey({ keyId: c.key.keyId, nonce: c.headers.nonce });
    if (first.has(key)) replayed(c);
    else first.set(key, c);
  }
  const uses = [...first.values()].map((c) => ({
    keyId: c.key.keyId,
    nonce: c.headers.nonce,
    messageId: c.headers.messageId,
    expiresAt: new Date(c.headers.timestamp * 1000 + context.windowMs),
  }));
  const taken = await recordNonces(tx, uses, context.now);
  for (const [key, holder] of taken) {
    const c = first.get(key)!;
    // The broker sets `redelivered`, a producer cannot: this is our own earlier attempt, decided again.
    if (!(c.delivery.redelivered && holder === c.headers.messageId)) replayed(c);
  }
}

async function insertNewJobs(
  tx: Queryable,
  candidates: Candidate[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  context: AdmissionContext,
  decide: Decide,
) {
  const duplicate = (c: Candidate) =>
    decide(c, reject('duplicate', `tenant ${c.key.tenantId} already submitted job ${c.headers.messageId}`));
  const first = new Map<string, Candidate>();
  for (const c of candidates) {
    const key = jobRefKey(refOf(c));
    if (first.has(key)) duplicate(c);
    else first.set(key, c);
  }
  const jobs: NewJob[] = [...first.values()].map((c) => ({
    ...refOf(c),
    keyId: c.key.keyId,
    nonce: c.headers.nonce,
    spec: c.plan!.job,
    model: c.plan!.model,
    lane: laneOf(policies.get(c.key.tenantId)),
    // A listed job reserves its images page by page as the expander creates its tasks.
    ...(c.plan!.expands ? {} : { total: c.plan!.sources.length }),
    imagesReserved: c.plan!.sources.length,
    reservedAt: context.now,
  }));
  const inserted = await insertJobs(tx, jobs);
  const existing = [...first.values()].filter((c) => !inserted.has(jobRefKey(refOf(c))));
  const origins = await jobOrigins(tx, existing.map(refOf));
  for (const c of existing) {
    const origin = origins.get(jobRefKey(refOf(c)));
    if (origin?.keyId === c.key.keyId && origin.nonce === c.headers.nonce) decide(c, quietly);
    else duplicate(c);
  }
}

/** Quotas last: a refused job's row (inserted above, in this transaction) goes again. */
async function checkQuotas(
  tx: Queryable,
  candidates: Candidate[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  context: AdmissionContext,
  decide: Decide,
) {
  const claims = candidates.map((c) => ({ tenantId: c.key.tenantId, images: c.plan!.sources.length }));
  const refusals = await takeQuotas(tx, claims, policies, context.now);
  for (const [index, decision] of refusals) decide(candidates[index]!, decision);
  await deleteJobs(
    tx,
    [...refusals.keys()].map((index) => refOf(candidates[index]!)),
  );
}

function laneOf(policy: EffectivePolicy | undefined): 'normal' | 'priority' {
  return policy?.priority ? 'priority' : 'normal';
}
