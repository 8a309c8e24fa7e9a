// One task's work, from source object to rendition objects. Pure orchestration: storage, grants
// and the engine are passed in, so this file never touches S3, PostgreSQL or ONNX Runtime itself.
import { outputKeyFor } from '../contracts/output-keys.js';
import { renditionOutputs } from '../contracts/renditions.js';
import type { Task } from '../contracts/task.js';
import { PermanentError } from '../errors.js';
import type { ImageLimits } from '../images/decode.js';
import type { Engine } from '../inference/engine.js';
import type { OutputLimits } from '../inference/output-size.js';
import type { PngEffort } from '../inference/png-encoding.js';
import { removeBackground, type StageTimings } from '../inference/remove.js';
import { allows, type Grant } from '../policy/grants.js';
import type { BlobStore } from '../storage/blob-store.js';
import { fetchBackgroundImages } from './background-images.js';
import type { ImageGate } from './image-gate.js';
import type { OutputClaims } from './output-claims.js';

export interface TaskProcessorDeps {
  readonly store: BlobStore;
  readonly grantsOf: (tenantId: string) => Promise<readonly Grant[]>;
  readonly engineFor: (model: string) => Promise<Engine>;
  /** Input limits, the output caps (a render over them fails the item at once: output_too_large), the PNG effort. */
  readonly limits: ImageLimits & OutputLimits & { readonly pngEffort?: PngEffort };
  /** Holds a task between its download and its mask (image-gate.ts); none: unbounded. */
  readonly imageGate?: ImageGate;
  /** Claims the output keys for this item before the upload (output-claims.ts); none: no check. */
  readonly claimOutputs?: OutputClaims;
}

export interface WrittenOutput {
  readonly rendition: Task['renditions'][number]['kind'];
  /** The rendition's name, when it has one. */
  readonly name?: string;
  /** Which of the rendition's sizes this is, when it lists sizes. */
  readonly size?: number;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  /** Made by a synthetic stand-in model (meaningless mask); absent for real weights. */
  readonly syntheticModel?: true;
}

/** Where one task's time went, in ms: the engine's stages plus the gate, download and upload. */
export interface TaskStageTimings extends StageTimings {
  /** Waiting for a place in the image gate. */
  gateMs: number;
  downloadMs: number;
  uploadMs: number;
}

export interface ProcessedTask {
  readonly outputs: WrittenOutput[];
  readonly timings: TaskStageTimings;
}

/** Where the task stands, so a failure can say whether the image ever ran (no run: refund its quota unit). */
export interface TaskProgress {
  inferred: boolean;
}

/**
 * Re-checks the grants (they may have been revoked since admission), downloads the source under
 * the byte cap, runs the engine once, and writes every rendition to its deterministic key with
 * the source eTag and the model in its metadata. A re-run writes the same keys again.
 */
export async function processTask(
  task: Task,
  deps: TaskProcessorDeps,
  progress: TaskProgress,
  signal?: AbortSignal,
): Promise<ProcessedTask> {
  const grants = await deps.grantsOf(task.tenant);
  if (!allows(grants, task.source, 'read')) {
    throw new PermanentError(
      'access_denied',
      `tenant ${task.tenant} has no read grant on s3://${task.source.bucket}/${task.source.key}`,
    );
  }
  // One target per output, in the order renderRenditions returns them (a rendition's sizes in turn).
  const targets = renditionOutputs(task.renditions).map(({ rendition, size }) => ({
    key: outputKeyFor({
      prefix: task.output.prefix,
      template: task.outputKeyTemplate,
      sourceKey: task.source.key,
      rendition,
      size,
    }),
  }));
  for (const { key } of targets) {
    if (!allows(grants, { bucket: task.output.bucket, key }, 'write')) {
      throw new PermanentError(
        'access_denied',
        `tenant ${task.tenant} has no write grant on s3://${task.output.bucket}/${key}`,
      );
    }
  }
  // Before the download: a model this worker does not serve fails the task at once.
  const engine = await deps.engineFor(task.model);
  const { source, result, gateMs, downloadMs } = await downloadAndInfer(task, grants, engine, deps, signal);
  progress.inferred = true;
  // A synthetic stand-in's masks are meaningless: every output says so, in S3 and in its event.
  const synthetic = engine.model.source === 'synthetic';
  const metadata = {
    'source-etag': source.eTag,
    model: engine.model.spec.name,
    'model-sha256': engine.model.sha256,
    ...(synthetic ? { 'model-synthetic': 'true' } : {}),
  };
  await deps.claimOutputs?.(
    task,
    targets.map(({ key }) => key),
  );
  const started = performance.now();
  const outputs = await Promise.all(
    targets.map(async ({ key }, index) => {
      const output = result.outputs[index]!;
      await deps.store.put(task.output.bucket, key, output.bytes, {
        contentType: output.contentType,
        metadata,
        ...(signal === undefined ? {} : { signal }),
      });
      return {
        rendition: output.rendition.kind,
        ...(output.rendition.name === undefined ? {} : { name: output.rendition.name }),
        ...(output.size === undefined ? {} : { size: output.size }),
        bucket: task.output.bucket,
        key,
        contentType: output.contentType,
        bytes: output.bytes.length,
        width: output.width,
        height: output.height,
        ...(synthetic ? { syntheticModel: true as const } : {}),
      };
    }),
  );
  return {
    outputs,
    timings: { ...result.timings, gateMs, downloadMs, uploadMs: performance.now() - started },
  };
}

/**
 * Downloads the source (and background images) once the image gate lets it in, and runs the
 * engine on it; the gate opens for the next image as soon as this one's mask is back, so this
 * image's rendering overlaps the next one's inference.
 */
async function downloadAndInfer(
  task: Task,
  grants: readonly Grant[],
  engine: Engine,
  deps: TaskProcessorDeps,
  signal: AbortSignal | undefined,
) {
  let started = performance.now();
  const release = (await deps.imageGate?.enter(signal)) ?? (() => {});
  const gateMs = performance.now() - started;
  try {
    started = performance.now();
    const source = await deps.store.get(task.source.bucket, task.source.key, {
      maxBytes: deps.limits.maxInputBytes,
      ...(signal === undefined ? {} : { signal }),
    });
    const backgrounds = await fetchBackgroundImages(
      task,
      grants,
      deps.store,
      deps.limits,
      source.body,
      signal,
    );
    const downloadMs = performance.now() - started;
    const gated: Engine = {
      model: engine.model,
      threads: engine.threads,
      predictMask: (image, timings) => engine.predictMask(image, timings).finally(release),
      close: () => engine.close(),
    };
    const result = await removeBackground(gated, source.body, task.renditions, deps.limits, backgrounds);
    return { source, result, gateMs, downloadMs };
  } finally {
    release();
  }
}
