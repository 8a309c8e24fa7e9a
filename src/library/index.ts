// `import { removeBackground, createEngine } from 'clearcut'`: background removal in your own
// process, with the same model handling, renditions, input checks and error codes as the
// pipeline's workers (docs/library.md). The producer SDK for the pipeline is `clearcut/client`.
import type { RemovalResult } from '../inference/remove.js';
import type { ImageInput } from './input.js';
import { type EngineOptions, type RemoveOptions, renditionsOf } from './options.js';
import { withSharedEngine } from './shared-engines.js';

export { type ItemErrorCode, itemErrorCodes } from '../contracts/item-errors.js';
export type { Rendition, RenditionInput, RenditionKind } from '../contracts/renditions.js';
export { renditionFormats, renditionKinds } from '../contracts/renditions.js';
export { PermanentError, TransientError } from '../errors.js';
export { type ImageRefusalCode, imageRefusalCodes } from '../images/refusal.js';
export type { SupportedFormat } from '../images/sniff.js';
export type { Box } from '../inference/geometry.js';
export type { RemovalResult, StageTimings } from '../inference/remove.js';
export type { RenditionOutput } from '../inference/render.js';
export { catalogNames as modelNames } from '../models/catalog.js';
export {
  type BatchItem,
  type BatchOptions,
  type BatchProgress,
  type ClearcutEngine,
  createEngine,
} from './engine.js';
export type { ImageInput } from './input.js';
export type { EngineOptions, RemoveOptions } from './options.js';
export { describeVersions, type Versions, versions } from './versions.js';

/**
 * One image in, the asked renditions out. The model is loaded on the first call and reused by
 * later calls with the same engine options (closed after a second without calls); to control when
 * the model loads and is released, use `createEngine`.
 */
export async function removeBackground(
  input: ImageInput,
  options: EngineOptions & RemoveOptions = {},
): Promise<RemovalResult> {
  const { renditions, ...engineOptions } = options;
  const checked = renditionsOf({ renditions }); // a wrong rendition is refused before any model loads
  return withSharedEngine(engineOptions, (engine) => engine.removeBackground(input, { renditions: checked }));
}
