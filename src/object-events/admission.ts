import { createHash } from 'node:crypto';
import { admitBatch } from '../admission/admit.js';
import type { Decision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/request.js';
import type { Queryable } from '../db/database.js';
import type { ModelCatalog } from '../models/catalog.js';
import { isUnderAnyOutput, ruleMatches, type TriggerRule } from '../triggers/trigger-rule.js';
import { rulesForBuckets } from '../triggers/trigger-store.js';
import type { ObjectEvent } from './object-event.js';
import { processedVersions, recordProcessed, versionKey } from './processed-events.js';

// Object events → admission requests, for every door that reports S3 objects. This keeps what
// only object events need (rule matching, loop protection, de-duplication of repeated events);
// the admission core decides and records each job as it does a signed one. One job per event and matching rule: its id is
// derived from the rule and the object version, so the job row itself is idempotent.

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
  /** One entry per matching rule. */
  readonly jobs: readonly { tenantId: string; jobId: string; decision: Decision }[];
}

interface Candidate {
  readonly event: ObjectEvent;
  readonly rule: TriggerRule;
  readonly request: AdmissionRequest;
}

/** `s3-<rule id>-<40 hex of sha256(bucket, key, eTag)>`: the same object version and rule, the same job. */
export function eventJobId(ruleId: string, event: Pick<ObjectEvent, 'bucket' | 'key' | 'eTag'>): string {
  const digest = createHash('sha256').update(versionKey(event)).digest('hex').slice(0, 40);
  return `s3-${ruleId}-${digest}`;
}

export interface EventContext {
  readonly now: Date;
  readonly catalog: ModelCatalog;
  /**
   * Only this tenant's rules act, and de-duplication is the tenant's own: an HTTP event comes
   * from a tenant's credentials. Undefined: every tenant's rules (the storage system's own queue).
   * Loop protection always looks at every rule, but a tenant hears of it only for an object one
   * of its own rules matches: where other tenants' outputs lie is none of its business.
   */
  readonly tenantId?: string;
}

export async function admitEvents(
  tx: Queryable,
  events: readonly ObjectEvent[],
  context: EventContext,
): Promise<EventDecision[]> {
  const { tenantId } = context;
  const scope = tenantId ?? '';
  const rules = await rulesForBuckets(tx, [...new Set(events.map((e) => e.bucket))]);
  const matching = (event: ObjectEvent) =>
    rules.filter(
      (rule) =>
        rule.enabled && ruleMatches(rule, event) && (tenantId === undefined || rule.tenantId === tenantId),
    );
  const outcomes = new Map<ObjectEvent, EventOutcome>();
  const matched: ObjectEvent[] = [];
  for (const event of events) {
    const own = matching(event).length > 0;
    if (!event.created) outcomes.set(event, 'ignored_not_created');
    else if (tenantId !== undefined && !own) outcomes.set(event, 'ignored_no_rule');
    else if (isUnderAnyOutput(rules, event)) outcomes.set(event, 'ignored_own_output');
    else if (!own) outcomes.set(event, 'ignored_no_rule');
    else matched.push(event);
  }
  const fresh = await withoutProcessed(tx, scope, matched);
  for (const event of matched) if (!fresh.includes(event)) outcomes.set(event, 'duplicate');

  const candidates: Candidate[] = fresh.flatMap((event) =>
    matching(event).map((rule) => ({ event, rule, request: requestOf(event, rule) })),
  );
  const decisions = await admitBatch(
    tx,
    candidates.map((c) => c.request),
    { now: context.now, catalog: context.catalog },
  );
  const decided = candidates.map((c, index) => ({ ...c, decision: decisions[index]! }));
  const answers = events.map((event) => {
    const jobs = decided
      .filter((d) => d.event === event)
      .map((d) => ({ tenantId: d.request.tenantId, jobId: d.request.jobId, decision: d.decision }));
    return { event, outcome: outcomes.get(event) ?? outcomeOf(jobs.map((j) => j.decision)), jobs };
  });
  // Only a fully decided event is recorded: one with a job refused for rate or quota stays open,
  // so a retry (EventBridge's, or the storage system's redelivery) makes that job, while the jobs
  // already made come back as repeats (their ids are derived from the rule and the version).
  await recordProcessed(
    tx,
    scope,
    answers.flatMap(({ event, outcome, jobs }) => {
      if (outcome !== 'accepted') return [];
      const made = jobs.filter((j) => j.decision.outcome !== 'rejected');
      return [{ ...event, jobs: made.map((j) => `${j.tenantId}/${j.jobId}`) }];
    }),
  );
  return answers;
}

/** A refusal that a later try of the same request can overcome: the job rate or an image quota. */
export function isRetriableRefusal(decision: Decision): boolean {
  return (
    decision.outcome === 'rejected' &&
    (decision.rejection.reason === 'rate_limited' || decision.rejection.reason === 'quota_exceeded')
  );
}

/**
 * An event's outcome from its rules' decisions: rejected while any rule's job may still be made
 * on a retry, else accepted if any rule's job was.
 */
function outcomeOf(decisions: readonly Decision[]): EventOutcome {
  if (decisions.some(isRetriableRefusal)) return 'rejected';
  if (decisions.some((d) => d.outcome === 'accepted')) return 'accepted';
  const repeat = (d: Decision) =>
    d.outcome === 'redelivered' || (d.outcome === 'rejected' && d.rejection.reason === 'duplicate');
  return decisions.every(repeat) ? 'duplicate' : 'rejected';
}

/** The events whose object version has not become work before (nor earlier in this batch). */
async function withoutProcessed(
  tx: Queryable,
  scope: string,
  events: readonly ObjectEvent[],
): Promise<ObjectEvent[]> {
  const seen = await processedVersions(tx, scope, events);
  return events.filter((event) => {
    const key = versionKey(event);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The job a rule makes of an event, checked by the core like a producer's body. */
function requestOf(event: ObjectEvent, rule: TriggerRule): AdmissionRequest {
  return {
    tenantId: rule.tenantId,
    jobId: eventJobId(rule.id, event),
    keyId: null,
    nonce: null,
    body: {
      value: {
        version: 1,
        input: { bucket: event.bucket, key: event.key },
        output: rule.output,
        renditions: rule.renditions,
        ...(rule.model === undefined ? {} : { model: rule.model }),
        metadata: {
          trigger: rule.id,
          event: event.name,
          eTag: event.eTag ?? null,
          ...(event.size === undefined ? {} : { size: event.size }),
        },
      },
    },
    // A second copy of an event (another gateway's) finds the job its first copy made.
    repeated: true,
    origin: {
      source: 'event',
      context: `s3://${event.bucket}/${event.key} (eTag ${event.eTag}) by trigger ${rule.id}`,
    },
  };
}
