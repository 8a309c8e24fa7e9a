import { createHash } from 'node:crypto';
import { type AuditRow, recordAudit } from '../audit/audit.js';
import { parseJob } from '../contracts/job.js';
import type { Queryable } from '../db/database.js';
import type { Decision, Rejection } from '../gateway/decisions.js';
import { forbiddenLocation, type JobPlan, type PlanContext } from '../gateway/job-plan.js';
import { takeQuotas } from '../gateway/quota-checks.js';
import {
  deleteJobs,
  insertJobs,
  insertTasks,
  jobRefKey,
  type NewJob,
  unboundedInFlight,
} from '../jobs/job-store.js';
import { enqueueEvents, type OutboxEvent } from '../jobs/outbox.js';
import { acceptedEvent, rejectedEvent } from '../jobs/result-events.js';
import { type Grant, loadGrants } from '../policy/grants.js';
import { type EffectivePolicy, effectivePolicy } from '../policy/quotas.js';
import { isUnderAnyOutput, ruleMatches, type TriggerRule } from '../triggers/trigger-rule.js';
import { rulesForBuckets } from '../triggers/trigger-store.js';
import type { ObjectEvent } from './parse.js';

// Object events → jobs, inside the caller's transaction, through the same steps and stores as a
// signed job (grants, quotas, jobs + tasks, audit rows, result events in the outbox). One job per
// event and matching rule: its id is derived from the rule and the object version, so the job row
// itself is idempotent, and each uploaded image gets its own accepted/item/job.completed events.

export type EventOutcome =
  | 'accepted'
  | 'rejected'
  | 'duplicate'
  | 'ignored_not_created'
  | 'ignored_own_output'
  | 'ignored_no_rule';

export interface EventDecision {
  readonly event: ObjectEvent;
  readonly outcome: EventOutcome;
  /** One entry per matching rule (accepted, rejected or duplicate). */
  readonly jobs: readonly { tenantId: string; jobId: string; decision: JobDecision }[];
}

/** What became of one (event, rule) pair. */
export type JobDecision =
  | { readonly outcome: 'accepted'; readonly model: string }
  | { readonly outcome: 'duplicate' }
  | Extract<Decision, { outcome: 'rejected' }>;

function reject(
  reason: Rejection['reason'],
  message: string,
  extra: Pick<Rejection, 'problems'> = {},
): JobDecision {
  return { outcome: 'rejected', rejection: { reason, message, ...extra } };
}

interface Candidate {
  readonly event: ObjectEvent;
  readonly rule: TriggerRule;
  readonly tenantId: string;
  readonly jobId: string;
  plan?: JobPlan;
  decision?: JobDecision;
}

const versionKey = (e: { bucket: string; key: string; eTag?: string }) => `${e.bucket}\n${e.key}\n${e.eTag}`;

/** `s3-<rule id>-<40 hex of sha256(bucket, key, eTag)>`: the same object version and rule, the same job. */
export function eventJobId(ruleId: string, event: Pick<ObjectEvent, 'bucket' | 'key' | 'eTag'>): string {
  const digest = createHash('sha256').update(versionKey(event)).digest('hex').slice(0, 40);
  return `s3-${ruleId}-${digest}`;
}

