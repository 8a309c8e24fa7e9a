// Thin structures on a plain backdrop (spokes, wires): lines about a pixel wide whose own colour is
// none of the sure subject's. Colour alpha measures them against F̂, the nearest sure subject (a
// dark tyre), so a pale grey spoke 12 levels off a grey sweep reads α 0.07 where it covers 0.8 of
// its pixels. A band pixel is taken for such a line when, in its window, no pixel is sure subject,
// at most half lie off the backdrop (a line, not an edge or a blur), and the farthest lies off it by
// at most `palerThanSubject` of |F̂ − B̂|: a strand of the subject's own colour that faint would
// cover a few percent of a pixel, so the line has a colour of its own and its most deviant pixel is
// taken for covered: α = |I − B̂| / max |I − B̂| over the window. Only ever raises alpha, and only in
// the model's band; measured on the soft-edge set (docs/inference.md).
import type { Tiles } from './band.js';
import { forEachTile, type Region, tilesNearEdges, unsureBelow } from './band.js';

/** |I − B̂| (colour 0–1) under which a pixel is backdrop: ≈ 4 levels a channel. */
export const offBackdrop = 0.03;

/** The farthest pixel of a line lies off B̂ by at most this share of |F̂ − B̂|. */
export const palerThanSubject = 0.15;

/** At most this share of a window's pixels lie off the backdrop: a line crossing it, not an edge. */
const lineShare = 0.5;

/** Units per 1.0 of colour distance in the Uint16 planes below (√3 fits). */
export const distanceScale = 16_384;

/** The window's radius in px: 3 at 1024², 6 at 2000², at least 2. */
export function lineWindowRadius(width: number, height: number): number {
  return Math.max(2, Math.round(Math.max(width, height) / 340));
}

export interface BackdropDistances {
  /** The box the planes cover; one value per pixel of it, row by row. */
  readonly region: Region;
  /** Per pixel: |I − B̂| × distanceScale where I lies off B̂ toward F̂, else 0 (band pixels only). */
  readonly off: Uint16Array;
  /** Per pixel: |F̂ − B̂| × distanceScale (band pixels only). */
  readonly apart: Uint16Array;
}

export function backdropDistances(region: Region): BackdropDistances {
  const count = region.width * region.height;
  return { region, off: new Uint16Array(count), apart: new Uint16Array(count) };
}

/**
 * Raises `alpha` at the band pixels that lie on a thin line of their own colour (see above) and
 * marks them 1 in `lifted` (one byte per image pixel). `mask` is the model's.
 */
export function liftThinStructures(
  width: number,
  height: number,
  mask: Uint8Array,
  band: Uint8Array,
  tiles: Tiles,
  { region, off, apart }: BackdropDistances,
  alpha: Uint8Array,
  lifted: Uint8Array,
): void {
  const radius = lineWindowRadius(width, height);
  const threshold = offBackdrop * distanceScale;
  const right = region.left + region.width;
  const bottom = region.top + region.height;
  forEachTile(tilesNearEdges(tiles, 0), tiles.columns, width, height, (left, top, tileRight, tileBottom) => {
    for (let y = top; y < tileBottom; y++) {
      for (let x = left; x < tileRight; x++) {
        const pixel = y * width + x;
        if (!band[pixel]) continue;
        const at = (y - region.top) * region.width + x - region.left;
        const own = off[at]!;
        // the farthest pixel is at least this one: most of a dark strand's pixels stop here
        const palest = palerThanSubject * apart[at]!;
        if (own < threshold || own > palest) continue;
        const x0 = Math.max(region.left, x - radius);
        const x1 = Math.min(right - 1, x + radius);
        const y0 = Math.max(region.top, y - radius);
        const y1 = Math.min(bottom - 1, y + radius);
        const limit = lineShare * (x1 - x0 + 1) * (y1 - y0 + 1);
        let farthest = 0;
        let away = 0;
        let line = true;
        for (let wy = y0; wy <= y1 && line; wy++) {
          for (let wx = x0; wx <= x1; wx++) {
            const near = wy * width + wx;
            if (mask[near]! > unsureBelow) {
              line = false; // beside the subject's body: an edge, which colour alpha already solved
              break;
            }
            if (!band[near]) continue;
            const value = off[(wy - region.top) * region.width + wx - region.left]!;
            if ((value >= threshold && ++away > limit) || value > palest) {
              line = false;
              break;
            }
            if (value > farthest) farthest = value;
          }
        }
        if (!line) continue;
        const value = Math.round((255 * own) / farthest);
        if (value > alpha[pixel]!) {
          alpha[pixel] = value;
          lifted[pixel] = 1;
        }
      }
    }
  });
}
