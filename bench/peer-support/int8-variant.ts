// bench:peer's `medium-int8` variant: ClearCut's int8 IS-Net (the `isnet-general-use-int8` recipe
// applied to the peer's medium weights widened to fp32, bench/int8/models.ts) against the peer's
// default "medium" model, so the table shows ours-int8 and the peer side by side.
import { ensureIsnetInt8 } from '../int8/models.js';
import { ensurePeerIsnetModel, peerIsnetVariants } from './isnet-model.js';

export const oursInt8Variant = 'medium-int8';
export const benchVariants = [...peerIsnetVariants, oursInt8Variant] as const;
export type BenchVariant = (typeof benchVariants)[number];

/** The ONNX file our runner loads for `variant` (built when absent or stale). */
export function ourModelFor(
  variant: BenchVariant,
  log: (line: string) => void,
): Promise<{ readonly path: string; readonly sha256: string }> {
  if (variant !== oursInt8Variant) return ensurePeerIsnetModel(variant, { log });
  return ensureIsnetInt8((message) => log(`  ${message}`), log);
}

/** The peer's model that runs against `variant`: its default, medium, except for small. */
export function peerModelFor(variant: BenchVariant): 'small' | 'medium' {
  return variant === 'small' ? 'small' : 'medium';
}
