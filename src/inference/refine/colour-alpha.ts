// Alpha from colour in the band, with only the model's sure pixels as input: an edge pixel is
// I = αF + (1 − α)B, and with estimates F̂ and B̂ of the subject and backdrop colours behind it,
// α = |I − B̂| / |F̂ − B̂| where I lies on B̂'s side toward F̂ (the sampling approach of Wang & Cohen's
// robust matting, with one sample per side: the mean of the nearest sure pixels). So a wrong soft
// mask across a whole window (a filled bicycle wheel, a blurred car) no longer anchors the answer,
// as it does the guided filter's.
// B̂ is the mean of the nearest sure background (alpha < unsureAbove) in the smallest window that
// holds some, within the band's box grown by 1/5 of the longer side, or — on a plain backdrop — a quadratic colour field
// fitted to it (plain-background.ts). F̂ likewise from sure subject pixels, less those the colour of
// the backdrop behind them (the model calling backdrop subject). Everything is on blocks of 1/125
// of the longer side (16 px at 2000²), read back bilinearly.
// Colour alpha is trusted per pixel by how well colour can tell: F̂ and B̂ far apart against the
// spread of the sure colours around them, and I either near B̂ or off it toward F̂; elsewhere (a red
// car on red brick) the model's alpha stays, by that share.
import type { DecodedImage } from '../../images/decode.js';
import {
  type BandArea,
  bandRegion,
  forEachTile,
  type Region,
  tilesNearEdges,
  unsureAbove,
  unsureArea,
  unsureBelow,
} from './band.js';
import { atCorners, cornersAt, noCorners } from './grid.js';
import { plainBackground } from './plain-background.js';
import { doublingRadii, sureMeans } from './sure-means.js';
import { backdropDistances, distanceScale, liftThinStructures } from './thin-structures.js';

/** Sure subject pixels within this distance (colour 0–1) of B̂ are taken for backdrop the model misread. */
const backdropLike = 0.08;
/** Added to the spread of sure colours when weighing F̂ − B̂: F̂ and B̂ ~8 levels apart are trusted half. */
const separationFloor = 0.001;
/** I − B̂ at under 60° from F̂ − B̂ is trusted fully, at 90° or more not at all (unless I is B̂ itself). */
const minCosine = 0.5;
/** I within about this distance of B̂ (plus the backdrop's own spread) is backdrop: α 0 is trusted. */
const backdropFloor = 0.002;

/**
 * The mask with every band pixel's alpha re-estimated from colour (see above); the rest as it was.
 * On a plain backdrop thin lines of their own colour are lifted too (thin-structures.ts): `lifted`,
 * when given (one byte per pixel), gets 1 at each pixel they set.
 */
