// What resolving a model name gives: the file to load and where it came from. A module of its own
// so that model-quantized.ts (which registry.ts loads lazily) can name it without a cycle.
import type { ModelSpec } from '../../models/model-spec.js';
import type { QuantizedSpec } from './model-variants.js';

export interface ResolvedModel {
  /** A published model, or a variant derived from one locally (`u2net-int8`, see model-variants.ts). */
  readonly spec: ModelSpec | QuantizedSpec;
  /** Absolute path of the ONNX file to load. */
  readonly path: string;
  /** SHA-256 of the file at `path` (the registry's for weights, the built file's otherwise). */
  readonly sha256: string;
  /** 'synthetic' means meaningless masks: say so to the user. A variant has its base's source. */
  readonly source: 'weights' | 'synthetic';
}
