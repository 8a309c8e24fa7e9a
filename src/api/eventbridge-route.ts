import type { FastifyInstance, FastifyReply, preHandlerAsyncHookHandler } from 'fastify';
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import { announceAdmissions } from '../jobs/admission-notices.js';
import type { Logger } from '../log.js';
import type { ModelCatalog } from '../models/catalog.js';
import { admitEvents, type EventDecision, isRetriableRefusal } from '../object-events/admission.js';
import { contentTypePattern } from '../signing/headers.js';
import type { AuthOptions } from './authenticate.js';
import { bodyOf, principalOf } from './authenticate.js';
import type { Answer, eventAnswerSchema } from './contracts.js';
import { parseEventBridgeEvent } from './eventbridge-event.js';
import { ProblemError, problem, rejectionProblem } from './problems.js';

// POST /v1/events/s3: Amazon S3 events delivered by an EventBridge API destination, fed to the
// same trigger rules, de-duplication and loop protection as the AMQP event consumer
// (src/object-events), limited to the caller's tenant. Status codes are chosen for EventBridge,
// which retries 429 and 5xx and never other 4xx: 2xx for everything decided (ignored and repeated
// events too), 429 when a retry can make a job (rate, quotas: the event is then not recorded as
// processed), 4xx when it never will (to the rule's DLQ).

export interface EventBridgeRouteDeps {
  readonly db: Database;
  readonly catalog: ModelCatalog;
  readonly now: () => Date;
  readonly log: Logger;
  readonly authenticate: (options: AuthOptions) => preHandlerAsyncHookHandler;
}

type EventAnswer = Answer<typeof eventAnswerSchema>;

const ignoredDetail: Record<Exclude<EventDecision['outcome'], 'accepted' | 'rejected'>, string> = {
  duplicate: 'this object version already became work (a repeated event)',
  ignored_not_created: 'not an object creation',
  ignored_own_output:
    "the object lies under a trigger rule's output location (one of ClearCut's own outputs)",
  ignored_no_rule: 'no enabled trigger rule of your tenant matches this bucket and key',
};

export function registerEventBridgeRoute(app: FastifyInstance, deps: EventBridgeRouteDeps): void {
  app.post(
    '/v1/events/s3',
    { preHandler: deps.authenticate({ scope: 'events:write' }) },
    async (request, reply): Promise<EventAnswer> => {
      const { tenantId, keyId } = principalOf(request);
      if (!contentTypePattern.test(request.headers['content-type'] ?? '')) {
        throw new ProblemError(
          problem('unsupported_media_type', 'an EventBridge event is sent as Content-Type: application/json'),
        );
      }
      const parsed = parseEventBridgeEvent(bodyOf(request));
      const now = deps.now();
      if ('problems' in parsed) {
        await deps.db.transaction((tx) =>
          recordAudit(tx, [
            {
              at: now,
              source: 'api',
              tenantId,
              keyId,
              outcome: 'rejected',
              reason: 'invalid_body',
              detail: `S3 event: ${parsed.problems.join('; ')}`.slice(0, 2000),
            },
          ]),
        );
        throw new ProblemError(
          problem('invalid_body', 'the body is not an Amazon EventBridge event from Amazon S3', {
            problems: parsed.problems,
          }),
        );
      }
      if ('ignored' in parsed) {
        return { eventId: parsed.id, outcome: 'ignored_not_created', detail: parsed.ignored, jobs: [] };
      }
      const [decided] = await deps.db.transaction((tx) =>
        admitEvents(tx, [parsed.event], { now, catalog: deps.catalog, tenantId }),
      );
      if (decided!.jobs.some((job) => job.decision.outcome === 'accepted')) {
        await announceAdmissions(deps.db).catch(() => {}); // else the next idle round takes them
      }
      deps.log.debug(
        { eventId: parsed.id, bucket: parsed.event.bucket, key: parsed.event.key, outcome: decided!.outcome },
        'EventBridge S3 event decided',
      );
      return answer(reply, parsed.id, decided!);
    },
  );
}

function answer(reply: FastifyReply, eventId: string, decided: EventDecision): EventAnswer {
  const jobs = decided.jobs.map(({ jobId, decision }) => ({
    jobId,
    statusUrl: `/v1/jobs/${jobId}`,
    ...(decision.outcome === 'accepted'
      ? { outcome: 'accepted' as const }
      : decision.outcome === 'redelivered'
        ? { outcome: 'repeated' as const }
        : { outcome: 'rejected' as const, reason: decision.rejection.reason }),
  }));
  const { outcome } = decided;
  if (outcome === 'accepted') {
    reply.code(202);
    return { eventId, outcome, detail: `${jobs.length} trigger rule(s) matched`, jobs };
  }
  if (outcome !== 'rejected') return { eventId, outcome, detail: ignoredDetail[outcome], jobs };
  throw new ProblemError(refusal(decided));
}

/**
 * A refused event as a problem: 429 with the longest Retry-After when any rule's job can be made
 * on a retry (the jobs already made are repeats then), else the first rule's refusal.
 */
function refusal(decided: EventDecision) {
  const refused = decided.jobs.flatMap(({ decision }) => (decision.outcome === 'rejected' ? [decision] : []));
  const rejections = refused.map((decision) => decision.rejection);
  const retriable = refused.filter(isRetriableRefusal).map((decision) => decision.rejection);
  const chosen =
    retriable.length > 0
      ? retriable.reduce((a, b) => ((b.retryAfterSeconds ?? 0) > (a.retryAfterSeconds ?? 0) ? b : a))
      : rejections[0]!;
  return rejectionProblem({
    ...chosen,
    message: `${chosen.message} (S3 event for s3://${decided.event.bucket}/${decided.event.key})`,
  });
}