export function colourAlpha(
  image: DecodedImage,
  mask: Uint8Array,
  { tiles, band }: BandArea = unsureArea(mask, image.width, image.height),
  lifted: Uint8Array = new Uint8Array(mask.length),
): Uint8Array {
  const { width, height, pixels, channels } = image;
  const longer = Math.max(width, height);
  const step = Math.max(1, Math.round(longer / 125));
  const reach = Math.max(1, Math.round(longer / 5 / step));
  const region = bandRegion(band, width, height, (reach + 1) * step);
  const out = Uint8Array.from(mask);
  if (!region) return out;
  const columns = Math.ceil(region.width / step);
  const rows = Math.ceil(region.height / step);
  const radii = doublingRadii(1, Math.max(columns, rows));
  const back = sideColours(image, mask, region, step, columns, rows);
  const behind = sureMeans(back.planes, back.weight, columns, rows, radii);
  const plain = plainBackground(back.planes, back.weight, columns, rows);
  if (plain) {
    // the fitted field stands for B̂ everywhere, its residual for the backdrop's spread
    const spread = 3 * plain.rms ** 2;
    for (let i = 0; i < columns * rows; i++) {
      let squared = 0;
      for (let c = 0; c < 3; c++) {
        behind.means[c]![i] = plain.colour[c]![i]!;
        squared += plain.colour[c]![i]! ** 2;
      }
      behind.means[3]![i] = squared + spread;
      behind.found[i] = 1;
    }
  }
  // on a plain backdrop, each band pixel's distances to B̂ for the thin-structure pass
  const distances = plain ? backdropDistances(region) : undefined;
  const front = sideColours(image, mask, region, step, columns, rows, behind.means);
  const ahead = sureMeans(front.planes, front.weight, columns, rows, radii);
  const found = (side: typeof ahead) => Float32Array.from(side.found);
  const [foundAhead, foundBehind] = [found(ahead), found(behind)];
  const corners = noCorners();
  const f = [0, 0, 0];
  const b = [0, 0, 0];
  forEachTile(tilesNearEdges(tiles, 0), tiles.columns, width, height, (left, top, right, bottom) => {
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const pixel = y * width + x;
        if (!band[pixel]) continue;
        cornersAt(columns, rows, step, region, x, y, corners);
        let apart = 0; // |F̂ − B̂|²
        let off = 0; // |I − B̂|²
        let along = 0; // (I − B̂)·(F̂ − B̂)
        let frontNorm = 0;
        let backNorm = 0;
        for (let c = 0; c < 3; c++) {
          f[c] = atCorners(ahead.means[c]!, corners);
          b[c] = atCorners(behind.means[c]!, corners);
          const observed = pixels[pixel * channels + c]! / 255 - b[c]!;
          const d = f[c]! - b[c]!;
          apart += d * d;
          off += observed * observed;
          along += observed * d;
          frontNorm += f[c]! * f[c]!;
          backNorm += b[c]! * b[c]!;
        }
        if (apart < 1e-9) continue;
        const alpha = along > 0 ? Math.min(1, Math.sqrt(off / apart)) : 0;
        if (distances) {
          const at = (y - region.top) * region.width + x - region.left;
          distances.off[at] = along > 0 ? Math.round(Math.sqrt(off) * distanceScale) : 0;
          distances.apart[at] = Math.min(65_535, Math.round(Math.sqrt(apart) * distanceScale));
        }
        const frontSpread = Math.max(0, atCorners(ahead.means[3]!, corners) - frontNorm);
        const backSpread = Math.max(0, atCorners(behind.means[3]!, corners) - backNorm);
        const separation = apart / (apart + frontSpread + backSpread + separationFloor);
        let agreement = 1;
        if (off > 1e-9) {
          const toward = Math.min(
            1,
            Math.max(0, (along / Math.sqrt(off * apart) - minCosine) / (1 - minCosine)),
          );
          const isBackdrop = Math.exp(-off / (4 * backSpread + backdropFloor));
          agreement = Math.max(toward, isBackdrop);
        }
        const trust =
          atCorners(foundAhead, corners) * atCorners(foundBehind, corners) * separation * agreement;
        out[pixel] = Math.round(255 * (trust * alpha) + (1 - trust) * mask[pixel]!);
      }
    }
  });
  if (distances) liftThinStructures(width, height, mask, band, tiles, distances, out, lifted);
  return out;
}

interface SideColours {
  /** Per block: mean red, green, blue (0–1) and mean squared colour norm of the side's pixels. */
  readonly planes: [Float32Array, Float32Array, Float32Array, Float32Array];
  /** Per block: the share of its pixels on this side. */
  readonly weight: Float32Array;
}

/**
 * Block means over `region` of the sure background pixels, or with `backdrop` (B̂ per block), of
 * the sure subject pixels farther than `backdropLike` from it.
 */
function sideColours(
  { pixels, channels, width }: DecodedImage,
  mask: Uint8Array,
  region: Region,
  step: number,
  columns: number,
  rows: number,
  backdrop?: readonly Float32Array[],
): SideColours {
  const count = columns * rows;
  const planes: SideColours['planes'] = [
    new Float32Array(count),
    new Float32Array(count),
    new Float32Array(count),
    new Float32Array(count),
  ];
  const [red, green, blue, squared] = planes;
  const weight = new Float32Array(count);
  const scale = 1 / 255;
  const [backRed, backGreen, backBlue] = backdrop ?? [];
  // every other pixel each way on blocks of 4 px or more: a quarter of the reads, the same means
  const stride = step >= 4 ? 2 : 1;
  for (let y = region.top; y < region.top + region.height; y += stride) {
    const row = (((y - region.top) / step) | 0) * columns;
    for (let x = region.left; x < region.left + region.width; x += stride) {
      const pixel = y * width + x;
      const value = mask[pixel]!;
      if (backdrop ? value <= unsureBelow : value >= unsureAbove) continue;
      const cell = row + (((x - region.left) / step) | 0);
      const source = pixel * channels;
      const r = pixels[source]! * scale;
      const g = pixels[source + 1]! * scale;
      const b = pixels[source + 2]! * scale;
      if (
        backRed &&
        (r - backRed[cell]!) ** 2 + (g - backGreen![cell]!) ** 2 + (b - backBlue![cell]!) ** 2 <
          backdropLike ** 2
      ) {
        continue;
      }
      red[cell]! += r;
      green[cell]! += g;
      blue[cell]! += b;
      squared[cell]! += r * r + g * g + b * b;
      weight[cell]! += 1;
    }
  }
  const area = Math.ceil(step / stride) ** 2;
  for (let cell = 0; cell < count; cell++) {
    const total = weight[cell]!;
    if (total > 0) for (const plane of planes) plane[cell] = plane[cell]! / total;
    weight[cell] = total / area;
  }
  return { planes, weight };
}
