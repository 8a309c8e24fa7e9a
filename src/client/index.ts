import { randomUUID } from 'node:crypto';
import { connectAmqpBus, type StateLog } from '../queue/amqp-bus.js';
import type { Publisher } from '../queue/bus.js';
import { topologyNames } from '../queue/topology.js';
import { decodeSigningSecret, parseKeyId, type SigningSecret } from '../signing/keys.js';
import { signJob } from '../signing/sign.js';
import { PublishError } from './errors.js';
import { type JobRequest, jobBody, jobContentType } from './job-body.js';
import { type FollowOptions, followJobResults, type ResultFollower } from './result-follower.js';

// The producer SDK, `import { createProducer } from 'clearcut/client'`: signs jobs (docs/protocol.md)
// and publishes them with publisher confirms, so `submit` resolves only once the broker has the job.
// `createHttpClient` (http-client.ts) does the same through the HTTP API instead of the broker.

export type { Job, JobInput } from '../contracts/job.js';
export type { RejectionReason } from '../contracts/reasons.js';
export type { ResultEvent, ResultKind } from '../contracts/result-event.js';
export type { StateLog } from '../queue/amqp-bus.js';
export type { SigningSecret } from '../signing/keys.js';
export { describeResultEvent } from './describe-event.js';
export { ApiError, ApiUnreachableError, InvalidJobError, PublishError } from './errors.js';
export type { TokenAnswer } from './http-auth.js';
export {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpSubmitOptions,
  type ItemStatus,
  type ItemsOptions,
  type ItemsPage,
  type JobStatus,
  requestAccessToken,
  type SubmittedJob,
  type Usage,
} from './http-client.js';
export type { RemoveOptions, RemoveResult } from './http-remove.js';
export { type JobRequest, jobContentType } from './job-body.js';
export type { FollowOptions, ResultFollower } from './result-follower.js';

export interface ProducerOptions {
  /** amqp:// or amqps:// URL of the broker. */
  readonly amqpUrl: string;
  /** Prefix of the exchange names (`<prefix>.jobs`, `<prefix>.results`); default `clearcut`. */
  readonly prefix?: string;
  readonly keyId: string;
  /** The secret as printed by `clearcut keys create` (cks_…, cked_… or PEM), or already decoded. */
  readonly secret: string | SigningSecret;
  /** Shown in the broker's management UI. */
  readonly connectionName?: string;
  /**
   * After a lost connection the producer reconnects by itself (waits doubling from 0.5 s to 30 s);
   * a `submit` meanwhile fails with PublishError and may be retried with the same job id. This
   * hears of each loss and reconnection (a pino logger fits); default: nothing is logged.
   */
  readonly log?: StateLog;
}

export interface SubmitOptions {
  /** The idempotency key: the same id from the same tenant never runs twice. Default: a random UUID. */
  readonly jobId?: string;
}

export interface Producer {
  /** Validates, signs and publishes the job; resolves to the job id once the broker confirmed it. */
  submit(job: JobRequest, options?: SubmitOptions): Promise<string>;
  /**
   * Starts following the result events of one job of `options.tenant` (the signing key's tenant);
   * call it before `submit` to see `accepted`.
   */
  followResults(jobId: string, options: FollowOptions): Promise<ResultFollower>;
  close(): Promise<void>;
}

const quiet: StateLog = { warn() {}, info() {} };

export async function createProducer(options: ProducerOptions): Promise<Producer> {
  const { keyId } = parseKeyId(options.keyId);
  const secret = typeof options.secret === 'string' ? decodeSigningSecret(options.secret) : options.secret;
  const prefix = options.prefix ?? 'clearcut';
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(prefix)) {
    throw new Error(`prefix "${prefix}" is not a lowercase identifier ([a-z][a-z0-9_]*)`);
  }
  const names = topologyNames(prefix);
  const bus = await connectAmqpBus(options.amqpUrl, {
    connectionName: options.connectionName ?? 'clearcut-producer',
    reconnect: { backoff: { initialMs: 500, maxMs: 30_000 }, log: options.log ?? quiet },
  });
  let publisher: Promise<Publisher> | undefined;

  return {
    async submit(job, { jobId = randomUUID() } = {}) {
      const body = jobBody(job, jobId);
      const { headers } = signJob({ keyId, secret, messageId: jobId, contentType: jobContentType, body });
      publisher ??= bus.publisher();
      try {
        await (await publisher).publish([
          {
            exchange: names.jobsExchange,
            routingKey: '',
            body,
            messageId: jobId,
            contentType: jobContentType,
            headers,
          },
        ]);
      } catch (error) {
        publisher = undefined; // a failed publish closes its channel; the next submit opens another
        throw new PublishError(
          `the broker did not confirm job ${jobId} on exchange ${names.jobsExchange} (does it exist? the gateway declares it): ${(error as Error).message}`,
          { cause: error },
        );
      }
      return jobId;
    },
    async followResults(jobId, { tenant, ...followOptions }) {
      return followJobResults(await bus.channel(), names.resultsExchange, tenant, jobId, followOptions);
    },
    async close() {
      if (publisher) await (await publisher.catch(() => undefined))?.close();
      await bus.close();
    },
  };
}
