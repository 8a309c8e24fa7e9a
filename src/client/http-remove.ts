import { randomUUID } from 'node:crypto';
import type { Answer, jobAcceptedSchema } from '../api/contracts.js';
import type { RenditionInput } from '../contracts/renditions.js';
import type { Send } from './http-transport.js';

// POST /v1/remove (docs/api.md): the image as the raw body and one rendition's fields in the query,
// or, for a rendition with object fields (canvas, shadow), a multipart form of the image and the
// rendition's JSON; the answer is the rendition's bytes, or a 202 with the job when the worker did
// not finish within the server's wait. The job id goes as Idempotency-Key, so a retry after a lost
// answer is the same job.

export interface RemoveOptions {
  /** One rendition of the job contract (docs/protocol.md section 4); default a PNG cutout. */
  readonly rendition?: RenditionInput;
  /** Default: the service's default model. */
  readonly model?: string;
  /** The job id (Idempotency-Key); default a random UUID. A retry with it never runs twice. */
  readonly jobId?: string;
  /** The image's media type; default application/octet-stream (the API reads the format from the bytes). */
  readonly contentType?: 'image/jpeg' | 'image/png' | 'image/webp' | 'application/octet-stream';
}

export type RemoveResult =
  | {
      readonly kind: 'done';
      readonly jobId: string;
      readonly bytes: Buffer;
      readonly contentType: string;
      /** The model that made it; `synthetic` when it was a stand-in without real weights. */
      readonly model: string | undefined;
      readonly synthetic: boolean;
    }
  | {
      /** Admitted, not finished within the server's wait: follow it at `statusUrl`. */
      readonly kind: 'pending';
      readonly jobId: string;
      /** Absolute URL of GET /v1/jobs/{id}. */
      readonly statusUrl: string;
    };

export async function removeOverHttp(
  send: Send,
  baseUrl: string,
  image: Uint8Array,
  options: RemoveOptions = {},
): Promise<RemoveResult> {
  const jobId = options.jobId ?? randomUUID();
  const { rendition = { kind: 'cutout' }, model } = options;
  const contentType = options.contentType ?? 'application/octet-stream';
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const query = new URLSearchParams(model === undefined ? {} : { model });
  const fields = queryFields(rendition);
  for (const [name, value] of fields ?? []) query.set(name, value);
  const upload = fields === undefined ? await renditionForm(bytes, contentType, rendition) : undefined;
  const response = await send({
    method: 'POST',
    target: `/v1/remove${query.size === 0 ? '' : `?${query}`}`,
    idempotencyKey: jobId,
    contentType: upload?.contentType ?? contentType,
    body: upload?.body ?? bytes,
  });
  if (response.status === 202) {
    const answer = (await response.json()) as Answer<typeof jobAcceptedSchema>;
    return { kind: 'pending', jobId, statusUrl: new URL(answer.statusUrl, baseUrl).href };
  }
  return {
    kind: 'done',
    jobId,
    bytes: Buffer.from(await response.arrayBuffer()),
    contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    model: response.headers.get('clearcut-model') ?? undefined,
    synthetic: response.headers.get('clearcut-synthetic-model') === 'true',
  };
}

/** The rendition's fields as query parameters of the same names (cleanup's among them), or undefined when one is an object. */
function queryFields(rendition: RenditionInput): [string, string][] | undefined {
  const fields: [string, string][] = [];
  for (const [name, value] of Object.entries(rendition)) {
    if (value === undefined) continue;
    if (name === 'cleanup' && typeof value === 'object' && value !== null) {
      for (const [field, setting] of Object.entries(value)) {
        if (setting !== undefined) fields.push([field, String(setting)]);
      }
    } else if (typeof value === 'object' && value !== null) {
      return undefined;
    } else {
      fields.push([name, String(value)]);
    }
  }
  return fields;
}

/** A multipart form of the image and the rendition's JSON, encoded by the platform's FormData. */
async function renditionForm(image: Buffer, contentType: string, rendition: RenditionInput) {
  const form = new FormData();
  form.set('image', new Blob([image], { type: contentType }), 'image');
  form.set('rendition', JSON.stringify(rendition));
  // The exact bytes are needed before sending: a signature covers them.
  const encoded = new Request('http://form.invalid/', { method: 'POST', body: form });
  return {
    body: Buffer.from(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type')!,
  };
}
