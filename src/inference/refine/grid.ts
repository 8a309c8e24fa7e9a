// The coarse grid edge refinement fits its smooth quantities on (block means over step × step
// pixels of a region), and reading them back at full-resolution pixels by bilinear interpolation:
// the work grows with the grid (about 1024 px a side), not with the source.
import type { DecodedImage } from '../../images/decode.js';
import type { Region } from './band.js';

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

/** The grid step for an image: its longer side over `gridSide`, at least 1. */
export function gridStep(width: number, height: number, gridSide: number): number {
  return Math.max(1, Math.round(Math.max(width, height) / gridSide));
}

/** `region` of the image and mask averaged over step × step blocks (edge blocks may be smaller). */
export function toGrid(image: DecodedImage, mask: Uint8Array, region: Region, step: number): Grid {
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
  for (let y = 0; y < region.height; y++) {
    const row = ((y / step) | 0) * width;
    for (let x = 0; x < region.width; x++) {
      const cell = row + ((x / step) | 0);
      const pixel = (region.top + y) * image.width + region.left + x;
      const source = pixel * channels;
      red[cell] = red[cell]! + pixels[source]! / 255;
      green[cell] = green[cell]! + pixels[source + 1]! / 255;
      blue[cell] = blue[cell]! + pixels[source + 2]! / 255;
      maskPlane[cell] = maskPlane[cell]! + mask[pixel]! / 255;
      weight[cell] = weight[cell]! + 1;
    }
  }
  for (let cell = 0; cell < count; cell++) {
    const share = 1 / weight[cell]!;
    for (const plane of planes.slice(0, 4)) plane[cell] = plane[cell]! * share;
  }
  return { width, height, step, region, colour: [red, green, blue], mask: maskPlane };
}

/**
 * Calls `visit` for every band pixel of the grid's region with a reader of grid planes at that
 * pixel (bilinear between block centres, which sit at (block + 0.5)·step).
 */
export function forEachBandPixel(
  grid: Grid,
  band: Uint8Array,
  imageWidth: number,
  visit: (pixel: number, at: (plane: Float32Array) => number) => void,
): void {
  const { region, step } = grid;
  let c00 = 0;
  let c01 = 0;
  let c10 = 0;
  let c11 = 0;
  let w00 = 0;
  let w01 = 0;
  let w10 = 0;
  let w11 = 0;
  const at = (plane: Float32Array) =>
    plane[c00]! * w00 + plane[c01]! * w01 + plane[c10]! * w10 + plane[c11]! * w11;
  for (let y = region.top; y < region.top + region.height; y++) {
    const gy = Math.min(grid.height - 1, Math.max(0, (y - region.top + 0.5) / step - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(grid.height - 1, y0 + 1);
    const fy = gy - y0;
    for (let x = region.left; x < region.left + region.width; x++) {
      const pixel = y * imageWidth + x;
      if (!band[pixel]) continue;
      const gx = Math.min(grid.width - 1, Math.max(0, (x - region.left + 0.5) / step - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(grid.width - 1, x0 + 1);
      const fx = gx - x0;
      c00 = y0 * grid.width + x0;
      c01 = y0 * grid.width + x1;
      c10 = y1 * grid.width + x0;
      c11 = y1 * grid.width + x1;
      w00 = (1 - fx) * (1 - fy);
      w01 = fx * (1 - fy);
      w10 = (1 - fx) * fy;
      w11 = fx * fy;
      visit(pixel, at);
    }
  }
}
