// Local mean colours of "sure" pixels (weight 1; others weigh less or nothing), each pixel taking
// the smallest window that holds some: the colour of the nearest sure region, in O(1) per pixel
// and window size. Edge refinement and decontamination read subject and background colours so.
import { boxMean } from './box-filter.js';

/** A window whose mean weight reaches this holds sure pixels (a hundredth-weighted rest stays below). */
const holdsSure = 0.02;

/** Radii from `first` doubling while within `widest` (always `first` itself). */
export function doublingRadii(first: number, widest: number): number[] {
  const radii = [first];
  while (radii.at(-1)! * 2 <= widest) radii.push(radii.at(-1)! * 2);
  return radii;
}

export function sureMeans(
  colour: readonly Float32Array[],
  weight: Float32Array,
  width: number,
  height: number,
  radii: readonly number[],
): [Float32Array, Float32Array, Float32Array] {
  const count = weight.length;
  const out: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(count),
    new Float32Array(count),
    new Float32Array(count),
  ];
  const settled = new Uint8Array(count);
  const weighted = colour.map((plane) => plane.map((value, i) => value * weight[i]!));
  for (const [index, radius] of radii.entries()) {
    const last = index === radii.length - 1;
    const meanWeight = boxMean(weight, width, height, radius);
    const means = weighted.map((plane) => boxMean(plane, width, height, radius));
    for (let i = 0; i < count; i++) {
      if (settled[i]) continue;
      const sure = meanWeight[i]! >= holdsSure;
      if (!sure && !last) continue;
      settled[i] = 1;
      for (let c = 0; c < 3; c++) out[c]![i] = means[c]![i]! / (meanWeight[i]! + 1e-6);
    }
  }
  return out;
}
