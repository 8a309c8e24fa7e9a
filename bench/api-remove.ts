// The latency POST /v1/remove adds over the worker's own time for the same image: called by
// bench/api.ts (npm run bench:api), which starts the API, a gateway and a worker and calls this.
import { randomUUID } from 'node:crypto';
import { createEngine, type EngineOptions, type RenditionInput } from '../src/library/index.js';

export interface RemoveLatencyOptions {
  /** `http://host:port` of a `clearcut api` with POST /v1/remove on (CLEARCUT_API_STAGING_BUCKET set). */
  readonly baseUrl: string;
  /**
   * The Authorization header, `Bearer <access token>` from POST /oauth/token (scope jobs:write), of a
   * tenant with read and write grants on its staging prefix and no quota in the way.
   */
  readonly authorization: string;
  /** One JPEG, PNG or WebP image, sent raw with its content type. */
  readonly image: Buffer;
  readonly contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  /** The query of every call, without `?` (docs/api.md, POST /v1/remove); default '' (a PNG cutout). */
  readonly query?: string;
  /** The same rendition as `query`, for the library's run; default a PNG cutout. */
  readonly renditions?: readonly RenditionInput[];
  /**
   * The library options that match the worker (model, modelDir, allowSynthetic, threads): the
   * worker's own time is removeBackground on the same image in this process, in the same run.
   */
  readonly engine: EngineOptions;
  /** Calls measured on each side (one warm-up call each first, not counted). Default 9. */
  readonly samples?: number;
}

export interface RemoveLatency {
  readonly samples: number;
  /** Median of POST /v1/remove, request sent to the last byte of the rendition received. */
  readonly removeMedianMs: number;
  /** Median of the library's removeBackground (decode, inference, render) on the same image. */
  readonly workerMedianMs: number;
  /** removeMedianMs − workerMedianMs: what the door, the queues, S3 staging and the wait add. */
  readonly addedMedianMs: number;
  /**
   * Median of removeMs[i] − workerMs[i]: each pair ran back to back, so on a loaded machine this
   * is steadier than the difference of the medians.
   */
  readonly addedPairedMedianMs: number;
  /** Every measured call, in order, for the results file. */
  readonly removeMs: readonly number[];
  readonly workerMs: readonly number[];
}

/**
 * Measures POST /v1/remove end to end (each call a new job: a fresh Idempotency-Key) and the
 * library's removeBackground on the same image (one engine, loaded once, like a worker's) alternately,
 * so both see the same machine load.
 * Throws when a call is not answered 200 with the rendition (a 202 means the worker did not finish
 * within CLEARCUT_API_REMOVE_WAIT: raise it or start a worker).
 */
export async function measureRemoveLatency(options: RemoveLatencyOptions): Promise<RemoveLatency> {
  const samples = options.samples ?? 9;
  const renditions = options.renditions ?? [{ kind: 'cutout', format: 'png' }];
  const remove = async () => {
    const started = performance.now();
    const response = await fetch(`${options.baseUrl}/v1/remove${options.query ? `?${options.query}` : ''}`, {
      method: 'POST',
      headers: {
        authorization: options.authorization,
        'content-type': options.contentType,
        'idempotency-key': `bench-${randomUUID()}`,
      },
      body: options.image,
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) {
      throw new Error(`POST /v1/remove answered ${response.status}: ${body.toString('utf8').slice(0, 500)}`);
    }
    return performance.now() - started;
  };
  // One engine for the whole run, as a worker holds its model: the library's shared engine would
  // close after a second without calls and load the model again inside every measurement.
  const engine = await createEngine(options.engine);
  const library = async () => {
    const started = performance.now();
    await engine.removeBackground(options.image, { renditions });
    return performance.now() - started;
  };
  const removeMs: number[] = [];
  const workerMs: number[] = [];
  try {
    await remove();
    await library();
    for (let i = 0; i < samples; i++) {
      removeMs.push(await remove());
      workerMs.push(await library());
    }
  } finally {
    await engine.close();
  }
  const removeMedianMs = median(removeMs);
  const workerMedianMs = median(workerMs);
  return {
    samples,
    removeMedianMs,
    workerMedianMs,
    addedMedianMs: removeMedianMs - workerMedianMs,
    addedPairedMedianMs: median(removeMs.map((ms, i) => ms - workerMs[i]!)),
    removeMs,
    workerMs,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
