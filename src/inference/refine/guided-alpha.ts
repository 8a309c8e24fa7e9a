// Edge refinement: alpha in the band re-solved at full resolution with a colour guided filter
// (He, Sun & Tang, "Guided Image Filtering", 2013): the model's mask is the filter's input and the
// source image its guide, so within each window alpha becomes a linear function of colour. It
// follows strands, spokes and blurred edges the model saw only at its own input size. The
// coefficients are fitted on a grid of about 1024 px a side (the "fast guided filter", He & Sun
// 2015) and applied to full-resolution colours, in the band only; elsewhere the model's alpha is
// kept as it is. (Colour sampling of the nearest sure subject and background colours, alone or as
// the filter's input, scored worse on the soft-edge set: docs/inference.md.)
import type { DecodedImage } from '../../images/decode.js';
import { bandRadius, bandRegion, edgeBand } from './band.js';
import { boxMean } from './box-filter.js';
import { forEachBandPixel, type Grid, gridStep, toGrid } from './grid.js';

export interface EdgeRefinement {
  /** Band radius in px (default: bandRadius of the image). */
  readonly bandRadius?: number;
  /** Guided filter radius in full-resolution px (default: the band radius). */
  readonly filterRadius?: number;
  /** Regularisation: larger keeps alpha closer to a blur of its input where colours are flat. */
  readonly epsilon?: number;
  /** Longest side of the grid the smooth quantities are fitted on (default 1024). */
  readonly gridSide?: number;
}

/** Measured on the soft-edge set: 1e-4 scored a little better than 1e-3 (docs/inference.md). */
export const defaultEpsilon = 1e-4;

/** A refined copy of `mask` (one byte per pixel of `image`); pixels outside the band are the mask's. */
export function refineEdges(image: DecodedImage, mask: Uint8Array, options: EdgeRefinement = {}): Uint8Array {
  const { width, height } = image;
  if (mask.length !== width * height) {
    throw new RangeError(`mask has ${mask.length} values for ${width * height} pixels`);
  }
  const radius = options.bandRadius ?? bandRadius(width, height);
  const filterRadius = options.filterRadius ?? radius;
  const band = edgeBand(mask, width, height, radius);
  const out = Uint8Array.from(mask);
  const region = bandRegion(band, width, height, filterRadius + 1);
  if (!region) return out;
  const step = gridStep(width, height, options.gridSide ?? 1024);
  const grid = toGrid(image, mask, region, step);
  const { a, b } = guidedCoefficients(
    grid,
    Math.max(1, Math.round(filterRadius / step)),
    options.epsilon ?? defaultEpsilon,
  );
  const { pixels, channels } = image;
  forEachBandPixel(grid, band, width, (pixel, at) => {
    const source = pixel * channels;
    const q =
      at(a[0]) * (pixels[source]! / 255) +
      at(a[1]) * (pixels[source + 1]! / 255) +
      at(a[2]) * (pixels[source + 2]! / 255) +
      at(b);
    out[pixel] = Math.round(255 * Math.min(1, Math.max(0, q)));
  });
  return out;
}

/**
 * The guided filter's averaged coefficients: q = a·I + b per pixel, a the 3-vector solving
 * (Σ + εU) a = cov(I, p) in each window, both then averaged over the windows holding the pixel.
 */
function guidedCoefficients(
  grid: Grid,
  radius: number,
  epsilon: number,
): { a: [Float32Array, Float32Array, Float32Array]; b: Float32Array } {
  const { width, height, colour, mask: input } = grid;
  const count = width * height;
  const mean = (plane: Float32Array) => boxMean(plane, width, height, radius);
  const product = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = x[i]! * y[i]!;
    return mean(out);
  };
  const [r, g, bl] = colour;
  const mr = mean(r);
  const mg = mean(g);
  const mb = mean(bl);
  const mp = mean(input);
  const rp = product(r, input);
  const gp = product(g, input);
  const bp = product(bl, input);
  const rr = product(r, r);
  const rg = product(r, g);
  const rb = product(r, bl);
  const gg = product(g, g);
  const gb = product(g, bl);
  const bb = product(bl, bl);
  const a: [Float32Array, Float32Array, Float32Array] = [
    new Float32Array(count),
    new Float32Array(count),
    new Float32Array(count),
  ];
  const b = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const ur = mr[i]!;
    const ug = mg[i]!;
    const ub = mb[i]!;
    const up = mp[i]!;
    // covariance of colour and mask, and of colour (+ ε on the diagonal)
    const cr = rp[i]! - ur * up;
    const cg = gp[i]! - ug * up;
    const cb = bp[i]! - ub * up;
    const srr = rr[i]! - ur * ur + epsilon;
    const srg = rg[i]! - ur * ug;
    const srb = rb[i]! - ur * ub;
    const sgg = gg[i]! - ug * ug + epsilon;
    const sgb = gb[i]! - ug * ub;
    const sbb = bb[i]! - ub * ub + epsilon;
    // symmetric 3×3 inverse by cofactors
    const i00 = sgg * sbb - sgb * sgb;
    const i01 = srb * sgb - srg * sbb;
    const i02 = srg * sgb - srb * sgg;
    const i11 = srr * sbb - srb * srb;
    const i12 = srb * srg - srr * sgb;
    const i22 = srr * sgg - srg * srg;
    const det = srr * i00 + srg * i01 + srb * i02;
    const ar = (i00 * cr + i01 * cg + i02 * cb) / det;
    const ag = (i01 * cr + i11 * cg + i12 * cb) / det;
    const ab = (i02 * cr + i12 * cg + i22 * cb) / det;
    a[0][i] = ar;
    a[1][i] = ag;
    a[2][i] = ab;
    b[i] = up - ar * ur - ag * ug - ab * ub;
  }
  return { a: [mean(a[0]), mean(a[1]), mean(a[2])], b: mean(b) };
}
