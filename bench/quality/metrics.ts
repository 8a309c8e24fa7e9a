// How close one 8-bit alpha mask is to another (a reference or the ground truth).

export interface MaskAgreement {
  /** Intersection over union of the masks thresholded at 0.5 (alpha ≥ 128); 1 when both are empty. */
  readonly iou: number;
  /** Mean absolute alpha difference, as a share of full scale (0 = identical, 1 = opposite). */
  readonly mae: number;
}

const half = 128;

export function compareMasks(mask: Uint8Array, reference: Uint8Array): MaskAgreement {
  if (mask.length !== reference.length) {
    throw new RangeError(`masks differ in size: ${mask.length} and ${reference.length} values`);
  }
  let intersection = 0;
  let union = 0;
  let difference = 0;
  for (let index = 0; index < mask.length; index++) {
    const a = mask[index]!;
    const b = reference[index]!;
    const inA = a >= half;
    const inB = b >= half;
    if (inA && inB) intersection++;
    if (inA || inB) union++;
    difference += a > b ? a - b : b - a;
  }
  return {
    iou: union === 0 ? 1 : intersection / union,
    mae: mask.length === 0 ? 0 : difference / (255 * mask.length),
  };
}

/** Arithmetic mean of each field (an empty list gives NaN, which prints as such). */
export function meanAgreement(values: readonly MaskAgreement[]): MaskAgreement {
  const sum = (pick: (value: MaskAgreement) => number) =>
    values.reduce((total, value) => total + pick(value), 0) / values.length;
  return { iou: sum((value) => value.iou), mae: sum((value) => value.mae) };
}
