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

export interface SureMeans {
  /** Per plane given, its weighted mean in each pixel's window. */
  readonly means: Float32Array[];
  /** 1 where the window held sure pixels, 0 where even the widest did not (its means are then unreliable). */
  readonly found: Uint8Array;
}

export function sureMeans(
  planes: readonly Float32Array[],
  weight: Float32Array,
  width: number,
  height: number,
  radii: readonly number[],
): SureMeans {
  const count = weight.length;
  const means = planes.map(() => new Float32Array(count));
  const found = new Uint8Array(count);
  const settled = new Uint8Array(count);
  const weighted = planes.map((plane) => plane.map((value, i) => value * weight[i]!));
  const meanWeight = new Float32Array(count);
  const windowMeans = planes.map(() => new Float32Array(count));
  const rows = new Float32Array(count);
  let unsettled = count;
  for (const [index, radius] of radii.entries()) {
    if (unsettled === 0) break; // every pixel found its window: wider ones would change nothing
    const last = index === radii.length - 1;
    boxMean(weight, width, height, radius, meanWeight, rows);
    for (const [p, plane] of weighted.entries()) boxMean(plane, width, height, radius, windowMeans[p]!, rows);
    for (let i = 0; i < count; i++) {
      if (settled[i]) continue;
      const sure = meanWeight[i]! >= holdsSure;
      if (!sure && !last) continue;
      settled[i] = 1;
      unsettled--;
      found[i] = sure ? 1 : 0;
      for (let p = 0; p < planes.length; p++) means[p]![i] = windowMeans[p]![i]! / (meanWeight[i]! + 1e-6);
    }
  }
  return { means, found };
}