export async function admitEvents(
  tx: Queryable,
  events: readonly ObjectEvent[],
  context: PlanContext & { readonly now: Date },
): Promise<EventDecision[]> {
  const rules = await rulesForBuckets(tx, [...new Set(events.map((e) => e.bucket))]);
  const outcomes = new Map<ObjectEvent, EventOutcome>();
  const matched: ObjectEvent[] = [];
  for (const event of events) {
    if (!event.created) outcomes.set(event, 'ignored_not_created');
    else if (isUnderAnyOutput(rules, event)) outcomes.set(event, 'ignored_own_output');
    else if (!rules.some((rule) => rule.enabled && ruleMatches(rule, event))) {
      outcomes.set(event, 'ignored_no_rule');
    } else matched.push(event);
  }
  const fresh = await withoutProcessed(tx, matched);
  for (const event of matched) if (!fresh.includes(event)) outcomes.set(event, 'duplicate');

  const candidates: Candidate[] = fresh.flatMap((event) =>
    rules
      .filter((rule) => rule.enabled && ruleMatches(rule, event))
      .map((rule) => ({ event, rule, tenantId: rule.tenantId, jobId: eventJobId(rule.id, event) })),
  );
  const open = () => candidates.filter((c) => c.decision === undefined);
  for (const c of candidates) plan(c, context);

  const policies = new Map<string, EffectivePolicy>();
  const grants = new Map<string, Grant[]>();
  for (const tenant of [...new Set(open().map((c) => c.tenantId))].sort()) {
    grants.set(tenant, await loadGrants(tx, tenant));
    const policy = await effectivePolicy(tx, tenant);
    if (policy) policies.set(tenant, policy);
  }
  for (const c of open()) {
    const forbidden = forbiddenLocation(c.plan!, grants.get(c.tenantId) ?? []);
    if (forbidden) c.decision = reject('forbidden_location', `${forbidden} for tenant ${c.tenantId}`);
  }
  await insertEventJobs(tx, open(), policies, context.now);
  const claimants = open();
  const refusals = await takeQuotas(
    tx,
    claimants.map((c) => ({ tenantId: c.tenantId, images: 1 })),
    policies,
    context.now,
  );
  for (const [index, decision] of refusals) {
    if (decision.outcome === 'rejected') claimants[index]!.decision = decision;
  }
  await deleteJobs(
    tx,
    [...refusals.keys()].map((index) => claimants[index]!),
  );
  const admitted = open();
  await insertTasks(
    tx,
    admitted.map((c) => ({
      tenantId: c.tenantId,
      jobId: c.jobId,
      item: 0,
      sourceBucket: c.event.bucket,
      sourceKey: c.event.key,
      laneRank: 1,
    })),
    new Map([...policies].map(([tenant, policy]) => [tenant, policy.maxInFlight ?? unboundedInFlight])),
  );
  for (const c of admitted) c.decision = { outcome: 'accepted', model: c.plan!.model };
  await markProcessed(tx, candidates);
  await recordEventDecisions(tx, candidates, context.now);

  return events.map((event) => {
    const jobs = candidates
      .filter((c) => c.event === event)
      .map((c) => ({ tenantId: c.tenantId, jobId: c.jobId, decision: c.decision! }));
    const outcome =
      outcomes.get(event) ??
      (jobs.some((j) => j.decision.outcome === 'accepted')
        ? 'accepted'
        : jobs.every((j) => j.decision.outcome === 'duplicate')
          ? 'duplicate'
          : 'rejected');
    return { event, outcome, jobs };
  });
}

