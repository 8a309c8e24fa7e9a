// The last step of edge refinement: alpha in the band re-fitted at full resolution with a colour
// guided filter (He, Sun & Tang, "Guided Image Filtering", 2013): the alpha from colour
// (colour-alpha.ts) is the filter's input and the source image its guide, so within each window
// alpha becomes a linear function of colour — it smooths the per-pixel estimate along the colour
// edge. The coefficients are fitted on blocks a third of the filter radius wide (the "fast guided
// filter", He & Sun 2015) and applied to full-resolution colours, in the band only; elsewhere the
// input is kept as it is.
import type { DecodedImage } from '../../images/decode.js';
import { type BandArea, bandRegion, edgeBand, forEachTile, maskTiles, tilesNearEdges } from './band.js';
import { boxMean } from './box-filter.js';
import { atCorners, cornersAt, type Grid, gridStep, noCorners, toGrid } from './grid.js';

export interface EdgeRefinement {
  /** Band radius in px around the 0.5 contour (default 0: only the pixels the model is unsure of). */
  readonly bandRadius?: number;
  /** Guided filter radius in full-resolution px (default: filterRadius of the image). */
  readonly filterRadius?: number;
  /** Regularisation: larger keeps alpha closer to a blur of its input where colours are flat. */
  readonly epsilon?: number;
  /** Block size in px of the grid the coefficients are fitted on (default: gridStep of the filter radius). */
  readonly gridStep?: number;
}

/** Measured on the soft-edge set: 1e-4 scored a little better than 1e-3 (docs/inference.md). */
export const defaultEpsilon = 1e-4;

/** The guided filter's radius in px: 1/200 of the longer side (10 px at 2000²), at least 2. */
export function filterRadius(width: number, height: number): number {
  return Math.max(2, Math.round(Math.max(width, height) / 200));
}

/**
 * A filtered copy of `mask` (one byte per pixel of `image`); pixels outside its band are the mask's.
 * `area`: the tiles and band (radius 0) when the caller has them.
 */
export function guidedAlpha(
  image: DecodedImage,
  mask: Uint8Array,
  options: EdgeRefinement = {},
  area?: BandArea,
): Uint8Array {
  const { width, height } = image;
  if (mask.length !== width * height) {
    throw new RangeError(`mask has ${mask.length} values for ${width * height} pixels`);
  }
  const radius = options.bandRadius ?? 0;
  const windowRadius = options.filterRadius ?? filterRadius(width, height);
  const tiles = area?.tiles ?? maskTiles(mask, width, height);
  const band = area?.band ?? edgeBand(mask, width, height, radius, tiles);
  const out = Uint8Array.from(mask);
  const step = options.gridStep ?? gridStep(windowRadius);
  const gridRadius = Math.max(1, Math.round(windowRadius / step));
  // A band pixel reads coefficients averaged over two filter windows, interpolated between blocks.
  const reach = (2 * gridRadius + 2) * step;
  const region = bandRegion(band, width, height, reach);
  if (!region) return out;
  const grid = toGrid(image, mask, region, step, tilesNearEdges(tiles, radius + reach), tiles.columns);
  const { a, b } = guidedCoefficients(grid, gridRadius, options.epsilon ?? defaultEpsilon);
  const [ar, ag, ab] = a;
  const { pixels, channels } = image;
  const scale = 1 / 255;
  const corners = noCorners();
  forEachTile(tilesNearEdges(tiles, radius), tiles.columns, width, height, (left, top, right, bottom) => {
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const pixel = y * width + x;
        if (!band[pixel]) continue;
        cornersAt(grid.width, grid.height, step, region, x, y, corners);
        const source = pixel * channels;
        const q =
          atCorners(ar, corners) * pixels[source]! * scale +
          atCorners(ag, corners) * pixels[source + 1]! * scale +
          atCorners(ab, corners) * pixels[source + 2]! * scale +
          atCorners(b, corners);
        out[pixel] = Math.round(255 * Math.min(1, Math.max(0, q)));
      }
    }
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
  const rows = new Float32Array(count);
  const mean = (plane: Float32Array, out: Float32Array = new Float32Array(count)) =>
    boxMean(plane, width, height, radius, out, rows);
  const scratch = new Float32Array(count);
  const product = (x: Float32Array, y: Float32Array) => {
    for (let i = 0; i < count; i++) scratch[i] = x[i]! * y[i]!;
    return mean(scratch);
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
  // the products' planes are spent: their means reuse them
  return { a: [mean(a[0], rp), mean(a[1], gp), mean(a[2], bp)], b: mean(b, rr) };
}
