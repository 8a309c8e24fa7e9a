// The coarse grid edge refinement fits its smooth quantities on (block means over step × step
// pixels of a region), and reading them back at full-resolution pixels by bilinear interpolation:
// the fitting work grows with the grid (a step of a third of the filter radius), not the source.
import type { DecodedImage } from '../../images/decode.js';
import { forEachTile, type Region } from './band.js';

export interface Grid {
  readonly width: number;
  readonly height: number;
  readonly step: number;
  readonly region: Region;
  /** Colour planes 0–1. */
  readonly colour: readonly [Float32Array, Float32Array, Float32Array];
  /** The mask 0–1. */
  readonly mask: Float32Array;
}

/**
 * The grid step for a filter of `radius` full-resolution px: a third of it, at least 1, so the
 * filter spans about 3 blocks each way at any image size (10 px at 2000² → step 3).
 */
export function gridStep(radius: number): number {
  return Math.max(1, Math.round(radius / 3));
}

/**
 * `region` of the image and mask averaged over step × step blocks (edge blocks may be smaller),
 * from the pixels of the tiles marked in `tiles` (`columns` tiles a row) only: blocks with none
 * are 0.
 */
export function toGrid(
  image: DecodedImage,
  mask: Uint8Array,
  region: Region,
  step: number,
  tiles: Uint8Array,
  columns: number,
): Grid {
  const width = Math.ceil(region.width / step);
  const height = Math.ceil(region.height / step);
  const count = width * height;
  const planes = Array.from({ length: 5 }, () => new Float32Array(count));
  const [red, green, blue, maskPlane, weight] = planes as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const { pixels, channels } = image;
  const right = region.left + region.width;
  const bottom = region.top + region.height;
  forEachTile(tiles, columns, image.width, image.height, (tileLeft, tileTop, tileRight, tileBottom) => {
    const x0 = Math.max(tileLeft, region.left);
    const x1 = Math.min(tileRight, right);
    for (let y = Math.max(tileTop, region.top); y < Math.min(tileBottom, bottom); y++) {
      const row = (((y - region.top) / step) | 0) * width;
      for (let x = x0; x < x1; x++) {
        const cell = row + (((x - region.left) / step) | 0);
        const pixel = y * image.width + x;
        const source = pixel * channels;
        red[cell] = red[cell]! + pixels[source]!;
        green[cell] = green[cell]! + pixels[source + 1]!;
        blue[cell] = blue[cell]! + pixels[source + 2]!;
        maskPlane[cell] = maskPlane[cell]! + mask[pixel]!;
        weight[cell] = weight[cell]! + 1;
      }
    }
  });
  for (let cell = 0; cell < count; cell++) {
    const share = weight[cell]! > 0 ? 1 / (255 * weight[cell]!) : 0;
    for (const plane of planes.slice(0, 4)) plane[cell] = plane[cell]! * share;
  }
  return { width, height, step, region, colour: [red, green, blue], mask: maskPlane };
}

/** The 4 blocks around a pixel and their bilinear weights (block centres sit at (block + 0.5)·step). */
export interface Corners {
  c00: number;
  c01: number;
  c10: number;
  c11: number;
  w00: number;
  w01: number;
  w10: number;
  w11: number;
}

export const noCorners = (): Corners => ({ c00: 0, c01: 0, c10: 0, c11: 0, w00: 0, w01: 0, w10: 0, w11: 0 });

/** Sets `corners` to the blocks of a `columns` × `rows` grid of `step` px from `region`'s corner around image pixel (x, y). */
export function cornersAt(
  columns: number,
  rows: number,
  step: number,
  region: Region,
  x: number,
  y: number,
  corners: Corners,
): void {
  const gy = Math.min(rows - 1, Math.max(0, (y - region.top + 0.5) / step - 0.5));
  const gx = Math.min(columns - 1, Math.max(0, (x - region.left + 0.5) / step - 0.5));
  const y0 = Math.floor(gy);
  const x0 = Math.floor(gx);
  const fy = gy - y0;
  const fx = gx - x0;
  corners.c00 = y0 * columns + x0;
  corners.c01 = x0 + 1 < columns ? corners.c00 + 1 : corners.c00;
  const down = y0 + 1 < rows ? columns : 0;
  corners.c10 = corners.c00 + down;
  corners.c11 = corners.c01 + down;
  corners.w00 = (1 - fx) * (1 - fy);
  corners.w01 = fx * (1 - fy);
  corners.w10 = (1 - fx) * fy;
  corners.w11 = fx * fy;
}

/** The bilinear value of `plane` at `corners`. */
export function atCorners(plane: Float32Array, { c00, c01, c10, c11, w00, w01, w10, w11 }: Corners): number {
  return plane[c00]! * w00 + plane[c01]! * w01 + plane[c10]! * w10 + plane[c11]! * w11;
}
