import { randomUUID } from 'node:crypto';
import type {
  Answer,
  itemListSchema,
  jobAcceptedSchema,
  jobStatusSchema,
  usageSchema,
} from '../api/contracts.js';
import type { BackoffPolicy } from '../queue/backoff.js';
import { decodeSigningSecret, parseKeyId, type SigningSecret } from '../signing/keys.js';
import {
  bearerTokens,
  requestToken,
  signedRequests,
  type TokenAnswer,
  type TokenOptions,
} from './http-auth.js';
import { type RemoveOptions, type RemoveResult, removeOverHttp } from './http-remove.js';
import { createTransport, defaultRetryPolicy, type Send } from './http-transport.js';
import { type JobRequest, jobBody, jobContentType } from './job-body.js';

// The producer SDK over the HTTP API (`clearcut api`, docs/api.md): `createHttpClient` submits jobs,
// reads their status, items and the tenant's usage, and cuts out single images (POST /v1/remove). The wire shapes are the API's own
// contracts (type imports only: nothing of the server is loaded).

export type SubmittedJob = Omit<Answer<typeof jobAcceptedSchema>, 'statusUrl'> & {
  /** Absolute URL of GET /v1/jobs/{id}. */
  readonly statusUrl: string;
};
export type JobStatus = Answer<typeof jobStatusSchema>;
export type ItemsPage = Answer<typeof itemListSchema>;
export type ItemStatus = ItemsPage['items'][number]['status'];
export type Usage = Answer<typeof usageSchema>;

export interface HttpClientOptions {
  /** Base URL of the API, e.g. https://api.example.com. */
  readonly url: string;
  readonly keyId: string;
  /** The secret as printed by `clearcut keys create` (cks_…, cked_… or PEM), or already decoded. */
  readonly secret: string | SigningSecret;
  /**
   * `signed` (default): every request carries the cc-* headers (docs/protocol.md section 9.1).
   * `oauth`: a bearer token from POST /oauth/token, asked for with a JWT signed by the key and
   * renewed before it expires (section 9.2).
   */
  readonly auth?: 'signed' | 'oauth';
  /**
   * With `oauth`: the scopes to ask for (default all the key may have: jobs:write jobs:read
   * usage:read webhooks:write webhooks:read).
   */
  readonly scopes?: readonly string[];
  /** With `oauth`: the API's issuer name, CLEARCUT_API_ISSUER (default `clearcut`). */
  readonly audience?: string;
  /**
   * Attempts per call (default 4); the longest Retry-After of a 429 or 5xx waited out by itself
   * (default 10 s, a longer one is thrown as ApiError with `retryAfterSeconds`); the waits after no
   * answer or a 5xx without Retry-After (default 250 ms doubling to 4 s). Every call is safe to
   * repeat (Idempotency-Key).
   */
  readonly retry?: {
    readonly attempts?: number;
    readonly maxRetryAfterSeconds?: number;
    readonly backoff?: BackoffPolicy;
  };
  /** Longest wait for one answer (default 60 s; `remove` 90 s, past the server's longest wait). */
  readonly timeoutMs?: number;
}

export interface HttpSubmitOptions {
  /** The job id, sent as Idempotency-Key: a retry with it never runs the job twice. Default: a random UUID. */
  readonly jobId?: string;
}

export interface ItemsOptions {
  readonly status?: ItemStatus;
  /** Start after this page (a `nextCursor` from an earlier page). */
  readonly cursor?: string;
  /** Entries per page, 1–100 (default 100). */
  readonly limit?: number;
}

export interface HttpClient {
  /**
   * Validates the job, then POST /v1/jobs with the job id as Idempotency-Key; resolves once the job
   * is admitted (its tasks durable). A refusal is an ApiError with the reason code.
   */
  submit(job: JobRequest, options?: HttpSubmitOptions): Promise<SubmittedJob>;
  status(jobId: string): Promise<JobStatus>;
  /** The job's items page by page, following `nextCursor` until the last page. */
  items(jobId: string, options?: ItemsOptions): AsyncIterable<ItemsPage>;
  usage(): Promise<Usage>;
  /**
   * POST /v1/remove: one image (JPEG, PNG or WebP bytes) cut out by the worker fleet; resolves to
   * the rendition's bytes, or to the pending job when the server's wait ran out.
   */
  remove(image: Uint8Array, options?: RemoveOptions): Promise<RemoveResult>;
}