/** The events whose object version has not become work before (nor earlier in this batch). */
async function withoutProcessed(tx: Queryable, events: readonly ObjectEvent[]): Promise<ObjectEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.query<{ bucket: string; key: string; etag: string }>(
    `SELECT bucket, key, etag FROM processed_events
     WHERE (bucket, key, etag) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
    [events.map((e) => e.bucket), events.map((e) => e.key), events.map((e) => e.eTag)],
  );
  const seen = new Set(rows.map((row) => versionKey({ ...row, eTag: row.etag })));
  return events.filter((event) => {
    const key = versionKey(event);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The job a rule makes of an event, checked by the job contract like a producer's body. */
function plan(c: Candidate, context: PlanContext): void {
  const model = c.rule.model ?? context.defaultModel;
  if (context.knownModels && !context.knownModels.has(model)) {
    const known = [...context.knownModels].join(', ');
    c.decision = reject(
      'unknown_model',
      `trigger ${c.rule.id} names model "${model}"; known models: ${known}`,
    );
    return;
  }
  const { event } = c;
  const parsed = parseJob({
    version: 1,
    input: { bucket: event.bucket, key: event.key },
    output: c.rule.output,
    renditions: c.rule.renditions,
    model,
    metadata: {
      trigger: c.rule.id,
      event: event.name,
      eTag: event.eTag ?? null,
      ...(event.size === undefined ? {} : { size: event.size }),
    },
  });
  if (!parsed.ok) {
    c.decision = reject('invalid_body', parsed.problems.slice(0, 10).join('; '), {
      problems: parsed.problems.slice(0, 50),
    });
    return;
  }
  c.plan = {
    job: parsed.job,
    model,
    sources: [{ bucket: event.bucket, key: event.key }],
    expands: false,
    laneRank: 1,
  };
}

/** A job that already exists was made by an earlier copy of this event (a concurrent gateway's). */
async function insertEventJobs(
  tx: Queryable,
  candidates: Candidate[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  now: Date,
): Promise<void> {
  const jobs: NewJob[] = candidates.map((c) => ({
    tenantId: c.tenantId,
    jobId: c.jobId,
    keyId: null,
    nonce: null,
    spec: c.plan!.job,
    model: c.plan!.model,
    lane: laneOf(policies.get(c.tenantId)),
    total: 1,
    imagesReserved: 1,
    reservedAt: now,
  }));
  const inserted = await insertJobs(tx, jobs);
  for (const c of candidates) if (!inserted.has(jobRefKey(c))) c.decision = { outcome: 'duplicate' };
}

async function markProcessed(tx: Queryable, candidates: readonly Candidate[]): Promise<void> {
  const accepted = new Map<ObjectEvent, string[]>();
  for (const c of candidates) {
    if (c.decision?.outcome === 'accepted') {
      accepted.set(c.event, [...(accepted.get(c.event) ?? []), `${c.tenantId}/${c.jobId}`]);
    }
  }
  if (accepted.size === 0) return;
  const events = [...accepted.keys()];
  await tx.query(
    `INSERT INTO processed_events (bucket, key, etag, event_name, sequencer, jobs)
     SELECT b, k, e, n, s, string_to_array(j, ' ')
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(b, k, e, n, s, j)
     ON CONFLICT DO NOTHING`,
    [
      events.map((e) => e.bucket),
      events.map((e) => e.key),
      events.map((e) => e.eTag),
      events.map((e) => e.name),
      events.map((e) => e.sequencer ?? null),
      events.map((e) => accepted.get(e)!.join(' ')),
    ],
  );
}

/** Audit rows and result events, as for a signed job; the signing key is null. */
async function recordEventDecisions(tx: Queryable, candidates: readonly Candidate[], at: Date) {
  const audit: AuditRow[] = [];
  const results: OutboxEvent[] = [];
  for (const c of candidates) {
    const { decision } = c;
    const where = `s3://${c.event.bucket}/${c.event.key} (eTag ${c.event.eTag}) by trigger ${c.rule.id}`;
    const who = { tenantId: c.tenantId, messageId: c.jobId, source: 'event' as const, at };
    if (decision === undefined) continue;
    if (decision.outcome === 'duplicate') {
      audit.push({ ...who, outcome: 'duplicate', reason: 'duplicate', detail: where });
    } else if (decision.outcome === 'accepted') {
      audit.push({ ...who, outcome: 'accepted', detail: where });
      results.push(
        acceptedEvent(
          {
            tenant: c.tenantId,
            jobId: c.jobId,
            keyId: null,
            items: 1,
            model: decision.model,
            ...(c.plan?.job.metadata === undefined ? {} : { metadata: c.plan.job.metadata }),
          },
          at,
        ),
      );
    } else {
      const { rejection } = decision;
      audit.push({
        ...who,
        outcome: 'rejected',
        reason: rejection.reason,
        detail: `${where}: ${rejection.message}`,
      });
      results.push(
        rejectedEvent(
          {
            tenant: c.tenantId,
            jobId: c.jobId,
            keyId: null,
            reason: rejection.reason,
            message: `${where}: ${rejection.message}`.slice(0, 2000),
            ...(rejection.retryAfterSeconds === undefined
              ? {}
              : { retryAfterSeconds: rejection.retryAfterSeconds }),
          },
          at,
        ),
      );
    }
  }
  await recordAudit(tx, audit);
  await enqueueEvents(tx, results);
}

function laneOf(policy: EffectivePolicy | undefined): 'normal' | 'priority' {
  return policy?.priority ? 'priority' : 'normal';
}
