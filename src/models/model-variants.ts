// The int8 variants: one per published model, named `<model>-int8`, derived on this machine from the
// verified fp32 file by our quantizer (src/quantize/). Data, like the registry itself.

import type { ModelProfile, ModelSpec } from '../../models/model-spec.js';
import { registry } from '../../models/registry.js';
import type { QuantizeRecipe } from '../quantize/quantize.js';

export const int8Suffix = '-int8';

export interface QuantizedSpec extends ModelProfile {
  /** The published fp32 model this variant is made from. */
  readonly base: string;
  /** File name beside the base's weights (`u2net.onnx` → `u2net-int8.onnx`). */
  readonly file: string;
  readonly precision: 'int8';
  /** How `resolveModel` builds it when absent (`models quantize` may choose otherwise). */
  readonly recipe: VariantRecipe;
}

export interface VariantRecipe extends QuantizeRecipe {
  /** Generated catalog-like calibration images (see quantize/calibration-images.ts). */
  readonly calibrationImages: number;
}

// Chosen by measurement on the real IS-Net weights (docs/int8.md): its activations are heavy-tailed
// (a Relu output peaking at 245 where 99.99 % of values are below 2.6), so min/max ranges leave
// ordinary values a level or two and the masks fall apart; percentile 99.99 clips the tail. The
// side heads cost almost nothing in float and are where int8 hurt most; IS-Net's first conv adds a
// little fidelity for 3 % of speed. U²-Net's weights are not available here, so its recipe follows
// IS-Net's heads (plus the cheap fusion conv) but not the first conv, which costs U²-Netp 20 %.
const recipes: Record<'u2net' | 'isnet', VariantRecipe> = {
  u2net: {
    method: 'percentile',
    percentile: 99.99,
    keepFloat: ['sides', 'fusion'],
    calibrationImages: 16,
  },
  isnet: {
    method: 'percentile',
    percentile: 99.99,
    keepFloat: ['first', 'sides'],
    calibrationImages: 16,
  },
};

function variantOf(spec: ModelSpec): QuantizedSpec {
  const { name, file, inputSize, mean, std, outputIndex, synthetic } = spec;
  return {
    name: `${name}${int8Suffix}`,
    base: name,
    file: file.replace(/\.onnx$/, `${int8Suffix}.onnx`),
    precision: 'int8',
    inputSize,
    mean,
    std,
    outputIndex,
    ...(synthetic ? { synthetic } : {}),
    recipe: recipes[name.startsWith('isnet') ? 'isnet' : 'u2net'],
  };
}

const variants: readonly QuantizedSpec[] = registry.map(variantOf);

export function quantizedVariants(): readonly QuantizedSpec[] {
  return variants;
}

/** The variant named `name` (`u2net-int8`), if it is one. */
export function findVariant(name: string): QuantizedSpec | undefined {
  return variants.find((variant) => variant.name === name);
}

export function variantOfModel(base: string): QuantizedSpec | undefined {
  return variants.find((variant) => variant.base === base);
}

/**
 * What to tell a user whose `variant` lacks its base weights: a variant is never pulled, its base is,
 * and the variant is then built from it (`models pull u2netp-int8` does not exist).
 */
export function variantBuildHint(variant: QuantizedSpec): string {
  return (
    `${variant.name} is then built from ${variant.base} by \`clearcut models quantize ${variant.base}\` ` +
    `(before a worker serving it starts).`
  );
}