/**
 * POST /v1/remove may hold its answer for the server's CLEARCUT_API_REMOVE_WAIT (at most 60 s) and
 * then stream the rendition: a remove attempt that timed out at 60 s would be cut off and sent again.
 */
const removeTimeoutMs = 90_000;

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { baseUrl, timeoutMs, ...key } = resolveConnection(options);
  const auth = options.auth === 'oauth' ? bearerTokens(tokenOptions(options)) : signedRequests(key);
  const transport = (attemptMs: number) =>
    createTransport({
      baseUrl,
      auth,
      retry: { ...defaultRetryPolicy, ...options.retry },
      timeoutMs: attemptMs,
    });
  const send = transport(timeoutMs);
  const sendRemove = transport(options.timeoutMs ?? removeTimeoutMs);
  const read = <T>(target: string) => readJson<T>(send, target);

  return {
    async submit(job, { jobId = randomUUID() } = {}) {
      const body = jobBody(job, jobId);
      const response = await send({
        method: 'POST',
        target: '/v1/jobs',
        idempotencyKey: jobId,
        contentType: jobContentType,
        body,
      });
      const answer = (await response.json()) as Answer<typeof jobAcceptedSchema>;
      return { ...answer, statusUrl: new URL(answer.statusUrl, baseUrl).href };
    },
    status: (jobId) => read<JobStatus>(`/v1/jobs/${encodeURIComponent(jobId)}`),
    async *items(jobId, { status, cursor, limit } = {}) {
      let next: string | null | undefined = cursor;
      do {
        const query = new URLSearchParams({
          ...(status === undefined ? {} : { status }),
          ...(next === undefined || next === null ? {} : { cursor: next }),
          ...(limit === undefined ? {} : { limit: String(limit) }),
        }).toString();
        const page: ItemsPage = await read<ItemsPage>(
          `/v1/jobs/${encodeURIComponent(jobId)}/items${query === '' ? '' : `?${query}`}`,
        );
        yield page;
        next = page.nextCursor;
      } while (next !== null);
    },
    usage: () => read<Usage>('/v1/usage'),
    remove: (image, removeOptions) => removeOverHttp(sendRemove, baseUrl, image, removeOptions),
  };
}

async function readJson<T>(send: Send, target: string): Promise<T> {
  const response = await send({ method: 'GET', target, body: Buffer.alloc(0) });
  return (await response.json()) as T;
}

/**
 * One access token for the key, as POST /oauth/token issues it: for tools that call the API
 * themselves (`clearcut token`, curl). An HttpClient with `auth: 'oauth'` takes and renews its own.
 */
export function requestAccessToken(options: TokenRequestOptions): Promise<TokenAnswer> {
  return requestToken(tokenOptions(options));
}

type TokenRequestOptions = Pick<
  HttpClientOptions,
  'url' | 'keyId' | 'secret' | 'audience' | 'scopes' | 'timeoutMs'
>;

function resolveConnection(options: Omit<TokenRequestOptions, 'audience' | 'scopes'>) {
  return {
    baseUrl: apiBaseUrl(options.url),
    timeoutMs: options.timeoutMs ?? 60_000,
    keyId: parseKeyId(options.keyId).keyId,
    secret: typeof options.secret === 'string' ? decodeSigningSecret(options.secret) : options.secret,
  };
}

function tokenOptions(options: TokenRequestOptions): TokenOptions {
  return { ...resolveConnection(options), audience: options.audience ?? 'clearcut', scopes: options.scopes };
}

function apiBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url "${url}" is not an absolute URL such as https://api.example.com`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`url "${url}" must be http:// or https://`);
  }
  return parsed.origin;
}
